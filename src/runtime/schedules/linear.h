// The linear schedule (Katharopoulos et al. 2020): with a feature map phi
// (ir/feature_map.h: elu + 1, FAVOR+, cosFormer),
//   out_i = phi(q_i)^T S / (phi(q_i)^T z + eps),  S = sum_j phi(k_j) v_j^T,  z = sum_j phi(k_j)
// per head. The state (S, z) is built once (or as a prefix, j <= i, for the
// causal forms) and applied per query: cost O((L + S) F d_v), memory O(F d_v).
//
// Precision and order (the determinism promise): the feature maps and the
// products run in f32 on packed panels (dot_block.h: one fma chain per
// product, in a fixed order, the same bits on every ISA). Keys fold in
// chunks of kLinearChunk rows aligned to the first key: a chunk's product
// phi(K_c)^T [V_c | 1] is one f32 chain over the chunk's keys, added to the
// f64 state in chunk order. A query reads the state rounded to f32, one chain
// over the features. Threads take whole items, a group of heads through the
// chunks in order, (head, chunk) products added in chunk order, or (head,
// query block), so the thread count changes no bit.
//
// The causal forms run chunk by chunk: within a chunk the masked product
// (phi(Q_c) phi(K_c)^T, lower triangle) times V_c, across chunks the running
// state; the state is never updated row by row.
//
// The state lives in caller-provided f64 buffers so that a caller can stop
// between slices (and check for interrupts) without losing it. The linear
// family's recipes have one key head per query head.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/schedules/flash.h"

namespace rvj::runtime {

// Keys per f32 product chain (and per causal chunk). Slices passed to
// linear_add_keys and run_linear should start at multiples of it: other
// starts are correct, only rounded differently.
inline constexpr int kLinearChunk = 64;

// Doubles of state: heads x (F x value_dim + F).
size_t linear_state_size(const SequencePlan& p);
// FAVOR+'s W: how many doubles (0 for other maps), and filling them from the
// plan's seed; callers then set p.favor_w.
size_t favor_weights_size(const SequencePlan& p);
void favor_weights(const SequencePlan& p, double* W);
void linear_init(const SequencePlan& p, double* state);

// Rows per slice of a call on `threads` threads (a multiple of
// kLinearChunk, about kStepWork multiply-adds per thread): callers check
// for interrupts between slices; inside one the schedule polls
// rvj::check_cancel() per chunk.
int linear_step_rows(const SequencePlan& p, int threads);
// Bytes of working memory a call on `threads` threads adds to the state.
size_t linear_work_memory(const SequencePlan& p, int threads);

// Folds keys [j0, j1) into the state.
void linear_add_keys(const SequencePlan& p, const float* const* k, const float* const* v, int j0, int j1,
                     double* state, int threads = 1);
// Output rows [q0, q1) (out points at row q0, rows ld floats apart, ld >=
// out_dims: a caller may write straight into its result): for the causal form, keys
// [q0, q1) are folded in as the queries pass (keys past the last one are
// simply absent), so slices must come in order. A non-causal call packs the
// state first (callers with many slices pack once and use linear_query).
void run_linear(const SequencePlan& p, double eps, const float* const* q, const float* const* k,
                const float* const* v, int q0, int q1, double* state, float* out, int64_t ld, int threads = 1);

// A state rounded to f32 and packed for queries (linear_query_size floats,
// FAVOR+'s W included): built once, it answers any number of queries.
size_t linear_query_size(const SequencePlan& p);
void linear_pack_state(const SequencePlan& p, const double* state, float* packed);
// Query rows [q0, q1) (row i at position i; out points at row q0, rows ld
// floats apart) against a packed state of the non-causal form.
void linear_query(const SequencePlan& p, double eps, const float* packed, const float* const* q, int q0, int q1,
                  float* out, int64_t ld, int threads = 1);

}  // namespace rvj::runtime
