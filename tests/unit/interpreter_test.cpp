#include <gtest/gtest.h>

#include <cmath>

#include "fixtures.h"
#include "ir/interpreter.h"
#include "ir/recipes/mechanisms.h"

using namespace rvj;

// The interpreter against numpy / geoopt, case by case.
TEST(Interpreter, MatchesIndependentReferences) {
  const auto& cases = test::score_cases();
  ASSERT_GT(cases.size(), 100u);
  for (const auto& c : cases) {
    const ir::Mechanism* m = ir::find_mechanism(c.mechanism);
    ASSERT_NE(m, nullptr) << c.mechanism;
    ASSERT_EQ(c.params.size(), m->params.size());
    ir::Function fn = m->build(c.dims);
    const float* in[2] = {c.a.data(), c.b.data()};
    double out[4];
    ir::interpret(fn, in, c.params.data(), out);
    EXPECT_NEAR(out[0], c.expected, test::score_tolerance(c)) << c.mechanism << " dims " << c.dims;
  }
}

TEST(Interpreter, PoincareChecksReportNormsTimesCurvature) {
  ir::Function fn = ir::build_poincare_distance(2);
  float x[2] = {0.6f, 0.0f}, y[2] = {0.0f, 0.8f};
  const float* in[2] = {x, y};
  double c = 1.5, out[3];
  ir::interpret(fn, in, &c, out);
  EXPECT_NEAR(out[1], 1.5 * 0.36, 1e-7);
  EXPECT_NEAR(out[2], 1.5 * 0.64, 1e-7);
}

// ir/tanh64.h's tanh (the TanhVec op) against libm's, over its two branches,
// the switch between them at 0.625, saturation, signed zero and NaN.
TEST(Interpreter, Tanh64IsWithinTwoUlpOfLibm) {
  double worst = 0;
  for (double x = -30; x <= 30; x += 0.0007) {
    for (double v : {x, x * 1e-6, std::nextafter(0.625, 0.0), 0.625}) {
      const double want = std::tanh(v), got = rvj::ir::tanh64(v);
      if (want != 0) worst = std::max(worst, std::fabs(got - want) / std::fabs(want));
    }
  }
  EXPECT_LE(worst, 4.5e-16);
  EXPECT_EQ(rvj::ir::tanh64(40.0), 1.0);
  EXPECT_EQ(rvj::ir::tanh64(-INFINITY), -1.0);
  EXPECT_TRUE(std::signbit(rvj::ir::tanh64(-0.0)));
  EXPECT_TRUE(std::isnan(rvj::ir::tanh64(NAN)));
}
