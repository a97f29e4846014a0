// The flash schedule (FlashAttention-2, Dao 2023): for each block of queries,
// walk the key blocks the mask lets some query see (the sparse part: masks
// with holes skip whole blocks); per (query, head) keep the online-softmax
// state and fold each key tile into it. Extra memory is O(block x head dim),
// never O(L x S). Normalisers other than the softmax need a query's whole
// row of logits (O(S) per thread) and run per query row.
#pragma once

#include "runtime/engine.h"
#include "runtime/schedules/plan.h"

namespace rvj::runtime {

// Computes output rows [q0, q1) into out (row-major, out_dims() each). `score`
// is bound by bind_sequence(): the score's tile kernel (the fast path: Q.K^T,
// online softmax and P.V in one generated kernel per key block), its
// single-query kernel, or its per-row kernel (scores with auxiliary checks or
// f64 sums, and the normalisers other than the softmax). With RoPE, q and k
// are the rotated rows.
void run_flash(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out);

// Rows [q0, q1) split into chunks of query_chunk() rows run on up to
// `threads` threads; out points at row q0.
void run_flash_parallel(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                        const float* const* v, int q0, int q1, float* out, int threads);

}  // namespace rvj::runtime
