#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fixtures.h"
#include "runtime/engine.h"
#include "runtime/online_softmax.h"

using namespace rvj;
using namespace rvj::runtime;

namespace {
// fp32 parity against torch: relative 1e-5, absolute 1e-6 near zero.
void expect_close(double got, double want) { EXPECT_NEAR(got, want, std::max(1e-5 * std::fabs(want), 1e-6)); }

struct Part {
  SoftmaxState s;
  std::vector<double> o;
};

Part attend(const test::AttendCase& c, int from, int to) {
  Bound k = bind(row_score_mechanism("scaled_dot"), c.d, true);
  Part p{{}, std::vector<double>(c.dv)};
  softmax_init(p.s, p.o.data(), c.dv);
  for (int i = from; i < to; ++i)
    softmax_add(p.s, p.o.data(), c.dv, run(k, c.q.data(), &c.keys[static_cast<size_t>(i) * c.d]),
                &c.values[static_cast<size_t>(i) * c.dv]);
  return p;
}
}  // namespace

// One pass over all keys equals torch's scaled_dot_product_attention.
TEST(OnlineSoftmax, SinglePassMatchesTorchSdpa) {
  for (const auto& c : test::attend_cases()) {
    Part p = attend(c, 0, c.n);
    std::vector<float> out(c.dv);
    ASSERT_TRUE(softmax_finish(p.s, p.o.data(), c.dv, out.data()));
    for (int i = 0; i < c.dv; ++i) expect_close(out[i], c.out[i]);
  }
}

// Any split into partial states, merged in any order, gives the same result:
// what lets parallel workers each take part of a table.
TEST(OnlineSoftmax, MergedPartsMatchTorchSdpa) {
  for (const auto& c : test::attend_cases()) {
    int a = c.n / 3, b = 2 * c.n / 3;
    Part p1 = attend(c, 0, a), p2 = attend(c, a, b), p3 = attend(c, b, c.n);
    // (p3 + p1) + p2: out of order, and possibly merging empty parts
    softmax_merge(p3.s, p3.o.data(), p1.s, p1.o.data(), c.dv);
    softmax_merge(p3.s, p3.o.data(), p2.s, p2.o.data(), c.dv);
    std::vector<float> out(c.dv);
    ASSERT_TRUE(softmax_finish(p3.s, p3.o.data(), c.dv, out.data()));
    for (int i = 0; i < c.dv; ++i) expect_close(out[i], c.out[i]);
  }
}

TEST(OnlineSoftmax, EmptyStateHasNoResult) {
  SoftmaxState s;
  double o[2];
  float out[2];
  softmax_init(s, o, 2);
  EXPECT_FALSE(softmax_finish(s, o, 2, out));
}

// Huge logits neither overflow nor lose the small ones' share.
TEST(OnlineSoftmax, StableForLargeLogits) {
  SoftmaxState s;
  double o[1];
  softmax_init(s, o, 1);
  float v1 = 1, v2 = 3;
  softmax_add(s, o, 1, 1000.0, &v1);
  softmax_add(s, o, 1, 1000.0 + std::log(3.0), &v2);
  float out;
  ASSERT_TRUE(softmax_finish(s, o, 1, &out));
  EXPECT_NEAR(out, (1 * 1 + 3 * 3) / 4.0, 1e-6);
}

TEST(Softmax, WeightsMatchTorchSoftmax) {
  for (const auto& c : test::attend_cases()) {
    Bound k = bind(row_score_mechanism("scaled_dot"), c.d, true);
    std::vector<double> logits(c.n), w(c.n);
    for (int i = 0; i < c.n; ++i) logits[i] = run(k, c.q.data(), &c.keys[static_cast<size_t>(i) * c.d]);
    ASSERT_TRUE(softmax(logits.data(), c.n, w.data()));
    for (int i = 0; i < c.n; ++i) expect_close(w[i], c.weights[i]);
  }
}
