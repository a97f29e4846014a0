#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "fixtures.h"
#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/schedules/linear.h"

using namespace rvj;
using namespace rvj::runtime;

namespace {

// As the SQL function runs it: state built in slices (non-causal) or as a
// prefix, queries in slices of `slice`.
std::vector<float> attend(const test::SequenceCase& c, int slice) {
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism(c.mechanism);
  std::vector<double> p = test::sequence_params(m, c);
  SequencePlan plan = plan_sequence(m, p.data(), c.L, c.S, c.dq, c.dk, c.dv);
  auto q = test::row_pointers(c.q, c.L, c.dq), k = test::row_pointers(c.k, c.S, c.dk), v = test::row_pointers(c.v, c.S, c.dv);
  std::vector<double> state(linear_state_size(plan));
  linear_init(plan, state.data());
  if (!plan.causal)
    for (int j0 = 0; j0 < c.S; j0 += slice) linear_add_keys(plan, k.data(), v.data(), j0, std::min(c.S, j0 + slice), state.data());
  std::vector<float> out(static_cast<size_t>(c.L) * plan.out_dims());
  for (int q0 = 0; q0 < c.L; q0 += slice)
    run_linear(plan, p[ir::param_index(m.params, "eps")], q.data(), k.data(), v.data(), q0, std::min(c.L, q0 + slice), state.data(),
               out.data() + static_cast<size_t>(q0) * plan.out_dims());
  return out;
}
}  // namespace

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
