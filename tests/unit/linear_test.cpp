#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "fixtures.h"
#include "ir/recipes/mechanisms.h"
#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/schedules/linear.h"
#include "runtime/simd.h"

using namespace rvj;
using namespace rvj::runtime;

namespace {

// As the SQL function runs it: state built in slices (non-causal) or as a
// prefix, queries in slices of `slice`.
// FAVOR+ takes W from the case when it has one, else from the seed. Output
// rows are out_dims + pad floats apart (a caller writing into its result);
// the gaps must stay untouched.
// The generated kernels of the linear schedule for `target`, compiled once.
struct Generated {
  codegen::Compiled panel, features;
};
const Generated& generated(const codegen::Target& target, ir::FeatureMap f) {
  static std::map<std::pair<int, int>, Generated> all;
  Generated& g = all[{static_cast<int>(target.isa), static_cast<int>(f)}];
  if (!g.panel.fn) {
    const ir::Function dot = ir::find_mechanism("feature_dot")->build(1);
    g.panel = codegen::compile(ir::panel_kernel(dot), target);
    g.features = codegen::compile(ir::feature_kernel(dot, f), target);
  }
  return g;
}

std::vector<float> attend(const test::SequenceCase& c, int slice, int threads = 1, int pad = 0,
                          const codegen::Target* target = nullptr) {
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism(c.mechanism);
  std::vector<double> p = test::sequence_params(m, c);
  SequencePlan plan = plan_sequence(m, p.data(), c.L, c.S, c.dq, c.dk, c.dv);
  std::vector<double> W(favor_weights_size(plan));
  favor_weights(plan, W.data());
  plan.favor_w = c.extra.empty() ? W.data() : c.extra.data();
  if (target) {  // the generated products and feature map, else the hand-written ones
    const Generated& g = generated(*target, plan.features);
    plan.panel = {g.panel.panel()};
    plan.feature_map = g.features.features();
  }
  auto q = test::row_pointers(c.q, c.L, c.dq), k = test::row_pointers(c.k, c.S, c.dk), v = test::row_pointers(c.v, c.S, c.dv);
  std::vector<double> state(linear_state_size(plan));
  linear_init(plan, state.data());
  if (!plan.causal)
    for (int j0 = 0; j0 < c.S; j0 += slice)
      linear_add_keys(plan, k.data(), v.data(), j0, std::min(c.S, j0 + slice), state.data(), threads);
  const int od = plan.out_dims(), ld = od + pad;
  std::vector<float> strided(static_cast<size_t>(c.L) * ld, -7.0f);
  for (int q0 = 0; q0 < c.L; q0 += slice)
    run_linear(plan, p[ir::param_index(m.params, "eps")], q.data(), k.data(), v.data(), q0, std::min(c.L, q0 + slice), state.data(),
               strided.data() + static_cast<size_t>(q0) * ld, ld, threads);
  std::vector<float> out(static_cast<size_t>(c.L) * od);
  for (int i = 0; i < c.L; ++i) {
    std::copy_n(strided.begin() + static_cast<size_t>(i) * ld, od, out.begin() + static_cast<size_t>(i) * od);
    for (int g = od; g < ld; ++g) EXPECT_EQ(strided[static_cast<size_t>(i) * ld + g], -7.0f) << "row " << i;
  }
  return out;
}

// Random rows, seeded.
std::vector<float> random_rows(int n, int d, unsigned seed, float scale) {
  std::vector<float> x(static_cast<size_t>(n) * d);
  uint64_t st = seed * 0x9e3779b97f4a7c15ull + 1;
  for (float& e : x) {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    e = scale * (static_cast<float>(st >> 40) / static_cast<float>(1 << 24) * 2.0f - 1.0f);
  }
  return x;
}

test::SequenceCase random_case(const char* mechanism, int L, int S, int d, int dv,
                               std::vector<std::pair<std::string, double>> params, unsigned seed) {
  return {mechanism, L, S, d, d, dv, std::move(params), random_rows(L, d, seed, 1.0f), random_rows(S, d, seed + 1, 1.0f),
          random_rows(S, dv, seed + 2, 1.0f), {}, {}};
}

// The causal definition, row by row in f64: query i over keys
// j <= min(i, S - 1), with the IR's feature maps.
std::vector<double> causal_reference(const test::SequenceCase& c) {
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism(c.mechanism);
  std::vector<double> p = test::sequence_params(m, c);
  SequencePlan plan = plan_sequence(m, p.data(), c.L, c.S, c.dq, c.dk, c.dv);
  std::vector<double> W(favor_weights_size(plan));
  favor_weights(plan, W.data());
  const int F = plan.feature_dim(), d = plan.head_dim, dv = plan.value_dim, M = std::max(c.L, c.S);
  const double eps = p[ir::param_index(m.params, "eps")];
  std::vector<double> out(static_cast<size_t>(c.L) * plan.out_dims()), fq(F), fk(F);
  for (int h = 0; h < plan.heads; ++h)
    for (int i = 0; i < c.L; ++i) {
      ir::feature_map(plan.features, &c.q[static_cast<size_t>(i) * c.dq + h * d], d, i, M, W.data(),
                      plan.params.num_features, fq.data());
      std::vector<double> num(dv, 0.0);
      double den = 0;
      for (int j = 0; j <= std::min(i, c.S - 1); ++j) {
        ir::feature_map(plan.features, &c.k[static_cast<size_t>(j) * c.dk + h * d], d, j, M, W.data(),
                        plan.params.num_features, fk.data());
        double dot = 0;
        for (int f = 0; f < F; ++f) dot += fq[f] * fk[f];
        den += dot;
        for (int e = 0; e < dv; ++e) num[e] += dot * c.v[static_cast<size_t>(j) * c.dv + h * dv + e];
      }
      for (int e = 0; e < dv; ++e) out[static_cast<size_t>(i) * plan.out_dims() + h * dv + e] = num[e] / (den + eps);
    }
  return out;
}
}  // namespace

