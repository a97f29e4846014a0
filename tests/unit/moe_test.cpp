// runtime/moe: gate scores have the same bits on every ISA and agree with an
// f64 sum; the routers follow their definitions; the model-kind checks name
// what they expect. (Against numpy: tests/regress/sql/moe.sql.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ir/errors.h"
#include "ir/recipes/models.h"
#include "runtime/moe.h"

using namespace rvj::runtime;

namespace {
std::vector<float> randoms(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}
}  // namespace

TEST(Moe, GateScoresSameBitsOnEveryIsaAndCloseToF64) {
  for (int dims : {1, 7, 16, 33, 512})
    for (int experts : {1, 3, 8, 13}) {
      const int n = 5;
      auto w = randoms((size_t)experts * dims, 1 + dims), b = randoms(experts, 2), x = randoms((size_t)n * dims, 3);
      OwnedGate g(w.data(), b.data(), experts, dims);
      std::vector<float> ref((size_t)n * experts), got((size_t)n * experts);
      gate_scores(g.gate, x.data(), n, ref.data(), SimdIsa::Scalar);
      for (SimdIsa isa : {SimdIsa::Avx2, SimdIsa::Avx512, SimdIsa::Best}) {
        if (!simd_available(isa)) continue;
        gate_scores(g.gate, x.data(), n, got.data(), isa);
        for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], ref[i]) << dims << " " << experts << " " << i;
      }
      for (int i = 0; i < n; ++i)
        for (int e = 0; e < experts; ++e) {
          double s = b[e];
          for (int t = 0; t < dims; ++t) s += (double)w[(size_t)e * dims + t] * x[(size_t)i * dims + t];
          EXPECT_NEAR(ref[(size_t)i * experts + e], s, 1e-5 * (1 + std::fabs(s)));
        }
    }
}

TEST(Moe, RoutersFollowTheirDefinitions) {
  const float s[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  Routed r[3];
  route_scores(s, 5, 3, rvj::ir::Router::TopK, r);
  // ties: the lower index first
  EXPECT_EQ(r[0].expert, 1);
  EXPECT_EQ(r[1].expert, 3);
  EXPECT_EQ(r[2].expert, 4);
  const double z = 2 * std::exp(2.0) + std::exp(1.0);
  EXPECT_NEAR(r[0].weight, std::exp(2.0) / z, 1e-7);
  EXPECT_NEAR(r[2].weight, std::exp(1.0) / z, 1e-7);
  route_scores(s, 5, 1, rvj::ir::Router::Switch, r);
  double all = 0;
  for (float v : s) all += std::exp((double)v);
  EXPECT_EQ(r[0].expert, 1);
  EXPECT_NEAR(r[0].weight, std::exp(2.0) / all, 1e-7);
  const float bad[2] = {1.0f, INFINITY};
  EXPECT_THROW(route_scores(bad, 2, 1, rvj::ir::Router::TopK, r), rvj::Error);
}

TEST(Moe, ExpertChoiceGivesEachExpertItsCapacity) {
  const int dims = 8, experts = 4, n = 30;
  auto w = randoms((size_t)experts * dims, 5), x = randoms((size_t)n * dims, 6);
  OwnedGate g(w.data(), nullptr, experts, dims);
  auto c = expert_choice(g.gate, x.data(), n, 7);
  ASSERT_EQ(c.size(), 28u);
  for (int e = 0; e < experts; ++e)
    for (int j = 0; j < 7; ++j) {
      EXPECT_EQ(c[e * 7 + j].expert, e);
      if (j) {
        EXPECT_GE(c[e * 7 + j - 1].weight, c[e * 7 + j].weight);
      }
    }
}

TEST(Moe, DefaultGateRowsAreCentredUnitVectors) {
  const int experts = 8, dims = 64;
  std::vector<float> w((size_t)experts * dims);
  default_gate_weight(experts, dims, w.data());
  for (int e = 0; e < experts; ++e) {
    double sum = 0, sq = 0;
    for (int t = 0; t < dims; ++t) sum += w[(size_t)e * dims + t], sq += (double)w[(size_t)e * dims + t] * w[(size_t)e * dims + t];
    EXPECT_NEAR(sum, 0, 1e-5);
    EXPECT_NEAR(sq, 1, 1e-5);
  }
}

TEST(Moe, KmeansFindsSeparatedClusters) {
  const int dims = 3, per = 50;
  std::vector<float> x;
  std::mt19937 gen(9);
  std::normal_distribution<float> d(0, 0.1f);
  const float centres[3][3] = {{0, 0, 0}, {5, 5, 0}, {-5, 0, 5}};
  for (int i = 0; i < 3 * per; ++i)
    for (int t = 0; t < dims; ++t) x.push_back(centres[i % 3][t] + d(gen));
  std::vector<float> c(9);
  kmeans(x.data(), 3 * per, dims, 3, 11, 50, c.data());
  for (const auto& want : centres) {
    double best = 1e9;
    for (int j = 0; j < 3; ++j) {
      double dd = 0;
      for (int t = 0; t < dims; ++t) dd += std::pow(c[j * 3 + t] - want[t], 2);
      best = std::min(best, dd);
    }
    EXPECT_LT(best, 0.01);
  }
}

TEST(Models, ShapesAreCheckedAndNamed) {
  const rvj::ir::ModelKind* k = rvj::ir::find_model_kind("moe_gate");
  ASSERT_NE(k, nullptr);
  auto b = rvj::ir::check_model(*k, {{"weight", {8, 16}}, {"bias", {8}}});
  EXPECT_EQ(rvj::ir::binding(b, "num_experts"), 8);
  EXPECT_EQ(rvj::ir::binding(b, "dims"), 16);
  try {
    rvj::ir::check_model(*k, {{"weight", {8, 16}}, {"bias", {7}}});
    FAIL();
  } catch (const rvj::Error& e) {
    EXPECT_STREQ(e.what(), "tensor \"bias\" has shape [7]; a moe_gate model needs [num_experts = 8]");
  }
  EXPECT_THROW(rvj::ir::check_model(*k, {{"bias", {8}}}), rvj::Error);
  EXPECT_THROW(rvj::ir::check_model(*k, {{"weight", {8, 16}}, {"weight", {8, 16}}}), rvj::Error);
  EXPECT_THROW(rvj::ir::check_model(*k, {{"weight", {8, 0}}}), rvj::Error);
}
