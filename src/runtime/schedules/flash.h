// The flash schedule (FlashAttention-2, Dao 2023): for each block of queries,
// walk the key blocks; per (query, head) keep the online-softmax state and
// fold each key tile into it. Extra memory is O(block x head dim), never
// O(L x S). Logits come from the mechanism's per-row JIT kernel, called on
// each head's slice of the vectors.
#pragma once

#include <algorithm>
#include <vector>

#include "ir/recipes/sequence.h"
#include "runtime/engine.h"

namespace rvj::runtime {

struct SequencePlan {
  const ir::SequenceMechanism* mechanism;
  int L, S;           // queries, keys
  int dq, dk, dv;     // vector lengths of queries, keys, values
  int heads, kv_heads;
  int head_dim;       // dq / heads (= dk / kv_heads)
  int value_dim;      // dv / kv_heads: each head's slice of the output
  int block;
  bool causal;        // keys j <= i only
  int window;         // 0: none; else the sliding window (with causal: i - window < j <= i; else |i - j| <= window)
  // The keys query i sees: [first, last], empty when first > last.
  int first_key(int i) const { return window == 0 ? 0 : causal ? std::max(0, i - window + 1) : std::max(0, i - window); }
  int last_key(int i) const {
    int last = causal ? std::min(S - 1, i) : S - 1;
    return window != 0 && !causal ? std::min(last, i + window) : last;
  }
  int out_dims() const { return heads * value_dim; }
};

// Checks the shapes against the mechanism and its params (schedule params
// first, then the score's), and throws rvj::Error naming what is wrong.
SequencePlan plan_sequence(const ir::SequenceMechanism& m, const double* params, int L, int S, int dq, int dk, int dv);

// Extra memory one thread uses for a query block (states, O, logits).
size_t block_memory(const SequencePlan& p);

// Computes output rows [q0, q1) into out (row-major, out_dims() each). `score`
// is bound by bind_sequence(): the score's tile kernel (the fast path: Q.K^T,
// online softmax and P.V in one generated kernel per key block), or its
// per-row kernel (scores with auxiliary checks or f64 sums). Plain
// buffers only: callers slice the work to stay cancellable.
void run_flash(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out);

// Rows [q0, q1) split into query blocks run on up to `threads` threads; out
// points at row q0.
void run_flash_parallel(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                        const float* const* v, int q0, int q1, float* out, int threads);

}  // namespace rvj::runtime
