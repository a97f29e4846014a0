// The linear schedule (Katharopoulos et al. 2020): with a feature map phi
// (ir/feature_map.h: elu + 1, FAVOR+, cosFormer),
//   out_i = phi(q_i)^T S / (phi(q_i)^T z + eps),  S = sum_j phi(k_j) v_j^T,  z = sum_j phi(k_j)
// per head. The state (S, z) is built once (or as a prefix, j <= i, for the
// causal forms) and applied per query: cost O((L + S) F d_v), memory O(F d_v).
// The state lives in caller-provided f64 buffers so that a caller can stop
// between slices of queries (and check for interrupts) without losing it.
#pragma once

#include <cstddef>

#include "runtime/schedules/flash.h"

namespace rvj::runtime {

// Doubles of state: heads x (F x value_dim + F).
size_t linear_state_size(const SequencePlan& p);
// FAVOR+'s W: how many doubles (0 for other maps), and filling them from the
// plan's seed; callers then set p.favor_w.
size_t favor_weights_size(const SequencePlan& p);
void favor_weights(const SequencePlan& p, double* W);
void linear_init(const SequencePlan& p, double* state);
// Folds keys [j0, j1) into the state.
void linear_add_keys(const SequencePlan& p, const float* const* k, const float* const* v, int j0, int j1,
                     double* state);
// Output rows [q0, q1): for the causal form, key i is folded in before query
// i is answered (keys past the last one are simply absent).
void run_linear(const SequencePlan& p, double eps, const float* const* q, const float* const* k,
                const float* const* v, int q0, int q1, double* state, float* out);

}  // namespace rvj::runtime
