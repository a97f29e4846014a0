// The flash schedule (FlashAttention-2, Dao 2023): for each block of queries,
// walk the key blocks the mask lets some query see (the sparse part: masks
// with holes skip whole blocks); per (query, head) keep the online-softmax
// state and fold each key tile into it. Extra memory is O(block x head dim),
// never O(L x S). Normalisers other than the softmax need a query's whole
// row of logits (O(S) per thread) and run per query row.
#pragma once

#include <algorithm>
#include <vector>

#include "ir/mask.h"
#include "ir/normaliser.h"
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
  ir::Mask mask;      // which keys query i sees (its numbers from the params)
  bool causal;        // mask.kind == Causal (the linear schedule's prefix form)
  ir::Normaliser normaliser;
  double sigmoid_bias;  // Sigmoid: given, or -ln S
  int top_k;            // TopK
  ir::Positional positional;
  double rope_base;
  // The linear schedule's feature map; FAVOR+ needs its W (num_features x
  // head_dim), which the caller fills (favor_weights) and points to here.
  bool midpoint;      // poincare: values aggregated by the weighted gyromidpoint (ir/midpoint.h)
  double curvature;   // its ball's c
  ir::FeatureMap features;
  int num_features;
  uint64_t seed;
  const double* favor_w = nullptr;
  // A third input of the score, the same for every pair (additive's v,
  // head_dim floats); the caller's memory. Per-row scores only.
  const float* score_vector = nullptr;
  int feature_dim() const { return ir::feature_dim(features, head_dim, num_features); }
  int first_key(int i) const { return mask.first_key(i); }
  int last_key(int i) const { return mask.last_key(i); }
  int out_dims() const { return heads * value_dim; }
};

// Checks the shapes against the mechanism and its params (schedule params
// first, then the score's), and throws rvj::Error naming what is wrong.
SequencePlan plan_sequence(const ir::SequenceMechanism& m, const double* params, int L, int S, int dq, int dk, int dv);

// Extra memory one thread uses for a query block (states, O, logits).
size_t block_memory(const SequencePlan& p);

// RoPE (Positional::Rope): rows[r] (dims floats, heads of head_dim) rotated
// for position r into out (n x dims floats, caller's memory). Callers rotate
// queries and keys once per call and pass the rotated rows to run_flash.
void rope_rotate_rows(const SequencePlan& p, const float* const* rows, int n, int dims, float* out);

// Computes output rows [q0, q1) into out (row-major, out_dims() each). `score`
// is bound by bind_sequence(): the score's tile kernel (the fast path: Q.K^T,
// online softmax and P.V in one generated kernel per key block), its
// single-query kernel, or its per-row kernel (scores with auxiliary checks or
// f64 sums, and the normalisers other than the softmax). With RoPE, q and k
// are the rotated rows.
void run_flash(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out);

// Rows [q0, q1) split into chunks of query_chunk() rows run on up to
// `threads` threads; out points at row q0. Callers that slice the work (to
// check for interrupts) slice by query_chunk() x threads.
int query_chunk(const SequencePlan& p);
void run_flash_parallel(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                        const float* const* v, int q0, int q1, float* out, int threads);

}  // namespace rvj::runtime
