// Additive attention (Bahdanau et al. 2015) as ruvector_additive_score and
// ruvector_additive_attention run it: projections through Eigen, the
// generated kernel v . tanh(qp + kp) per pair, the flash schedule's per-row
// path; against a numpy transcription in float64 (tests/fixtures/additive.txt).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "fixtures.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/recipes/sequence.h"
#include "runtime/engine.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/projection.h"

using namespace rvj;

namespace {
struct AdditiveCase {
  int L, S, dq, dk, dv, a, causal;
  std::vector<float> q, k, v, wq, wk, vv;
  std::vector<double> scores, out;
};

std::vector<AdditiveCase> cases() {
  std::vector<AdditiveCase> all;
  std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/additive.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (char& ch : line)
      if (ch == '|') ch = ' ';
    std::istringstream s(line);
    AdditiveCase c;
    s >> c.L >> c.S >> c.dq >> c.dk >> c.dv >> c.a >> c.causal;
    auto read = [&](auto& v, size_t n) {
      v.resize(n);
      for (auto& x : v) s >> x;
    };
    read(c.q, c.L * c.dq), read(c.k, c.S * c.dk), read(c.v, c.S * c.dv), read(c.wq, c.a * c.dq);
    read(c.wk, c.a * c.dk), read(c.vv, c.a), read(c.scores, c.L * c.S), read(c.out, c.L * c.dv);
    if (!s) throw std::runtime_error("malformed additive fixture");
    all.push_back(std::move(c));
  }
  return all;
}

std::vector<float> project(const std::vector<float>& x, int n, int d, const std::vector<float>& w, int a) {
  std::vector<float> out(static_cast<size_t>(n) * a);
  runtime::project_rows(test::row_pointers(x, n, d).data(), n, d, test::row_pointers(w, a, d).data(), a, nullptr,
                        out.data());
  return out;
}
}  // namespace

TEST(Additive, ScoresMatchTheNumpyTranscription) {
  const auto all = cases();
  ASSERT_GE(all.size(), 6u);
  for (const auto& c : all)
    for (bool jit : {true, false}) {
      const auto qp = project(c.q, c.L, c.dq, c.wq, c.a), kp = project(c.k, c.S, c.dk, c.wk, c.a);
      runtime::Bound k = runtime::bind(runtime::kernel_mechanism("additive"), c.a, jit);
      // |score| <= sum |v|: fp32 parity is relative to that scale.
      double scale = 0;
      for (float x : c.vv) scale += std::fabs(x);
      for (int i = 0; i < c.L; ++i)
        for (int j = 0; j < c.S; ++j) {
          double got = runtime::run_with_params(k, k.params, qp.data() + static_cast<size_t>(i) * c.a,
                                                kp.data() + static_cast<size_t>(j) * c.a, c.vv.data());
          EXPECT_NEAR(got, c.scores[i * c.S + j], 1e-5 * scale) << "a " << c.a << " pair " << i << "," << j;
        }
    }
}

TEST(Additive, AttentionMatchesTheNumpyTranscription) {
  const ir::SequenceMechanism& m = *ir::find_weighted_sequence_mechanism("additive");
  for (const auto& c : cases())
    for (bool jit : {true, false})
      for (int threads : {1, 2}) {
        const auto qp = project(c.q, c.L, c.dq, c.wq, c.a), kp = project(c.k, c.S, c.dk, c.wk, c.a);
        std::vector<double> params = {static_cast<double>(c.causal), 4};  // causal, block_size
        runtime::SequencePlan plan = runtime::plan_sequence(m, params.data(), c.L, c.S, c.a, c.a, c.dv);
        plan.score_vector = c.vv.data();
        runtime::Bound score = runtime::bind_sequence(plan, jit);
        std::vector<float> out(static_cast<size_t>(c.L) * c.dv);
        runtime::run_flash_parallel(plan, score, test::row_pointers(qp, c.L, c.a).data(),
                                    test::row_pointers(kp, c.S, c.a).data(), test::row_pointers(c.v, c.S, c.dv).data(),
                                    0, c.L, out.data(), threads);
        for (size_t i = 0; i < out.size(); ++i)
          EXPECT_NEAR(out[i], c.out[i], std::max(1e-5 * std::fabs(c.out[i]), 1e-6))
              << "L " << c.L << " S " << c.S << " a " << c.a << (jit ? " jit" : " interpreter");
      }
}

// Saturated and tiny tanh arguments, every tail length around the 32
// partials: machine code and interpreter agree bit for bit on every target.
TEST(Additive, BitIdenticalToTheInterpreterOnEveryTarget) {
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  const codegen::Target& host = codegen::host_target();
  std::vector<codegen::Target> targets = {codegen::named_target("generic")};
  if (host.isa == codegen::Isa::Avx2 || host.isa == codegen::Isa::Avx512) targets.push_back(codegen::named_target("avx2"));
  if (host.isa == codegen::Isa::Avx512) targets.push_back(codegen::named_target("avx512"));
  for (const codegen::Target& target : targets)
    for (int a : {1, 3, 8, 31, 32, 33, 64, 70, 129}) {
      ir::Function fn = ir::build_additive(a);
      codegen::Compiled k = codegen::compile(fn, target);
      for (float spread : {1e-3f, 1.f, 30.f}) {
        std::vector<float> qp(a), kp(a), v(a);
        for (auto* x : {&qp, &kp, &v})
          for (auto& e : *x) e = normal(gen) * spread;
        const float* in[3] = {qp.data(), kp.data(), v.data()};
        double jit_out[1], ref_out[1];
        k.fn(in, nullptr, jit_out);
        ir::interpret(fn, in, nullptr, ref_out);
        EXPECT_EQ(jit_out[0], ref_out[0]) << "a " << a << " spread " << spread << " on " << codegen::isa_name(target.isa);
      }
    }
}

TEST(Additive, IrSumsAnElementwiseExpression) {
  const std::string text = ir::print(ir::build_additive(16));
  EXPECT_NE(text.find("tanhvec"), std::string::npos) << text;
  EXPECT_NE(text.find("sum.f64"), std::string::npos) << text;
  // A sum's expression may not read a scalar (sums run before the scalar program).
  ir::Builder b("bad", 4);
  int x = b.input(), s = b.constant(2.0);
  b.output(b.sum(b.scale(x, s)));
  EXPECT_THROW(b.finish(), Error);
  // It does not fit a tile: three inputs, tanh per element.
  EXPECT_FALSE(ir::tile_error(ir::build_additive(16)).empty());
  EXPECT_FALSE(ir::tileable(*ir::find_mechanism("additive")));
}

TEST(Additive, GenericFormsPointToItsOwnFunctions) {
  try {
    runtime::row_score_mechanism("additive");
    FAIL() << "additive has learned weights";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(e.hint().find("ruvector_additive_score"), std::string::npos) << e.hint();
  }
  EXPECT_THROW(runtime::weights_form("additive"), Error);
  EXPECT_EQ(ir::find_sequence_mechanism("additive"), nullptr);
  EXPECT_EQ(ir::mechanism_names(true).find("additive"), std::string::npos);
}
