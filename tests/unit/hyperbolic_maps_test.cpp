// The Poincare ball's maps (expmap0, logmap0, mobius_add): the vector ops and
// vector outputs of the IR, their machine code against geoopt (fixtures) and
// against the interpreter bit for bit, and the SQL functions' checks.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/recipes/mechanisms.h"
#include "ir/verifier.h"
#include "runtime/engine.h"

using namespace rvj;

namespace {

// tests/fixtures/hyperbolic_maps.txt (scripts/gen_fixtures.py, geoopt).
struct MapCase {
  std::string kernel;
  int dims;
  double c;
  std::vector<float> a, b;  // b empty for the one-input maps
  std::vector<double> expected;
};

const std::vector<MapCase>& map_cases() {
  static const std::vector<MapCase> cases = [] {
    std::vector<MapCase> out;
    std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/hyperbolic_maps.txt");
    if (!in) throw std::runtime_error("cannot open tests/fixtures/hyperbolic_maps.txt");
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> f;
      std::istringstream s(line);
      for (std::string field; std::getline(s, field, '|');) f.push_back(field);
      if (f.size() != 4) throw std::runtime_error("malformed map fixture: " + line.substr(0, 60));
      MapCase c;
      std::istringstream head(f[0]);
      head >> c.kernel >> c.dims >> c.c;
      auto floats = [](const std::string& text, auto& v) {
        std::istringstream s(text);
        for (typename std::decay_t<decltype(v)>::value_type x; s >> x;) v.push_back(x);
      };
      floats(f[1], c.a);
      floats(f[2], c.b);
      floats(f[3], c.expected);
      if (!head || c.a.size() != static_cast<size_t>(c.dims) || c.expected.size() != c.a.size() ||
          (!c.b.empty() && c.b.size() != c.a.size()))
        throw std::runtime_error("malformed map fixture: " + line.substr(0, 60));
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

// Runs a map kernel (compiled, or the interpreter when k is null) the way the
// ABI says: the output buffer after the vector inputs.
std::vector<float> call(const ir::Function& fn, const codegen::Compiled* k, const float* a, const float* b,
                        double c, double* scalars = nullptr) {
  std::vector<float> result(fn.dims, -7.0f);
  const float* in[3] = {a, b, nullptr};
  in[fn.num_inputs] = result.data();
  double out[4] = {};
  if (k)
    k->fn(in, &c, out);
  else
    ir::interpret(fn, in, &c, out);
  if (scalars)
    for (int i = 0; i < fn.num_outputs; ++i) scalars[i] = out[i];
  return result;
}

// A compiled kernel per (kernel, dims, ISA), compiled once for the file.
const codegen::Compiled& compiled(const std::string& kernel, int dims,
                                  const codegen::Target& target = codegen::host_target()) {
  static std::map<std::string, codegen::Compiled> done;
  std::string key = kernel + "/" + std::to_string(dims) + "/" + codegen::isa_name(target.isa);
  key += "/" + target.cpu;  // the host and named avx512 differ
  auto it = done.find(key);
  if (it == done.end())
    it = done.emplace(key, codegen::compile(ir::find_mechanism(kernel)->build(dims), target)).first;
  return it->second;
}

std::vector<float> ball_point(std::mt19937& gen, int d, double c, double frac) {
  std::normal_distribution<double> normal;
  std::vector<double> v(d);
  double nn = 0;
  for (double& x : v) {
    x = normal(gen);
    nn += x * x;
  }
  std::vector<float> p(d);
  for (int i = 0; i < d; ++i) p[i] = static_cast<float>(v[i] / std::sqrt(nn) * frac / std::sqrt(c));
  return p;
}

const char* kMaps[] = {"poincare_expmap0", "poincare_logmap0", "poincare_mobius_add"};

}  // namespace

// ---- the IR --------------------------------------------------------------

TEST(HyperbolicMapsIr, PrinterShowsVectorOpsAndOutput) {
  std::string text = ir::print(ir::build_poincare_mobius_add(8));
  EXPECT_NE(text.find("kernel poincare_mobius_add(in0: f32[8], in1: f32[8], p0: f64) -> f64[2], vout0: f32[8]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" = scale %0, "), std::string::npos) << text;
  EXPECT_NE(text.find(" = addvec %"), std::string::npos) << text;
  EXPECT_NE(text.find("vout0 = %"), std::string::npos) << text;
  std::string exp0 = ir::print(ir::build_poincare_expmap0(3));
  EXPECT_NE(exp0.find(") -> f64[0], vout0: f32[3]"), std::string::npos) << exp0;
  EXPECT_NE(exp0.find(" = tanh %"), std::string::npos) << exp0;
  EXPECT_NE(ir::print(ir::build_poincare_logmap0(3)).find(" = atanh %"), std::string::npos);
  // Kernels without vector outputs print (and hash) as before.
  EXPECT_EQ(ir::print(ir::build_norm(4)).find("vout"), std::string::npos);
}

TEST(HyperbolicMapsIr, VerifierChecksVectorOps) {
  {  // a computed vector cannot feed a reduction
    ir::Builder b("bad", 4);
    int x = b.input(), c = b.param();
    int v = b.scale(x, c);
    b.output(b.dot(v, x));
    EXPECT_THROW(b.finish(), Error);
  }
  {  // scale takes a vector and a scalar
    ir::Builder b("bad", 4);
    int x = b.input(), y = b.input();
    b.output_vec(b.scale(x, y));
    EXPECT_THROW(b.finish(), Error);
  }
  {  // addvec takes two vectors
    ir::Builder b("bad", 4);
    int x = b.input(), c = b.param();
    b.output_vec(b.add_vec(x, c));
    EXPECT_THROW(b.finish(), Error);
  }
  {  // a scalar op cannot read a vector
    ir::Builder b("bad", 4);
    int x = b.input();
    b.output(b.tanh(x));
    EXPECT_THROW(b.finish(), Error);
  }
  {  // a vector output is not a scalar output
    ir::Builder b("bad", 4);
    int x = b.input();
    b.output(x);
    EXPECT_THROW(b.finish(), Error);
  }
  {  // a kernel whose only output is a vector is fine
    ir::Builder b("copy", 4);
    int x = b.input(), y = b.input();
    b.output_vec(b.sub_vec(x, y));
    EXPECT_NO_THROW(b.finish());
  }
}

TEST(HyperbolicMapsIr, MapsCannotRunInTiles) {
  for (const char* name : kMaps) {
    const ir::Mechanism& m = *ir::find_mechanism(name);
    EXPECT_FALSE(m.attention_type) << name;
    EXPECT_FALSE(ir::tile_error(m.build(4)).empty()) << name;
    EXPECT_FALSE(ir::tileable(m)) << name;
  }
  // The vector output alone is a reason.
  ir::Builder b("two", 4);
  int x = b.input(), y = b.input();
  b.output(b.dot(x, y));
  b.output_vec(b.add_vec(x, y));
  EXPECT_EQ(ir::tile_error(b.finish()), "it has vector outputs");
}

// Elementwise ops in f64, rounded once: a small program checked by hand.
TEST(HyperbolicMapsIr, ElementwiseOpsComputeInF64) {
  ir::Builder b("ops", 5);
  int x = b.input(), y = b.input(), s = b.param();
  int sx = b.scale(x, s);
  int d = b.sub_vec(sx, y);
  b.output_vec(b.add_vec(d, x));  // s*x - y + x
  b.output_vec(sx);
  ir::Function fn = b.finish();
  float xv[5] = {1, 2, 3, 2e38f, 0.1f}, yv[5] = {0.5f, -1, 16777216.0f, 3e38f, 0.3f};
  double scale = 2.0;
  const codegen::Compiled k = codegen::compile(fn);
  for (bool jit : {true, false}) {
    std::vector<float> r1(5), r2(5);
    const float* in[4] = {xv, yv, r1.data(), r2.data()};
    if (jit)
      k.fn(in, &scale, nullptr);
    else
      ir::interpret(fn, in, &scale, nullptr);
    for (int i = 0; i < 5; ++i) {
      const double want = static_cast<double>(xv[i]) * scale - yv[i] + xv[i];
      EXPECT_EQ(r1[i], static_cast<float>(want)) << i;
      EXPECT_EQ(r2[i], static_cast<float>(static_cast<double>(xv[i]) * scale)) << i;
    }
    // 2 * 2e38 overflows f32 but not f64: 4e38 - 3e38 + 2e38 comes out whole.
    EXPECT_TRUE(std::isfinite(r1[3]));
    EXPECT_TRUE(std::isinf(r2[3]));
  }
}

// ---- against geoopt --------------------------------------------------------

TEST(HyperbolicMaps, JitMatchesGeoopt) {
  const auto& cases = map_cases();
  ASSERT_GE(cases.size(), 300u);
  for (const MapCase& c : cases) {
    const ir::Mechanism* m = ir::find_mechanism(c.kernel);
    ASSERT_NE(m, nullptr) << c.kernel;
    const codegen::Compiled& k = compiled(c.kernel, c.dims);
    ir::Function fn = m->build(c.dims);
    std::vector<float> got = call(fn, &k, c.a.data(), c.b.empty() ? nullptr : c.b.data(), c.c);
    for (int i = 0; i < c.dims; ++i)
      ASSERT_NEAR(got[i], c.expected[i], std::max(1e-5 * std::fabs(c.expected[i]), 1e-6))
          << c.kernel << " dims " << c.dims << " c " << c.c << " element " << i;
  }
}

TEST(HyperbolicMaps, InterpreterMatchesGeoopt) {
  for (const MapCase& c : map_cases()) {
    ir::Function fn = ir::find_mechanism(c.kernel)->build(c.dims);
    std::vector<float> got = call(fn, nullptr, c.a.data(), c.b.empty() ? nullptr : c.b.data(), c.c);
    for (int i = 0; i < c.dims; ++i)
      ASSERT_NEAR(got[i], c.expected[i], std::max(1e-5 * std::fabs(c.expected[i]), 1e-6))
          << c.kernel << " dims " << c.dims << " c " << c.c << " element " << i;
  }
}

// ---- the same bits everywhere ---------------------------------------------

void expect_maps_bit_identical(const codegen::Target& target) {
  std::mt19937 gen(11);
  for (const char* name : kMaps) {
    const ir::Mechanism& m = *ir::find_mechanism(name);
    for (int d : {1, 2, 3, 5, 7, 8, 9, 16, 17, 33, 64, 100, 384, 1000}) {
      ir::Function fn = m.build(d);
      const codegen::Compiled& k = compiled(name, d, target);
      for (double c : {0.5, 1.0, 2.0})
        for (double frac : {0.0, 1e-3, 0.5, 0.99}) {
          std::vector<float> a = ball_point(gen, d, c, frac), b = ball_point(gen, d, c, 0.9);
          if (m.build == ir::build_poincare_expmap0)  // a tangent vector: any length
            for (float& x : a) x *= 7.0f;
          double jit_out[4] = {}, ref_out[4] = {};
          std::vector<float> jit = call(fn, &k, a.data(), b.data(), c, jit_out);
          std::vector<float> ref = call(fn, nullptr, a.data(), b.data(), c, ref_out);
          for (int i = 0; i < d; ++i)
            ASSERT_EQ(jit[i], ref[i]) << name << " dims " << d << " element " << i << " on "
                                      << codegen::isa_name(target.isa);
          for (int o = 0; o < fn.num_outputs; ++o) EXPECT_EQ(jit_out[o], ref_out[o]) << name << " out " << o;
        }
    }
  }
}

TEST(HyperbolicMaps, HostKernelsAreBitIdenticalToInterpreter) {
  expect_maps_bit_identical(codegen::host_target());
}

TEST(HyperbolicMaps, OtherIsasAreBitIdenticalToInterpreter) {
  const codegen::Target& host = codegen::host_target();
  if (host.triple.rfind("x86_64", 0) != 0) GTEST_SKIP() << "cross-ISA execution needs an x86-64 host";
  expect_maps_bit_identical(codegen::named_target("generic"));
  if (host.isa == codegen::Isa::Avx2 || host.isa == codegen::Isa::Avx512)
    expect_maps_bit_identical(codegen::named_target("avx2"));
  if (host.isa == codegen::Isa::Avx512) expect_maps_bit_identical(codegen::named_target("avx512"));
}

// ---- properties --------------------------------------------------------------

TEST(HyperbolicMaps, LogmapUndoesExpmap) {
  std::mt19937 gen(3);
  for (int d : {1, 3, 8, 17, 64, 384})
    for (double c : {0.5, 1.0, 2.0})
      for (double t : {1e-6, 0.01, 0.3, 1.0, 2.0, 3.0}) {  // sqrt(c)|u|
        std::vector<float> u = ball_point(gen, d, c, t);
        ir::Function exp0 = ir::build_poincare_expmap0(d), log0 = ir::build_poincare_logmap0(d);
        std::vector<float> y = call(exp0, &compiled("poincare_expmap0", d), u.data(), nullptr, c);
        std::vector<float> back = call(log0, &compiled("poincare_logmap0", d), y.data(), nullptr, c);
        // f32 rounding of y is amplified by 1/(1 - c|y|^2) on the way back.
        const double tol = 1e-5 * t / std::sqrt(c);
        for (int i = 0; i < d; ++i) ASSERT_NEAR(back[i], u[i], tol) << "dims " << d << " c " << c << " t " << t;
      }
}

namespace {
// The compiled kernel, then the interpreter (null).
std::vector<const codegen::Compiled*> both(const char* kernel, int dims) { return {&compiled(kernel, dims), nullptr}; }
}  // namespace

TEST(HyperbolicMaps, ZeroVectorsGiveExactAnswers) {
  for (int d : {1, 3, 8, 17, 384}) {
    std::vector<float> zero(d, 0.0f);
    std::mt19937 gen(d);
    std::vector<float> x = ball_point(gen, d, 1.0, 0.7);
    for (const codegen::Compiled* k : both("poincare_expmap0", d)) {
      std::vector<float> e = call(ir::build_poincare_expmap0(d), k, zero.data(), nullptr, 1.0);
      EXPECT_EQ(e, zero) << "expmap0(0), dims " << d;
    }
    for (const codegen::Compiled* k : both("poincare_logmap0", d)) {
      std::vector<float> l = call(ir::build_poincare_logmap0(d), k, zero.data(), nullptr, 2.0);
      EXPECT_EQ(l, zero) << "logmap0(0), dims " << d;
    }
    ir::Function add = ir::build_poincare_mobius_add(d);
    for (const codegen::Compiled* k : both("poincare_mobius_add", d)) {
      EXPECT_EQ(call(add, k, zero.data(), x.data(), 1.0), x) << "0 (+) x, dims " << d;
      EXPECT_EQ(call(add, k, x.data(), zero.data(), 1.0), x) << "x (+) 0, dims " << d;
      EXPECT_EQ(call(add, k, zero.data(), zero.data(), 1.0), zero);
      std::vector<float> minus_x(x);
      for (float& v : minus_x) v = -v;
      for (float v : call(add, k, x.data(), minus_x.data(), 1.0)) EXPECT_NEAR(v, 0.0f, 1e-6f) << "x (+) -x";
    }
  }
}

// ---- errors, through the engine (as the SQL functions call it) -----------

namespace {
void expect_error(ErrorKind kind, const std::string& what, const std::function<void()>& f) {
  try {
    f();
    ADD_FAILURE() << "no error; wanted " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

// What src/pg/hyperbolic_maps.cpp does, minus PostgreSQL.
std::vector<float> sql_map(const char* kernel, const std::vector<float>& a, const std::vector<float>* b, double c,
                           bool jit) {
  if (b) runtime::check_same_dims(static_cast<int>(a.size()), static_cast<int>(b->size()));
  runtime::Bound k = runtime::bind(runtime::kernel_mechanism(kernel), static_cast<int>(a.size()), jit);
  k.params[0] = c;
  ir::check_params(*k.kernel->mechanism, k.params);
  std::vector<float> result(a.size());
  runtime::run_vec(k, a.data(), b ? b->data() : nullptr, result.data());
  return result;
}
}  // namespace

TEST(HyperbolicMaps, EngineRunsThemWithAndWithoutTheJit) {
  std::vector<float> u = {0.3f, -0.4f, 0.5f}, x = {0.1f, 0.2f, -0.3f};
  for (const char* name : {"poincare_expmap0", "poincare_logmap0"})
    EXPECT_EQ(sql_map(name, x, nullptr, 1.5, true), sql_map(name, x, nullptr, 1.5, false)) << name;
  EXPECT_EQ(sql_map("poincare_mobius_add", x, &u, 0.7, true), sql_map("poincare_mobius_add", x, &u, 0.7, false));
}

TEST(HyperbolicMaps, PointsOutsideTheBallAreRejected) {
  std::vector<float> out = {0.8f, 0.8f}, in = {0.1f, 0.2f}, edge = {1.0f, 0.0f};
  for (bool jit : {true, false}) {
    expect_error(ErrorKind::DataException, "v is not inside the Poincare ball: c*||v||^2 = 1.28",
                 [&] { sql_map("poincare_logmap0", out, nullptr, 1.0, jit); });
    expect_error(ErrorKind::DataException, "v is not inside the Poincare ball: c*||v||^2 = 1",
                 [&] { sql_map("poincare_logmap0", edge, nullptr, 1.0, jit); });
    expect_error(ErrorKind::DataException, "v is not inside the Poincare ball",
                 [&] { sql_map("poincare_logmap0", in, nullptr, 25.0, jit); });  // c|v|^2 = 1.25
    expect_error(ErrorKind::DataException, "a is not inside the Poincare ball",
                 [&] { sql_map("poincare_mobius_add", out, &in, 1.0, jit); });
    expect_error(ErrorKind::DataException, "b is not inside the Poincare ball: c*||b||^2 = 1",
                 [&] { sql_map("poincare_mobius_add", in, &edge, 1.0, jit); });
    // expmap0 takes any tangent vector.
    EXPECT_NO_THROW(sql_map("poincare_expmap0", out, nullptr, 1.0, jit));
  }
}

TEST(HyperbolicMaps, BadCurvatureAndDimsAreRejected) {
  std::vector<float> x = {0.1f, 0.2f}, short_x = {0.1f};
  for (const char* name : kMaps)
    for (double c : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()})
      expect_error(ErrorKind::InvalidArgument, "curvature must be a number greater than 0",
                   [&] { sql_map(name, x, &x, c, true); });
  expect_error(ErrorKind::DataException, "different vector dimensions 2 and 1",
               [&] { sql_map("poincare_mobius_add", x, &short_x, 1.0, true); });
}

TEST(HyperbolicMaps, ScalarRunRefusesAVectorKernel) {
  std::vector<float> x = {0.1f, 0.2f};
  runtime::Bound k = runtime::bind(runtime::kernel_mechanism("poincare_mobius_add"), 2, false);
  expect_error(ErrorKind::Internal, "call run_vec", [&] { runtime::run(k, x.data(), x.data()); });
}

TEST(HyperbolicMaps, NonFiniteResultsAreNeverReturned) {
  float fine[3] = {1, -2, 3}, inf[3] = {1, INFINITY, 3}, nan[3] = {std::nanf(""), 0, 0};
  EXPECT_NO_THROW(runtime::check_finite_result("poincare_mobius_add", fine, 3));
  expect_error(ErrorKind::OutOfRange, "poincare_mobius_add overflowed type real (element 2 is infinite)",
               [&] { runtime::check_finite_result("poincare_mobius_add", inf, 3); });
  expect_error(ErrorKind::OutOfRange, "(element 1 is NaN)",
               [&] { runtime::check_finite_result("poincare_mobius_add", nan, 3); });
}

// ---- code and explain --------------------------------------------------------

TEST(HyperbolicMaps, Avx512MobiusAddUsesZmmRegisters) {
  std::string s = codegen::assembly(ir::build_poincare_mobius_add(384), codegen::named_target("avx512"));
  EXPECT_NE(s.find("zmm"), std::string::npos) << s.substr(0, 2000);
  // the elementwise loop: f64 products of 8 lanes, narrowed to f32 once
  EXPECT_NE(s.find("vmulpd\t%zmm"), std::string::npos) << s;
  EXPECT_NE(s.find("vcvtpd2ps\t%zmm"), std::string::npos) << s;
}

TEST(HyperbolicMaps, OptimisedIrHasF64LanesPerTarget) {
  std::string avx512 = codegen::optimized_llvm_ir(ir::build_poincare_mobius_add(100), codegen::named_target("avx512"));
  EXPECT_NE(avx512.find("fmul <8 x double>"), std::string::npos) << avx512;
  EXPECT_NE(avx512.find("fptrunc <8 x double>"), std::string::npos) << avx512;
  std::string avx2 = codegen::optimized_llvm_ir(ir::build_poincare_expmap0(100), codegen::named_target("avx2"));
  EXPECT_NE(avx2.find("fmul <4 x double>"), std::string::npos) << avx2;
  EXPECT_NE(avx2.find("@tanh("), std::string::npos) << avx2;
  // no fused or reassociated arithmetic in the elementwise loop
  EXPECT_EQ(avx2.find("contract"), std::string::npos);
  EXPECT_EQ(avx2.find("fast"), std::string::npos);
}

TEST(HyperbolicMaps, ExplainShowsTheElementwiseLoop) {
  std::vector<std::string> rows = runtime::explain("poincare_mobius_add", 17, true);
  std::string all;
  for (const std::string& r : rows) all += r + "\n";
  EXPECT_NE(all.find("Kernel: poincare_mobius_add (hyperbolic), dims 17"), std::string::npos) << all;
  EXPECT_NE(all.find("then 1 vector output(s) elementwise over 17 elements"), std::string::npos) << all;
  EXPECT_NE(all.find("vout0 = %"), std::string::npos) << all;
  EXPECT_NE(all.find("Assembly"), std::string::npos);
  std::vector<std::string> cross = runtime::explain("poincare_expmap0", 9, false, nullptr, "avx2");
  all.clear();
  for (const std::string& r : cross) all += r + "\n";
  EXPECT_NE(all.find("in 4-lane f64 vectors: 2 step(s), tail 1 element(s)"), std::string::npos) << all;
}
