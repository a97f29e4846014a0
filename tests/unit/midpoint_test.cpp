// The Poincare ball's weighted gyromidpoint against geoopt's
// weighted_midpoint (tests/fixtures/midpoint.txt), and its errors. Hyperbolic
// attention with the midpoint aggregation is in the pattern fixtures
// (flash_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ir/errors.h"
#include "runtime/hyperbolic.h"

using namespace rvj;

namespace {
struct MidpointCase {
  int n, d;
  double c;
  std::vector<float> points, weights;
  std::vector<double> out;
};

std::vector<MidpointCase> cases() {
  std::vector<MidpointCase> all;
  std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/midpoint.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (char& ch : line)
      if (ch == '|') ch = ' ';
    std::istringstream s(line);
    MidpointCase c;
    s >> c.n >> c.d >> c.c;
    c.points.resize(static_cast<size_t>(c.n) * c.d);
    c.weights.resize(c.n);
    c.out.resize(c.d);
    for (auto& x : c.points) s >> x;
    for (auto& x : c.weights) s >> x;
    for (auto& x : c.out) s >> x;
    if (!s) throw std::runtime_error("malformed midpoint fixture");
    all.push_back(std::move(c));
  }
  return all;
}

std::vector<const float*> rows(const std::vector<float>& p, int n, int d) {
  std::vector<const float*> r(n);
  for (int i = 0; i < n; ++i) r[i] = p.data() + static_cast<size_t>(i) * d;
  return r;
}
}  // namespace

TEST(PoincareMidpoint, MatchesGeoopt) {
  const auto all = cases();
  ASSERT_GE(all.size(), 5u);
  for (const auto& c : all) {
    std::vector<float> out(c.d);
    runtime::poincare_midpoint(rows(c.points, c.n, c.d).data(), c.weights.data(), c.n, c.d, c.c, out.data());
    for (int i = 0; i < c.d; ++i)
      EXPECT_NEAR(out[i], c.out[i], std::max(1e-5 * std::fabs(c.out[i]), 1e-6)) << "n " << c.n << " d " << c.d;
  }
}

TEST(PoincareMidpoint, OnePointAndOppositePoints) {
  const std::vector<float> p = {0.3f, -0.4f, -0.3f, 0.4f};
  std::vector<float> out(2);
  runtime::poincare_midpoint(rows(p, 1, 2).data(), nullptr, 1, 2, 1.0, out.data());
  EXPECT_NEAR(out[0], 0.3f, 1e-7);
  EXPECT_NEAR(out[1], -0.4f, 1e-7);
  runtime::poincare_midpoint(rows(p, 2, 2).data(), nullptr, 2, 2, 1.0, out.data());
  EXPECT_NEAR(out[0], 0.0f, 1e-7);
  EXPECT_NEAR(out[1], 0.0f, 1e-7);
}

TEST(PoincareMidpoint, BadInputIsAClearError) {
  const std::vector<float> p = {0.3f, 0.4f, 0.9f, 0.9f};
  const std::vector<float> zero = {0, 0}, negative = {1, -1};
  std::vector<float> out(2);
  auto expect_error = [&](auto&& f, const std::string& what) {
    try {
      f();
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error([&] { runtime::poincare_midpoint(rows(p, 2, 2).data(), nullptr, 2, 2, 1.0, out.data()); },
               "point 2 is not inside the Poincare ball");
  expect_error([&] { runtime::poincare_midpoint(rows(p, 1, 2).data(), zero.data(), 1, 2, 1.0, out.data()); },
               "must not all be zero");
  const std::vector<float> inside = {0.3f, 0.4f, 0.1f, 0.1f};
  expect_error([&] { runtime::poincare_midpoint(rows(inside, 2, 2).data(), negative.data(), 2, 2, 1.0, out.data()); },
               "weight 2 must be finite and not negative");
  expect_error([&] { runtime::poincare_midpoint(rows(p, 1, 2).data(), nullptr, 1, 2, 0.0, out.data()); },
               "curvature must be a finite number greater than 0");
}
