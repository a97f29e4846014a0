// ruvector_sliding_attention's windows (runtime/schedules/windows.h), each
// attended by the flash schedule, against torch SDPA per window
// (tests/fixtures/sliding.txt: the windows come from the rule transcribed in
// scripts/gen_fixtures.py, apart from the C++).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.h"
#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/windows.h"

using namespace rvj;

namespace {
struct WindowCase {
  int n, d, window, stride, start, end;
  std::vector<float> rows;
  std::vector<double> out;
};

std::vector<WindowCase> window_cases() {
  std::vector<WindowCase> cases;
  for (const std::vector<std::string>& f : test::fixture_lines("sliding.txt")) {
    WindowCase c;
    std::istringstream(f.at(0)) >> c.n >> c.d >> c.window >> c.stride;
    std::istringstream(f.at(1)) >> c.start >> c.end;
    c.rows = test::numbers<float>(f.at(2));
    c.out = test::numbers<double>(f.at(3));
    cases.push_back(c);
  }
  return cases;
}
}  // namespace

TEST(SlidingWindows, FollowTheReferenceRuleAndMatchTorch) {
  const auto cases = window_cases();
  ASSERT_GE(cases.size(), 15u);
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism("scaled_dot");
  std::vector<double> params(m.params.size());
  ir::default_params(m.params, params.data());
  // The windows of each (n, window, stride) are exactly the fixture's, in order.
  size_t at = 0;
  while (at < cases.size()) {
    const WindowCase& first = cases[at];
    const auto windows = runtime::sliding_windows(first.n, first.window, first.stride);
    for (const runtime::Window& w : windows) {
      ASSERT_LT(at, cases.size());
      const WindowCase& c = cases[at++];
      ASSERT_EQ(c.n, first.n);
      EXPECT_EQ(w.start, c.start) << "n " << c.n << " window " << c.window << " stride " << c.stride;
      EXPECT_EQ(w.end, c.end);
      const int len = c.end - c.start;
      std::vector<const float*> rows(len);
      for (int i = 0; i < len; ++i) rows[i] = c.rows.data() + static_cast<size_t>(i) * c.d;
      runtime::SequencePlan plan = runtime::plan_sequence(m, params.data(), len, len, c.d, c.d, c.d);
      runtime::Bound score = runtime::bind_sequence(plan, true);
      std::vector<float> out(static_cast<size_t>(len) * c.d);
      runtime::run_flash_parallel(plan, score, rows.data(), rows.data(), rows.data(), 0, len, out.data(), 1);
      for (size_t i = 0; i < out.size(); ++i)
        EXPECT_NEAR(out[i], c.out[i], 1e-5 * std::max(1.0, std::fabs(c.out[i]))) << "window " << c.start;
    }
  }
}

TEST(SlidingWindows, BadBoundsAreClearErrors) {
  EXPECT_TRUE(runtime::sliding_windows(0, 4, 2).empty());
  for (auto [window, stride] : {std::pair{0, 1}, std::pair{4, 0}, std::pair{4, 5}, std::pair{-1, -1}}) {
    try {
      runtime::sliding_windows(10, window, stride);
      ADD_FAILURE() << "accepted window " << window << " stride " << stride;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    }
  }
  // A window that reaches the end is the last, even when stride < window.
  const auto w = runtime::sliding_windows(10, 6, 4);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].start, 4);
  EXPECT_EQ(w[1].end, 10);
}
