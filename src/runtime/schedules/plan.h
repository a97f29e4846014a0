// The plan of a sequence call, and its memory model: the mechanism's typed
// params checked against the shapes (heads, mask, normaliser, positions),
// and the working memory each schedule step needs. The drivers (tile.cpp,
// rows.cpp, linear.cpp) run a plan; they never read a parameter by name.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ir/ir.h"
#include "ir/limits.h"
#include "ir/mask.h"
#include "ir/normaliser.h"
#include "ir/recipes/sequence.h"
#include "runtime/dot_block.h"

namespace rvj::runtime {

struct SequencePlan {
  const ir::SequenceMechanism* mechanism;
  ir::SequenceParams params;  // typed and range-checked
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
  ir::Positional positional;
  // The linear schedule's feature map; FAVOR+ needs its W (num_features x
  // head_dim), which the caller fills (favor_weights) and points to here.
  // (top_k, rope_base, midpoint and its curvature, num_features and the
  // seed are read from params.)
  ir::FeatureMap features;
  const double* favor_w = nullptr;
  // The linear schedule's generated kernels, bound just before the call
  // (bind_linear; valid until the kernel cache's next lookup): the products'
  // panel kernel and the feature map's; or none, and the hand-written
  // products and maps run. The same bits either way.
  PanelKernel panel;
  codegen::FeatureFn feature_map = nullptr;
  // A third input of the score, the same for every pair (additive's v,
  // head_dim floats); the caller's memory. Per-row scores only.
  const float* score_vector = nullptr;
  int feature_dim() const { return ir::feature_dim(features, head_dim, params.num_features); }
  int first_key(int i) const { return mask.first_key(i); }
  int last_key(int i) const { return mask.last_key(i); }
  int out_dims() const { return heads * value_dim; }
};

// Checks the shapes against the mechanism and its params (`values` in the
// order of m.params: schedule params first, then the score's) and throws
// rvj::Error naming what is wrong.
SequencePlan plan_sequence(const ir::SequenceMechanism& m, const double* values, int L, int S, int dq, int dk,
                           int dv);

// Extra memory one thread uses for a query block (states, O, logits).
size_t block_memory(const SequencePlan& p);

// Queries per run_flash call of run_flash_parallel: the tile path gathers
// (and packs) each key block once per call for all its queries, so more
// queries per call amortise that; a query's result does not depend on it.
int query_chunk(const SequencePlan& p);

// Working memory of a call on `threads` threads, in bytes: the output rows
// (twice: computed, then returned as vectors),
// RoPE's rotated copies, the linear state and FAVOR+'s W, and each thread's
// step memory (block_memory). Callers add what they allocate besides (learned
// projections) and check the sum against their budget before allocating.
size_t call_memory(const SequencePlan& p, int threads);

// Whether the score runs in tile kernels: a tileable score (ir::tileable)
// under the softmax, or under the sigmoid, which weighs each key on its own
// (tile_weights says which); the other normalisers need whole rows.
bool tiled(const SequencePlan& p);
ir::TileWeights tile_weights(const SequencePlan& p);
// Whether the normaliser needs a query's whole row of logits (rows.cpp):
// not tiled, and not the softmax.
bool whole_rows(const SequencePlan& p);

// Whether a normaliser that needs whole rows takes its logits from blocked
// products (rows.cpp): a plain scaled dot product score, no third input.
bool normaliser_blocked(const SequencePlan& p);
// Queries whose logits a blocked normaliser keeps at once (about 2^20
// logits, at most a query chunk).
int normaliser_block_rows(const SequencePlan& p);

// Query rows per step of a call on `threads` threads: about kStepWork
// multiply-adds per thread, at least one row (tiles: a query chunk, or all
// rows), at most query_chunk() rows per thread. Callers check for
// interrupts between steps; inside a step the drivers poll
// rvj::check_cancel() per key block.
int step_rows(const SequencePlan& p, int threads);

// RoPE (Positional::Rope): rows[r] (dims floats, heads of head_dim) rotated
// for position r into out (n x dims floats, caller's memory). Callers rotate
// queries and keys once per call and pass the rotated rows to run_flash.
void rope_rotate_rows(const SequencePlan& p, const float* const* rows, int n, int dims, float* out);

// Upper bounds of codegen's tile shapes over all targets (lower_tile.cpp);
// the single-query kernel's buffers are smaller.
inline constexpr int kMaxTileQueries = 32, kMaxTileKeys = 16, kMaxLanes = 16;

}  // namespace rvj::runtime
