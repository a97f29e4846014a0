// Retention (Sun et al. 2023, RetNet, eqs. 5-6): per head h,
//   o_n = sum over m <= n of gamma_h^(n-m) (q_n . k_m) v_m,
// with gamma_h the plan's gamma, or RetNet's 1 - 2^(-5-h). No normaliser.
// Two forms that agree: the parallel one (each query over its keys) and the
// recurrent one (a d x d_v state per head, S_n = gamma S_(n-1) + k_n^T v_n,
// o_n = q_n S_n). f64 throughout; rounded to f32 once.
#pragma once

#include "runtime/schedules/plan.h"

namespace rvj::runtime {

double retention_gamma(const SequencePlan& p, int head);

// The parallel form for queries [q0, q1): out rows of out_dims().
void run_retention(const SequencePlan& p, const float* const* q, const float* const* k, const float* const* v,
                   int q0, int q1, float* out);

// The recurrent form for every query, in order: state holds heads x d x d_v
// doubles (zeroed here). Polls cancels per position.
void run_retention_recurrent(const SequencePlan& p, const float* const* q, const float* const* k,
                             const float* const* v, double* state, float* out);

}  // namespace rvj::runtime
