// Head-averaged attention weights of one query over a table's rows, as
// torch.nn.MultiheadAttention averages them with identity projections:
//   w(row) = (1/H) sum_h exp(l_h - L_h),  l_h = q_h . k_h / sqrt(d / H),
// L_h the head's log-sum-exp over every row. A row's H logits are kept as
// floats; the normalisers are f64 running sums (m, s) that merge exactly,
// so a scan can be split across parallel workers.
#pragma once

#include <cstdint>

namespace rvj::runtime {

// Throws rvj::Error(InvalidArgument) unless 1 <= heads and heads divides dims.
void check_heads(int dims, int heads);

// logits[h] for h < heads: the native scaled_dot of the head's slices.
void head_logits(const float* q, const float* k, int dims, int heads, float* logits);

// The running log-sum-exp of each head: m[h] the largest logit (-inf while
// empty), s[h] the sum of exp(l - m[h]).
void lse_init(double* m, double* s, int heads);
void lse_add(double* m, double* s, const float* logits, int heads);
void lse_merge(double* m, double* s, const double* m2, const double* s2, int heads);
// lse[h] = m[h] + log s[h] (-inf for no rows).
void lse_finish(const double* m, const double* s, int heads, double* lse);

// (1/H) sum_h exp(logits[h] - lse[h]).
double head_average(const float* logits, const double* lse, int heads);

struct TopEntry;
// The same weights with the normalisers taken over n candidate rows alone
// (an index's candidates: ruvector_mha_search(exact := false)): the k best
// of rows[i] (dims floats each) with keys[i], into best (sorted, best first).
// Returns how many.
int candidate_head_weights(const float* q, const float* rows, const int64_t* keys, int n, int dims, int heads, int k,
                           TopEntry* best);

}  // namespace rvj::runtime
