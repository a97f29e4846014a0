#include <utility>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ir/errors.h"
#include "runtime/engine.h"
#include "runtime/kernel_cache.h"

using namespace rvj;
using namespace rvj::runtime;

TEST(KernelCache, FirstCallCompilesLaterCallsReuse) {
  KernelCache cache;
  const ir::Mechanism& m = *ir::find_mechanism("scaled_dot");
  Source s1, s2;
  Kernel& k1 = cache.get(m, 96, true, &s1);
  Kernel& k2 = cache.get(m, 96, true, &s2);
  EXPECT_EQ(s1, Source::CompiledNow);
  EXPECT_EQ(s2, Source::Memory);
  EXPECT_EQ(&k1, &k2);
  EXPECT_EQ(k1.hits, 1u);
  EXPECT_NE(k1.key.find("scaled_dot/96/"), std::string::npos);
  // Other dims are another kernel.
  Kernel& k3 = cache.get(m, 97, true);
  EXPECT_NE(&k1, &k3);
  EXPECT_EQ(cache.entries().size(), 2u);
}

TEST(KernelCache, InterpreterOnlyEntryCompilesLater) {
  KernelCache cache;
  const ir::Mechanism& m = *ir::find_mechanism("cosine");
  Kernel& k = cache.get(m, 12, false);
  EXPECT_EQ(k.code.fn, nullptr);
  Source s;
  cache.get(m, 12, true, &s);
  EXPECT_EQ(s, Source::CompiledNow);
  EXPECT_NE(k.code.fn, nullptr);
}

TEST(Engine, JitAndInterpreterGiveIdenticalScores) {
  std::vector<float> a(300), b(300);
  for (int i = 0; i < 300; ++i) {
    a[i] = std::sin(i * 0.37f) * 0.05f;
    b[i] = std::cos(i * 0.11f) * 0.05f;
  }
  for (const char* name : {"scaled_dot", "cosine", "poincare"}) {
    const ir::Mechanism& m = row_score_mechanism(name);
    double jit = run(bind(m, 300, true), a.data(), b.data());
    double interp = run(bind(m, 300, false), a.data(), b.data());
    EXPECT_EQ(jit, interp) << name;  // the canonical reduction order: same bits
  }
}

TEST(Engine, UnknownAttentionTypeListsValidOnes) {
  try {
    row_score_mechanism("softmax_of_one");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(e.hint().find("scaled_dot, cosine, poincare"), std::string::npos);
  }
}

// Mechanisms with SQL of their own are pointed to it from the generic forms.
TEST(Engine, OwnFunctionMechanismsPointToTheirSql) {
  const std::pair<const char*, const char*> cases[] = {{"mixed_curvature", "ruvector_mixed_curvature_score"},
                                                       {"moe_topk", "ruvector_moe_route"},
                                                       {"expert_choice", "ruvector_moe_expert_choice"},
                                                       {"talking_heads", "ruvector_model_attention"}};
  for (const auto& [name, sql] : cases) {
    try {
      row_score_mechanism(name);
      FAIL() << name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << name;
      EXPECT_NE(e.hint().find(sql), std::string::npos) << name << ": " << e.hint();
    }
  }
}

TEST(Engine, InternalKernelIsNotAnAttentionType) {
  EXPECT_THROW(row_score_mechanism("poincare_distance"), Error);
  EXPECT_NO_THROW(kernel_mechanism("poincare_distance"));
}

TEST(Engine, SequenceMechanismNamesItsShape) {
  try {
    row_score_mechanism("causal");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("no per-row score form"), std::string::npos);
    EXPECT_NE(e.hint().find("ruvector_attention(queries, keys, values, 'causal')"), std::string::npos);
  }
}

TEST(Engine, PointOutsideTheBallIsRejected) {
  float inside[2] = {0.1f, 0.2f}, outside[2] = {0.8f, 0.8f};
  for (bool jit : {true, false}) {
    Bound k = bind(kernel_mechanism("poincare_distance"), 2, jit);
    EXPECT_NO_THROW(run(k, inside, inside));
    try {
      run(k, inside, outside);
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::DataException);
      EXPECT_NE(std::string(e.what()).find("b is not inside the Poincare ball"), std::string::npos) << e.what();
    }
    // With c = 0.5 the same point is inside: 0.5 * 1.28 < 1.
    k.params[0] = 0.5;
    EXPECT_NO_THROW(run(k, inside, outside));
  }
}

TEST(Engine, CosineOfZeroVectorIsRejected) {
  float zero[3] = {0, 0, 0}, x[3] = {1, 2, 3};
  EXPECT_THROW(run(bind(row_score_mechanism("cosine"), 3, true), x, zero), Error);
}

TEST(Engine, DimensionMismatchUsesPgvectorWording) {
  try {
    check_same_dims(3, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "different vector dimensions 3 and 4");
  }
}

TEST(Engine, ExplainShowsIrIsaKeySourceAndAssembly) {
  auto rows = explain("scaled_dot", 40, true);
  std::string all;
  for (auto& r : rows) all += r + "\n";
  EXPECT_NE(all.find("Kernel: scaled_dot"), std::string::npos);
  EXPECT_NE(all.find("ISA: "), std::string::npos);
  EXPECT_NE(all.find("Cache key: scaled_dot/40/"), std::string::npos);
  EXPECT_NE(all.find("Compile time: "), std::string::npos);
  EXPECT_NE(all.find("dot.f32"), std::string::npos);
  EXPECT_NE(all.find("Assembly"), std::string::npos);
  EXPECT_NE(all.find("ret"), std::string::npos);
  auto again = explain("scaled_dot", 40, true);
  std::string all2;
  for (auto& r : again) all2 += r + "\n";
  EXPECT_NE(all2.find("Source: memory cache"), std::string::npos);
  EXPECT_THROW(explain("scaled_dot", 0, true), Error);
  EXPECT_THROW(explain("nope", 8, true), Error);
}

// The operator kernels against values computed by hand.
TEST(Engine, DistanceKernelsMatchHandComputedValues) {
  float a[3] = {1, 2, 3}, b[3] = {4, 5, 6}, z[3] = {0, 0, 0};
  for (bool jit : {true, false}) {
    auto k = [&](const char* name) { return bind(kernel_mechanism(name), 3, jit); };
    EXPECT_DOUBLE_EQ(run(k("l2_distance"), a, b), std::sqrt(27.0));
    EXPECT_DOUBLE_EQ(run(k("negative_inner_product"), a, b), -32.0);
    EXPECT_NEAR(run(k("cosine_distance"), a, b), 1 - 32 / std::sqrt(14.0 * 77.0), 1e-7);
    EXPECT_EQ(run(k("cosine_distance"), a, a), 0.0);  // clamped, not -1e-8
    EXPECT_TRUE(std::isnan(run(k("cosine_distance"), a, z)));
    EXPECT_DOUBLE_EQ(run(k("norm"), a, nullptr), std::sqrt(14.0));
  }
}