// The chunked causal form (masked products within a chunk, the state across
// chunks) against the row-by-row definition: more queries than keys, fewer,
// and chunks cut short.
TEST(LinearSchedule, ChunkedCausalEqualsRowByRow) {
  const std::vector<test::SequenceCase> cases = {
      random_case("linear_causal", 200, 200, 16, 8, {{"num_heads", 2}}, 1),
      random_case("linear_causal", 150, 100, 16, 8, {{"num_heads", 2}}, 2),
      random_case("linear_causal", 70, 130, 8, 4, {{"num_heads", 1}}, 3),
      // value heads of 16: the ones column gets a panel of its own
      random_case("linear_causal", 100, 100, 32, 32, {{"num_heads", 2}}, 6),
      random_case("cosformer", 200, 200, 16, 8, {{"num_heads", 2}, {"causal", 1}}, 4),
      random_case("performer", 130, 130, 16, 8, {{"num_heads", 2}, {"num_features", 32}, {"causal", 1}}, 5),
  };
  for (const auto& c : cases) {
    const std::vector<double> want = causal_reference(c);
    for (int slice : {64, 128, 37}) {
      const std::vector<float> got = attend(c, slice);
      ASSERT_EQ(got.size(), want.size());
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::fabs(got[i] - want[i]) / std::max(1.0, std::fabs(want[i])));
      EXPECT_LE(worst, 2e-5) << c.mechanism << " L=" << c.L << " S=" << c.S << " slice " << slice;
    }
  }
}

// The determinism promise: chunks aligned to the first row, f32 chains in a
// fixed order, threads over whole (head, chunk) items: the same bits on every
// ISA and thread count.
// (and with output rows apart: a strided result holds the same bits), with
// the hand-written products on each ISA and the generated panel kernel of
// each ISA this host runs.
TEST(LinearSchedule, SameBitsOnEveryIsaAndThreadCount) {
  const std::vector<codegen::Target> targets = test::runnable_targets();
  const std::vector<test::SequenceCase> cases = {
      random_case("linear", 300, 260, 32, 16, {{"num_heads", 4}}, 11),
      random_case("linear_causal", 300, 300, 32, 16, {{"num_heads", 4}}, 12),
      random_case("cosformer", 260, 260, 32, 16, {{"num_heads", 2}, {"causal", 1}}, 13),
      random_case("cosformer", 200, 260, 32, 16, {{"num_heads", 2}}, 14),
      random_case("performer", 200, 260, 32, 16, {{"num_heads", 4}, {"num_features", 48}}, 15),
      random_case("performer", 200, 200, 32, 16, {{"num_heads", 4}, {"num_features", 48}, {"causal", 1}}, 16),
  };
  for (const auto& c : cases) {
    simd_force(SimdIsa::Scalar);
    const std::vector<float> want = attend(c, 128, 1);
    for (SimdIsa isa : {SimdIsa::Scalar, SimdIsa::Avx2, SimdIsa::Avx512}) {
      if (!simd_available(isa)) continue;
      simd_force(isa);
      for (int threads : {1, 2, 3}) {
        const std::vector<float> got = attend(c, 128, threads, threads == 2 ? 3 : 0);
        ASSERT_EQ(got.size(), want.size());
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * got.size()))
            << c.mechanism << " isa " << static_cast<int>(isa) << " threads " << threads;
      }
    }
    simd_force(SimdIsa::Best);
    for (const codegen::Target& target : targets)
      for (int threads : {1, 2}) {
        const std::vector<float> got = attend(c, 128, threads, 0, &target);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), sizeof(float) * got.size()))
            << c.mechanism << " generated kernels (" << codegen::isa_name(target.isa) << "), threads " << threads;
      }
  }
}

