#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fixtures.h"
#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/engine.h"
#include "runtime/schedules/flash.h"

using namespace rvj;
using namespace rvj::runtime;

namespace {


// Runs a case through plan + flash schedule, query block by query block
// (RoPE rotates the rows first, as the SQL function does).
std::vector<float> attend(const test::SequenceCase& c, bool jit) {
  const ir::SequenceMechanism* m = ir::find_sequence_mechanism(c.mechanism);
  EXPECT_NE(m, nullptr) << c.mechanism;
  std::vector<double> p = test::sequence_params(*m, c);
  SequencePlan plan = plan_sequence(*m, p.data(), c.L, c.S, c.dq, c.dk, c.dv);
  Bound score = bind_sequence(plan, p.data(), jit);
  auto q = test::row_pointers(c.q, c.L, c.dq), k = test::row_pointers(c.k, c.S, c.dk), v = test::row_pointers(c.v, c.S, c.dv);
  std::vector<float> qr(c.q.size()), kr(c.k.size());
  if (plan.positional == ir::Positional::Rope) {
    rope_rotate_rows(plan, q.data(), c.L, c.dq, qr.data());
    rope_rotate_rows(plan, k.data(), c.S, c.dk, kr.data());
    q = test::row_pointers(qr, c.L, c.dq), k = test::row_pointers(kr, c.S, c.dk);
  }
  std::vector<float> out(static_cast<size_t>(c.L) * plan.out_dims());
  for (int q0 = 0; q0 < c.L; q0 += plan.block)
    run_flash(plan, score, q.data(), k.data(), v.data(), q0, std::min(c.L, q0 + plan.block),
              out.data() + static_cast<size_t>(q0) * plan.out_dims());
  return out;
}
// Max relative error, with a floor of 0.1 on the reference's magnitude.
double worst_error(const std::vector<float>& out, const std::vector<double>& ref) {
  double worst = 0;
  for (size_t i = 0; i < out.size(); ++i)
    worst = std::max(worst, std::fabs(out[i] - ref[i]) / std::max(std::fabs(ref[i]), 0.1));
  return worst;
}
}  // namespace

// Every mechanism of the sequence form against torch (SDPA, or
// nn.MultiheadAttention for multi_head): max relative error 1e-5.
TEST(FlashSchedule, MatchesTorch) {
  const auto& cases = test::sequence_cases();
  ASSERT_GE(cases.size(), 16u);
  for (const auto& c : cases) {
    std::vector<float> out = attend(c, true);
    ASSERT_EQ(out.size(), c.out.size()) << c.mechanism;
    EXPECT_LE(worst_error(out, c.out), 1e-5) << c.mechanism << " L=" << c.L << " S=" << c.S << " dq=" << c.dq;
  }
}

// Masks (dilated, band + global, strided, fixed, block-diagonal, BigBird),
// ALiBi, RoPE and the normalisers (sigmoid, sparsemax, entmax15, top-k)
// against torch SDPA with dense masks and biases, entmax and numpy.
TEST(FlashSchedule, PatternsMatchTheirReferences) {
  const auto& cases = test::pattern_cases();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    std::vector<float> out = attend(c, true);
    ASSERT_EQ(out.size(), c.out.size()) << c.mechanism;
    EXPECT_LE(worst_error(out, c.out), 1e-5) << c.mechanism << " L=" << c.L << " S=" << c.S << " dq=" << c.dq;
    EXPECT_EQ(out, attend(c, false)) << c.mechanism << ": the interpreter path differs";
  }
}

// The interpreter computes the same logits, so the same outputs.
TEST(FlashSchedule, JitAndInterpreterAgreeBitForBit) {
  for (const auto& c : test::sequence_cases())
    if (c.L * c.S <= 10000) {
      EXPECT_EQ(attend(c, true), attend(c, false)) << c.mechanism;
    }
}

