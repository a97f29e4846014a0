#include <gtest/gtest.h>

#include <cmath>

#include "ir/errors.h"
#include "ir/ir.h"
#include "ir/printer.h"
#include "ir/recipes/mechanisms.h"
#include "ir/recipes/sequence.h"
#include "ir/verifier.h"

using namespace rvj;
using namespace rvj::ir;

TEST(IrPrinter, ScaledDotReadsAsItsFormula) {
  std::string text = print(build_scaled_dot(4));
  EXPECT_NE(text.find("kernel scaled_dot(in0: f32[4], in1: f32[4]) -> f64[1]"), std::string::npos) << text;
  EXPECT_NE(text.find("%2 = dot.f32 %0, %1"), std::string::npos) << text;
  EXPECT_NE(text.find("%3 = const 0.5"), std::string::npos) << text;  // 1/sqrt(4)
  EXPECT_NE(text.find("out[0] = %4"), std::string::npos) << text;
}

TEST(IrPrinter, PoincareUsesF64Sums) {
  std::string text = print(build_poincare_distance(8));
  EXPECT_NE(text.find("dot.f64"), std::string::npos) << text;
  EXPECT_NE(text.find("sqdist.f64"), std::string::npos) << text;
  EXPECT_NE(text.find("log1p"), std::string::npos) << text;
}

TEST(IrHash, DependsOnProgramAndDims) {
  EXPECT_EQ(build_scaled_dot(384).hash(), build_scaled_dot(384).hash());
  EXPECT_NE(build_scaled_dot(384).hash(), build_scaled_dot(768).hash());
  EXPECT_NE(build_scaled_dot(384).hash(), build_cosine(384).hash());
}

TEST(IrVerifier, RejectsUseBeforeDefinition) {
  Function fn = build_scaled_dot(4);
  fn.nodes[2].a = 3;  // dot uses a later node
  EXPECT_THROW(verify(fn), Error);
}

TEST(IrVerifier, RejectsVectorWhereScalarIsNeeded) {
  Builder b("bad", 4);
  int x = b.input();
  b.output(b.sqrt(x));
  EXPECT_THROW(b.finish(), Error);
}

TEST(IrVerifier, RejectsScalarWhereVectorIsNeeded) {
  Builder b("bad", 4);
  int c = b.constant(1);
  b.output(b.dot(c, c));
  EXPECT_THROW(b.finish(), Error);
}

TEST(IrVerifier, RejectsKernelWithoutOutput) {
  Builder b("bad", 4);
  int x = b.input();
  b.dot(x, x);
  EXPECT_THROW(b.finish(), Error);
}

TEST(IrVerifier, RejectsZeroDims) {
  Builder b("bad", 0);
  int x = b.input();
  b.output(b.dot(x, x));
  EXPECT_THROW(b.finish(), Error);
}

TEST(IrVerifier, AcceptsEveryRecipeAtAwkwardDims) {
  for (const Mechanism& m : mechanisms())
    for (int d : {1, 2, 7, 15, 16, 17, 383, 16000}) EXPECT_NO_THROW(verify(m.build(d))) << m.name << " " << d;
}

TEST(Mechanisms, RegistryAnswersByName) {
  ASSERT_NE(find_mechanism("scaled_dot"), nullptr);
  EXPECT_EQ(find_mechanism("no_such"), nullptr);
  EXPECT_EQ(mechanism_names(true), "scaled_dot, cosine, poincare, lorentz");
  ASSERT_NE(catalogue_entry("causal"), nullptr);
  EXPECT_NE(catalogue_entry("causal")->shape, nullptr);
  ASSERT_NE(catalogue_entry("multi_head"), nullptr);
  EXPECT_EQ(catalogue_entry("multi_head")->shape, nullptr);  // it has a per-row form
  EXPECT_EQ(catalogue_entry("no_such"), nullptr);
  // every shipped attention type is in the catalogue, with a per-row form,
  // or, for the graph layers' per-edge scores, the graph form
  for (const Mechanism& m : mechanisms())
    if (m.attention_type) {
      ASSERT_NE(catalogue_entry(m.name), nullptr) << m.name;
      if (std::string(m.family) == "graph")
        EXPECT_STREQ(catalogue_entry(m.name)->shape, "a graph form over node and edge tables") << m.name;
      else
        EXPECT_EQ(catalogue_entry(m.name)->shape, nullptr) << m.name;
    }
}

// Callers keep params in kMaxParams-sized arrays, and a bound per-row
// kernel holds its own in runtime::Bound::params (4).
TEST(Mechanisms, EveryParamListFitsItsArrays) {
  for (const Mechanism& m : mechanisms()) EXPECT_LE(m.params.size(), 4u) << m.name;
  for (const SequenceMechanism& m : sequence_mechanisms()) {
    EXPECT_LE(m.params.size(), kMaxParams) << m.name;
    if (m.score) {
      EXPECT_LE(m.params.size() - m.schedule_params, 4u) << m.name;
    }
  }
  for (const char* name : {"cosine", "poincare"}) EXPECT_LE(find_sequence_mechanism(name)->params.size(), kMaxParams);
}

TEST(Mechanisms, ParamsAreValidated) {
  const Mechanism& m = *find_mechanism("poincare_distance");
  double ok[] = {0.5}, zero[] = {0.0}, neg[] = {-1.0}, nan[] = {std::nan("")}, inf[] = {INFINITY};
  EXPECT_NO_THROW(check_params(m, ok));
  for (double* p : {zero, neg, nan, inf}) {
    try {
      check_params(m, p);
      ADD_FAILURE() << "accepted c = " << p[0];
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find("curvature must be a number greater than 0, not "), std::string::npos);
    }
  }
}
