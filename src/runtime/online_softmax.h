// The online-softmax state (m, l, O) of FlashAttention-2 (Dao 2023, Alg. 1):
// m the running max logit, l the sum of exp(logit - m), O the sum of
// exp(logit - m) * v. Adding a key and merging two states are exact
// rewrites of softmax(logits) . V, so attention over a table can be split
// across parallel workers and merged. Plain arrays, so the state can live in
// PostgreSQL memory; f64 throughout.
#pragma once

#include <cstddef>

namespace rvj::runtime {

struct SoftmaxState {
  double m;  // -inf while empty
  double l;  // 0 while empty
};
// O[dv] is passed beside the state, so callers choose where it lives.

void softmax_init(SoftmaxState& s, double* o, int dv);
void softmax_add(SoftmaxState& s, double* o, int dv, double logit, const float* v);
// A tile of n keys at once (FlashAttention-2's step): one rescale per tile.
// v[j] points at key j's value (dv floats, starting at that head's slice).
void softmax_add_block(SoftmaxState& s, double* o, int dv, const double* logits, const float* const* v, int n);
// s += t (t's O in `to`).
void softmax_merge(SoftmaxState& s, double* o, const SoftmaxState& t, const double* to, int dv);
// out = O / l. False when the state is empty (no keys).
bool softmax_finish(const SoftmaxState& s, const double* o, int dv, float* out);

// softmax of n logits into weights (f64, max-subtracted); false if n == 0.
bool softmax(const double* logits, int n, double* weights);

}  // namespace rvj::runtime