TEST(FlashSchedule, BadShapesAreClearErrors) {
  const ir::SequenceMechanism& sd = *ir::find_sequence_mechanism("scaled_dot");
  const ir::SequenceMechanism& gqa = *ir::find_sequence_mechanism("grouped_query");
  auto expect_error = [](auto&& f, const std::string& what) {
    try {
      f();
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  double heads3[] = {3, 64}, heads2[] = {2, 64}, zero_block[] = {1, 0}, half_heads[] = {1.5, 64};
  expect_error([&] { plan_sequence(sd, heads3, 2, 2, 8, 8, 8); }, "num_heads 3 does not divide the query dimension 8");
  expect_error([&] { plan_sequence(sd, heads2, 2, 2, 8, 6, 8); }, "keys have 6 dimensions but queries have 8");
  expect_error([&] { plan_sequence(sd, heads2, 0, 2, 8, 8, 8); }, "must not be empty");
  expect_error([&] { plan_sequence(sd, heads2, 2, 2, 8, 8, 7); }, "values have 7 dimensions");
  expect_error([&] { plan_sequence(sd, zero_block, 2, 2, 8, 8, 8); }, "block_size must be a whole number greater than 0");
  expect_error([&] { plan_sequence(sd, half_heads, 2, 2, 8, 8, 8); }, "num_heads must be a whole number");
  double huge_heads[] = {1e10, 64}, big_block[] = {16000, 4096};
  expect_error([&] { plan_sequence(sd, huge_heads, 2, 2, 8, 8, 8); }, "num_heads must be at most 16000");
  (void)big_block;  // tiles take one head at a time: no head count is too many
  // Wide heads shrink the query chunk instead of failing: one head of 16000.
  double wide[] = {1, 64};
  SequencePlan w = plan_sequence(sd, wide, 1000, 1000, 16000, 16000, 16000);
  EXPECT_LE(block_memory(w), 64u << 20);
  EXPECT_LT(query_chunk(w), 512);
  const ir::SequenceMechanism& sparse = *ir::find_sequence_mechanism("sparsemax");
  double sparse_params[] = {1, 0, 64};
  expect_error([&] { plan_sequence(sparse, sparse_params, 2, 4000000, 8, 8, 8); }, "MB of working memory per thread");
  double gqa_bad[] = {4, 3, 64};
  expect_error([&] { plan_sequence(gqa, gqa_bad, 2, 2, 8, 6, 6); }, "num_kv_heads 3 does not divide num_heads 4");
}

TEST(FlashSchedule, PerRowTypesRunAsSequences) {
  ASSERT_NE(ir::find_sequence_mechanism("cosine"), nullptr);
  ASSERT_NE(ir::find_sequence_mechanism("poincare"), nullptr);
  EXPECT_EQ(ir::find_sequence_mechanism("talking_heads"), nullptr);
  EXPECT_NE(ir::sequence_mechanism_names().find("grouped_query"), std::string::npos);
}

// Query blocks on several threads give the same bits as one thread.
TEST(FlashSchedule, ThreadsDoNotChangeResults) {
  for (const auto& c : test::sequence_cases()) {
    if (c.L < 32) continue;
    const ir::SequenceMechanism* m = ir::find_sequence_mechanism(c.mechanism);
    std::vector<double> p = test::sequence_params(*m, c);
    p[ir::param_index(m->params, "block_size")] = 8;  // several blocks per thread
    SequencePlan plan = plan_sequence(*m, p.data(), c.L, c.S, c.dq, c.dk, c.dv);
    Bound score = bind_sequence(plan, p.data(), true);
    auto q = test::row_pointers(c.q, c.L, c.dq), k = test::row_pointers(c.k, c.S, c.dk), v = test::row_pointers(c.v, c.S, c.dv);
    std::vector<float> one(static_cast<size_t>(c.L) * plan.out_dims()), four(one.size());
    run_flash_parallel(plan, score, q.data(), k.data(), v.data(), 0, c.L, one.data(), 1);
    run_flash_parallel(plan, score, q.data(), k.data(), v.data(), 0, c.L, four.data(), 4);
    EXPECT_EQ(one, four) << c.mechanism;
  }
}

// One query row: the heads are split over the threads instead, and each
// head's result is the same as on one thread, and matches torch.
TEST(FlashSchedule, ThreadsSplitTheHeadsOfOneQuery) {
  int tested = 0;
  for (const auto& c : test::sequence_cases()) {
    if (c.L != 1) continue;
    const ir::SequenceMechanism* m = ir::find_sequence_mechanism(c.mechanism);
    std::vector<double> p = test::sequence_params(*m, c);
    SequencePlan plan = plan_sequence(*m, p.data(), c.L, c.S, c.dq, c.dk, c.dv);
    if (plan.heads < 2) continue;
    Bound score = bind_sequence(plan, p.data(), true);
    ASSERT_EQ(score.kernel->kind, ir::KernelKind::Query);
    auto q = test::row_pointers(c.q, c.L, c.dq), k = test::row_pointers(c.k, c.S, c.dk), v = test::row_pointers(c.v, c.S, c.dv);
    std::vector<float> one(plan.out_dims()), split(one.size()), many(one.size());
    run_flash_parallel(plan, score, q.data(), k.data(), v.data(), 0, 1, one.data(), 1);
    run_flash_parallel(plan, score, q.data(), k.data(), v.data(), 0, 1, split.data(), 2);
    run_flash_parallel(plan, score, q.data(), k.data(), v.data(), 0, 1, many.data(), plan.heads + 3);
    EXPECT_EQ(one, split) << c.mechanism;
    EXPECT_EQ(one, many) << c.mechanism;
    for (size_t i = 0; i < one.size(); ++i)
      EXPECT_NEAR(split[i], c.out[i], std::max(1e-5 * std::fabs(c.out[i]), 1e-6)) << c.mechanism;
    ++tested;
  }
  EXPECT_GE(tested, 1);
}

// Logits that all overflow to -inf are an error on every path (tile, single
// query, per-row); a row that sees no key gets zeros.
TEST(FlashSchedule, AllMinusInfinityLogitsAreAnOverflowNotZeros) {
  const std::vector<float> q = {3e38f, 3e38f, 1, 1}, k = {-3e38f, -3e38f, -3e38f, -3e38f}, v = {1, 1, 2, 2};
  for (const char* name : {"scaled_dot", "sparsemax"})
    for (int L : {1, 2}) {
      const ir::SequenceMechanism* m = ir::find_sequence_mechanism(name);
      std::vector<double> p;
      for (const auto& s : m->params) p.push_back(s.default_value);
      SequencePlan plan = plan_sequence(*m, p.data(), L, 2, 2, 2, 2);
      Bound score = bind_sequence(plan, p.data(), true);
      std::vector<float> out(static_cast<size_t>(L) * 2);
      auto qr = test::row_pointers(q, L, 2), kr = test::row_pointers(k, 2, 2), vr = test::row_pointers(v, 2, 2);
      try {
        run_flash_parallel(plan, score, qr.data(), kr.data(), vr.data(), 0, L, out.data(), 1);
        ADD_FAILURE() << name << " L " << L << " returned instead of failing";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::OutOfRange) << name;
      }
    }
  // A fully masked row (a causal window past the last key) is zeros, not an error.
  const ir::SequenceMechanism* m = ir::find_sequence_mechanism("sliding_window");
  std::vector<double> p;
  for (const auto& s : m->params) p.push_back(s.default_value);
  p[ir::param_index(m->params, "window")] = 1;
  SequencePlan plan = plan_sequence(*m, p.data(), 2, 1, 2, 2, 2);
  Bound score = bind_sequence(plan, p.data(), true);
  std::vector<float> out(4, -1.0f);
  auto qr = test::row_pointers(q, 2, 2), kr = test::row_pointers(v, 1, 2), vr = test::row_pointers(v, 1, 2);
  run_flash_parallel(plan, score, qr.data(), kr.data(), vr.data(), 0, 2, out.data(), 1);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.0f);
}
