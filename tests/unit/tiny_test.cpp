// Tiny vectors: float32 sums of entries near 1e-25 underflow. The runtime's
// rescue (ir::Scaling) gives what numpy float64 gives (tests/fixtures/
// tiny.txt); other inputs keep the float32 kernel's bits.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "ir/recipes/mechanisms.h"
#include "runtime/engine.h"

using namespace rvj;

namespace {
struct TinyCase {
  std::string op;
  int dims;
  std::vector<float> a, b;
  double expected;
};

std::vector<TinyCase> tiny_cases() {
  std::vector<TinyCase> cases;
  for (const std::vector<std::string>& f : test::fixture_lines("tiny.txt")) {
    TinyCase c;
    std::istringstream head(f.at(0));
    head >> c.op >> c.dims;
    c.a = test::numbers<float>(f.at(1));
    c.b = test::numbers<float>(f.at(2));
    c.expected = std::stod(f.at(3));
    cases.push_back(c);
  }
  return cases;
}
}  // namespace

TEST(TinyVectors, MatchFloat64References) {
  const auto cases = tiny_cases();
  ASSERT_GE(cases.size(), 60u);
  for (bool jit : {true, false})
    for (const TinyCase& c : cases) {
      runtime::Bound k = runtime::bind(*ir::find_mechanism(c.op), c.dims, jit);
      const double got = runtime::run(k, c.a.data(), c.b.data());
      EXPECT_NEAR(got, c.expected, 2e-6 * std::fabs(c.expected) + 1e-7 * (c.op.find("cos") != std::string::npos))
          << c.op << " dims " << c.dims << " a[0] " << c.a[0] << (jit ? " jit" : " interpreter");
    }
}

TEST(TinyVectors, OtherInputsKeepTheFloat32KernelsBits) {
  // Ordinary vectors, exactly orthogonal ones (a zero inner product from
  // cancellation, not underflow) and equal ones (a zero distance): the
  // result is the kernel's own, with no rescue.
  const std::vector<std::vector<float>> as = {{0.5f, -1.25f, 3.0f}, {1.0f, 0.0f, 0.0f}, {2.0f, 2.0f, 2.0f}};
  const std::vector<std::vector<float>> bs = {{1.5f, 0.25f, -2.0f}, {0.0f, 1.0f, 0.0f}, {2.0f, 2.0f, 2.0f}};
  for (const char* op : {"l2_distance", "negative_inner_product", "cosine_distance", "cosine", "scaled_dot"})
    for (size_t i = 0; i < as.size(); ++i) {
      runtime::Bound k = runtime::bind(*ir::find_mechanism(op), 3, false);
      const float* in[2] = {as[i].data(), bs[i].data()};
      double raw[4];
      ir::interpret(k.kernel->ir, in, k.params, raw);
      EXPECT_EQ(runtime::run(k, as[i].data(), bs[i].data()), raw[0]) << op << " case " << i;
    }
}

TEST(TinyVectors, AZeroVectorIsStillAnError) {
  const std::vector<float> zero = {0, 0, 0}, tiny = {1e-30f, 0, 0};
  runtime::Bound k = runtime::bind(*ir::find_mechanism("cosine"), 3, true);
  EXPECT_THROW(runtime::run(k, zero.data(), tiny.data()), Error);
  EXPECT_NEAR(runtime::run(k, tiny.data(), tiny.data()), 1.0, 1e-7);
}
