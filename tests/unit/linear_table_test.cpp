// The table form of linear attention: a state folded row by row (and
// merged from parts) answers a query exactly as the sequence schedule does
// over the same rows; the forms without a table state are refused.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/linear_table.h"

using namespace rvj::runtime;

namespace {
std::vector<float> rows(int n, int d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> x((size_t)n * d);
  for (float& v : x) v = normal(rng);
  return x;
}
}  // namespace

TEST(LinearTable, StateQueryEqualsTheSequenceSchedule) {
  const int n = 200, d = 16, dv = 8;
  const auto k = rows(n, d, 1), v = rows(n, dv, 2), q = rows(1, d, 3);
  struct Case {
    const char* name;
    std::vector<std::pair<const char*, double>> set;
  } cases[] = {{"linear", {{"num_heads", 2}}}, {"performer", {{"num_heads", 4}, {"num_features", 32}, {"seed", 9}}}};
  for (const Case& c : cases) {
    const rvj::ir::SequenceMechanism& m = *rvj::ir::find_sequence_mechanism(c.name);
    std::vector<double> params(m.params.size());
    rvj::ir::default_params(m.params, params.data());
    for (auto [name, value] : c.set)
      for (size_t i = 0; i < m.params.size(); ++i)
        if (std::string(m.params[i].name) == name) params[i] = value;

    SequencePlan p = linear_table_plan(m, params.data(), d, dv);
    std::vector<double> w(favor_weights_size(p));
    if (!w.empty()) favor_weights(p, w.data());
    p.favor_w = w.empty() ? nullptr : w.data();
    // Two parts merged, as two parallel workers would.
    std::vector<double> a(linear_state_size(p), 0.0), b(linear_state_size(p), 0.0);
    for (int j = 0; j < n; ++j) linear_table_add(p, &k[(size_t)j * d], &v[(size_t)j * dv], (j < 77 ? a : b).data());
    linear_table_merge(a.data(), b.data(), a.size());
    std::vector<float> got(p.out_dims());
    std::vector<float> packed(linear_query_size(p));
    linear_pack_state(p, a.data(), packed.data());
    linear_table_attend(p, packed.data(), q.data(), got.data());

    // The sequence schedule over the same rows.
    SequencePlan s = plan_sequence(m, params.data(), 1, n, d, d, dv);
    s.favor_w = p.favor_w;
    std::vector<const float*> kp(n), vp(n);
    for (int j = 0; j < n; ++j) kp[j] = &k[(size_t)j * d], vp[j] = &v[(size_t)j * dv];
    const float* qp[1] = {q.data()};
    std::vector<double> state(linear_state_size(s));
    linear_init(s, state.data());
    linear_add_keys(s, kp.data(), vp.data(), 0, n, state.data());
    std::vector<float> want(s.out_dims());
    run_linear(s, s.params.eps, qp, kp.data(), vp.data(), 0, 1, state.data(), want.data(), s.out_dims());
    for (int i = 0; i < p.out_dims(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6 * std::max(1.0f, std::fabs(want[i]))) << c.name;
  }
}

TEST(LinearTable, FormsThatDependOnPositionsHaveNoState) {
  for (const char* name : {"linear_causal", "cosformer", "scaled_dot"}) {
    const rvj::ir::SequenceMechanism& m = *rvj::ir::find_sequence_mechanism(name);
    std::vector<double> params(m.params.size());
    rvj::ir::default_params(m.params, params.data());
    EXPECT_THROW(linear_table_plan(m, params.data(), 8, 8), rvj::Error) << name;
  }
  const rvj::ir::SequenceMechanism& perf = *rvj::ir::find_sequence_mechanism("performer");
  std::vector<double> params(perf.params.size());
  rvj::ir::default_params(perf.params, params.data());
  for (size_t i = 0; i < perf.params.size(); ++i)
    if (std::string(perf.params[i].name) == "causal") params[i] = 1;
  EXPECT_THROW(linear_table_plan(perf, params.data(), 8, 8), rvj::Error);
}