// linear and linear_causal against a numpy transcription of the paper.
TEST(LinearSchedule, MatchesThePapersFormula) {
  const auto& cases = test::linear_cases();
  ASSERT_GE(cases.size(), 7u);
  for (const auto& c : cases)
    for (int slice : {1, 3, 64}) {
      std::vector<float> out = attend(c, slice);
      ASSERT_EQ(out.size(), c.out.size());
      for (size_t i = 0; i < out.size(); ++i)
        EXPECT_NEAR(out[i], c.out[i], std::max(1e-5 * std::fabs(c.out[i]), 1e-6))
            << c.mechanism << " L=" << c.L << " S=" << c.S << " slice " << slice;
    }
}

// FAVOR+ with a fixed W and cosFormer against numpy transcriptions.
TEST(LinearSchedule, FeatureMapsMatchTheirFormulas) {
  const auto& cases = test::feature_cases();
  ASSERT_GE(cases.size(), 6u);
  for (const auto& c : cases)
    for (int slice : {1, 4}) {
      std::vector<float> out = attend(c, slice);
      ASSERT_EQ(out.size(), c.out.size());
      for (size_t i = 0; i < out.size(); ++i)
        EXPECT_NEAR(out[i], c.out[i], std::max(1e-5 * std::fabs(c.out[i]), 1e-6))
            << c.mechanism << " L=" << c.L << " S=" << c.S << " slice " << slice;
    }
}

// W from a seed: orthogonal rows within each block of d, row lengths of
// chi(d) (mean about sqrt(d)), the same W for the same seed.
TEST(LinearSchedule, FavorWeightsAreOrthogonalRandomFeatures) {
  const int m = 4096, d = 8;
  std::vector<double> W(m * d), again(m * d), other(m * d);
  ir::favor_weights(m, d, 11, W.data());
  ir::favor_weights(m, d, 11, again.data());
  ir::favor_weights(m, d, 12, other.data());
  EXPECT_EQ(W, again);
  EXPECT_NE(W, other);
  double mean_len = 0;
  for (int r = 0; r < m; ++r) {
    double len = 0;
    for (int i = 0; i < d; ++i) len += W[r * d + i] * W[r * d + i];
    mean_len += std::sqrt(len) / m;
    for (int s = r / d * d; s < r; ++s) {
      double dot = 0, ls = 0;
      for (int i = 0; i < d; ++i) dot += W[r * d + i] * W[s * d + i], ls += W[s * d + i] * W[s * d + i];
      EXPECT_LE(std::fabs(dot), 1e-12 * std::sqrt(len * ls) * d) << r << " " << s;
    }
  }
  EXPECT_NEAR(mean_len, 2.7346, 0.05);  // E chi(8) = sqrt(2) Gamma(4.5) / Gamma(4)
}

// FAVOR+ estimates softmax attention: with many features it approaches the
// exact result (computed here directly).
TEST(LinearSchedule, PerformerApproachesSoftmaxAttention) {
  const int L = 6, S = 10, d = 4;
  std::vector<float> q(L * d), k(S * d), v(S * 2);
  for (size_t i = 0; i < q.size(); ++i) q[i] = 0.4f * std::sin(1.3f * i);
  for (size_t i = 0; i < k.size(); ++i) k[i] = 0.4f * std::cos(0.7f * i);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.3f * i + 1);
  test::SequenceCase c{"performer", L, S, d, d, 2, {{"num_features", 16384}}, q, k, v, {}, {}};
  std::vector<float> out = attend(c, 64);
  double worst = 0;
  for (int i = 0; i < L; ++i) {
    double w[S], sum = 0;
    for (int j = 0; j < S; ++j) {
      double dot = 0;
      for (int t = 0; t < d; ++t) dot += q[i * d + t] * k[j * d + t];
      sum += w[j] = std::exp(dot / std::sqrt(d));
    }
    for (int c2 = 0; c2 < 2; ++c2) {
      double exact = 0;
      for (int j = 0; j < S; ++j) exact += w[j] / sum * v[j * 2 + c2];
      worst = std::max(worst, std::fabs(out[i * 2 + c2] - exact));
    }
  }
  EXPECT_LE(worst, 0.02);
}

TEST(LinearSchedule, StateBeyondTheLimitIsAClearError) {
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism("linear");
  double p[] = {1, 1e-6};
  try {
    plan_sequence(m, p, 1, 1, 8192, 8192, 8192);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MB of state"), std::string::npos);
  }
}
