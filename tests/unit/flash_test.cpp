#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "fixtures.h"
#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/engine.h"
#include "runtime/schedules/flash.h"
#include "runtime/simd.h"

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
  Bound score = bind_sequence(plan, jit);
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

// The blocked normaliser paths (the sparse normalisers' blocked logits and
// W V on packed panels) give the same bits on every ISA.
TEST(FlashSchedule, NormalisersGiveTheSameBitsOnEveryIsa) {
  int checked = 0;
  for (const auto& c : test::pattern_cases()) {
    const ir::SequenceMechanism* m = ir::find_sequence_mechanism(c.mechanism);
    if (m->normaliser == ir::Normaliser::Softmax) continue;
    simd_force(SimdIsa::Scalar);
    const std::vector<float> want = attend(c, true);
    for (SimdIsa isa : {SimdIsa::Avx2, SimdIsa::Avx512}) {
      if (!simd_available(isa)) continue;
      simd_force(isa);
      EXPECT_EQ(attend(c, true), want) << c.mechanism << " isa " << static_cast<int>(isa);
    }
    simd_force(SimdIsa::Best);
    ++checked;
  }
  EXPECT_GE(checked, 4);
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
  auto expect_error = [](auto&& f, const std::string& what, ErrorKind kind = ErrorKind::InvalidArgument) {
    try {
      f();
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  double heads3[] = {3, 64}, heads2[] = {2, 64}, zero_block[] = {1, 0}, half_heads[] = {1.5, 64};
  expect_error([&] { plan_sequence(sd, heads3, 2, 2, 8, 8, 8); }, "num_heads 3 does not divide the query dimension 8");
  // Dimension mismatches are 22000, as in pgvector.
  expect_error([&] { plan_sequence(sd, heads2, 2, 2, 8, 6, 8); }, "keys have 6 dimensions but queries have 8",
               ErrorKind::DataException);
  expect_error([&] { plan_sequence(sd, heads2, 0, 2, 8, 8, 8); }, "must not be empty");
  expect_error([&] { plan_sequence(sd, heads2, 2, 2, 8, 8, 7); }, "values have 7 dimensions", ErrorKind::DataException);
  expect_error([&] { plan_sequence(sd, zero_block, 2, 2, 8, 8, 8); },
               "block_size must be a whole number from 1 to 4096, not 0");
  expect_error([&] { plan_sequence(sd, half_heads, 2, 2, 8, 8, 8); },
               "num_heads must be a whole number from 1 to 16000, not 1.5");
  double huge_heads[] = {1e10, 64};
  expect_error([&] { plan_sequence(sd, huge_heads, 2, 2, 8, 8, 8); }, "num_heads must be a whole number from 1 to 16000");
  // Wide heads shrink the query chunk instead of failing: one head of 16000.
  double wide[] = {1, 64};
  SequencePlan w = plan_sequence(sd, wide, 1000, 1000, 16000, 16000, 16000);
  EXPECT_LE(block_memory(w), 64u << 20);
  EXPECT_LT(query_chunk(w), 512);
  // Limits are 54000.
  const ir::SequenceMechanism& sparse = *ir::find_sequence_mechanism("sparsemax");
  double sparse_params[] = {1, 0, 64};
  expect_error([&] { plan_sequence(sparse, sparse_params, 2, 4000000, 8, 8, 8); }, "MB of working memory per thread",
               ErrorKind::LimitExceeded);
  double gqa_bad[] = {4, 3, 64};
  expect_error([&] { plan_sequence(gqa, gqa_bad, 2, 2, 8, 6, 6); }, "num_kv_heads 3 does not divide num_heads 4");
}

// Counts and positions are checked against their ranges before they become
// ints: negative and overflowing values are errors, never a hang or a wrap.
TEST(FlashSchedule, CountsOutsideTheirRangesAreRejected) {
  struct Case {
    const char* mechanism;
    const char* param;
    double value;
    const char* message;
  };
  const Case cases[] = {
      {"bigbird", "global_blocks", -3, "global_blocks must be a whole number from 0 to 1073741824, not -3"},
      {"bigbird", "random_blocks", -1, "random_blocks must be a whole number from 0 to 64, not -1"},
      {"bigbird", "random_blocks", 65, "random_blocks must be a whole number from 0 to 64, not 65"},
      {"bigbird", "sparse_block", 0, "sparse_block must be a whole number from 1"},
      {"bigbird", "seed", 1e20, "seed must be a whole number from -9007199254740992 to 9007199254740992, not 1e+20"},
      {"longformer", "global_tokens", -1, "global_tokens must be a whole number from 0"},
      {"longformer", "global_tokens", -1e20, "global_tokens must be a whole number from 0 to 1073741824, not -1e+20"},
      {"dilated_window", "window", 2147483648.0, "window must be a whole number from 1 to 1073741824"},
      {"dilated_window", "dilation", -2, "dilation must be a whole number from 1"},
      {"topk_sparse", "top_k", 0, "top_k must be a whole number from 1"},
      {"performer", "num_features", 1e9, "num_features must be a whole number from 1 to 65536"},
      {"strided", "stride", 0.5, "stride must be a whole number from 1"},
      {"sigmoid", "bias", INFINITY, "bias must be a finite number, not inf"},
      {"rope", "base", -1, "base must be a number greater than 0, not -1"},
  };
  for (const Case& c : cases) {
    const ir::SequenceMechanism& m = *ir::find_sequence_mechanism(c.mechanism);
    std::vector<double> p(m.params.size());
    ir::default_params(m.params, p.data());
    const int at = ir::param_index(m.params, c.param);
    ASSERT_GE(at, 0) << c.mechanism << " " << c.param;
    p[at] = c.value;
    try {
      plan_sequence(m, p.data(), 8, 8, 8, 8, 8);
      ADD_FAILURE() << c.mechanism << " accepted " << c.param << " = " << c.value;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

// The hostile cases that hung or wrapped: BigBird with negative globals is
// rejected above; dilated windows whose window x dilation passes 2^31 keep
// their keys (they returned zeros when the product wrapped).
TEST(FlashSchedule, WideDilatedWindowsDoNotWrap) {
  ir::Mask m;
  m.kind = ir::MaskKind::DilatedWindow;
  m.keys = 100;
  m.window = 65536;
  m.dilation = 32768;
  m.causal = true;
  EXPECT_EQ(m.first_key(5), 0);
  EXPECT_EQ(m.last_key(5), 5);
  EXPECT_TRUE(m.visible(5, 5));
  m.causal = false;
  EXPECT_EQ(m.last_key(5), 99);
  m.window = ir::kMaxLength, m.dilation = ir::kMaxLength;
  EXPECT_EQ(m.first_key(ir::kMaxLength - 1), 0);
  EXPECT_TRUE(m.visible(7, 7));
  ir::Mask lf;
  lf.kind = ir::MaskKind::Longformer;
  lf.keys = 10;
  lf.window = ir::kMaxLength;
  lf.global = 0;
  EXPECT_EQ(lf.last_key(ir::kMaxLength - 1), 9);
  std::vector<int> blocks;
  lf.key_blocks(0, 10, 4, blocks);
  EXPECT_EQ(blocks.size(), 3u);
}

// Press et al.'s reference slopes: get_slopes from the paper's code, run by
// scripts/gen_alibi_slopes.py into tests/fixtures/alibi_slopes.txt.
TEST(Alibi, SlopesFollowThePapersReferenceCode) {
  std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/alibi_slopes.txt");
  ASSERT_TRUE(in.good());
  int heads, lines = 0;
  while (in >> heads) {
    for (int h = 0; h < heads; ++h) {
      double want;
      ASSERT_TRUE(in >> want);
      // The reference multiplies powers where we take exp2: a few ulps apart
      // (exp2 is the exact value).
      EXPECT_NEAR(ir::alibi_slope(h, heads), want, 2e-15 * want) << "head " << h << " of " << heads;
    }
    ++lines;
  }
  EXPECT_EQ(lines, 16);
  EXPECT_EQ(ir::alibi_slope(2, 3), 0.25);
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
    Bound score = bind_sequence(plan, true);
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
    Bound score = bind_sequence(plan, true);
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
      Bound score = bind_sequence(plan, true);
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
  Bound score = bind_sequence(plan, true);
  std::vector<float> out(4, -1.0f);
  auto qr = test::row_pointers(q, 2, 2), kr = test::row_pointers(v, 1, 2), vr = test::row_pointers(v, 1, 2);
  run_flash_parallel(plan, score, qr.data(), kr.data(), vr.data(), 0, 2, out.data(), 1);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.0f);
}
