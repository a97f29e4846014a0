// Linear attention over a table, as a state and queries (Katharopoulos et
// al. 2020): an aggregate folds every row's (key, value) into the per-head
// state (S = sum phi(k) v^T, z = sum phi(k)) of the linear schedule
// (schedules/linear.h), once; a query then costs O(heads F d_v), whatever
// the row count. Only feature maps that ignore row positions have a table
// form: linear (elu + 1) and performer (FAVOR+) without causal.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/schedules/linear.h"

namespace rvj::runtime {

// Whether m has a table form: the linear schedule with a feature map that
// ignores positions and no causal mask of its own (a `causal` param, when
// set, is refused by linear_table_plan). ruvector_attention_types() lists it.
bool linear_table_form(const ir::SequenceMechanism& m);

// The plan of a table state for `m` with params `values` (m's order),
// keys and queries of `dims`, values of `value_dims`. Throws rvj::Error for
// a mechanism without a table form (naming the ones with one) and for
// shapes its params do not fit.
SequencePlan linear_table_plan(const ir::SequenceMechanism& m, const double* values, int dims, int value_dims);

// (FAVOR+'s W: favor_weights_size / favor_weights, kept by the caller and
// pointed to by p.favor_w.)

// Folds one (key, value) row into state (linear_state_size(p) doubles).
void linear_table_add(const SequencePlan& p, const float* key, const float* value, double* state);
// state += other, n doubles each (states of the same plan).
void linear_table_merge(double* state, const double* other, size_t n);
// One query against a state packed by linear_pack_state (schedules/
// linear.h; callers keep it while the state does not change): out has p.out_dims() floats, the same
// bits as run_linear's for that query. Throws rvj::Error(OutOfRange) if the
// result is not finite.
void linear_table_attend(const SequencePlan& p, const float* packed, const float* query, float* out);

}  // namespace rvj::runtime
