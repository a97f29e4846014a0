// What the flash drivers share (tile.cpp, rows.cpp, flash.cpp): scratch
// buffers, gathering key rows, the per-head score params, and the overflow
// rule. Internal to src/runtime/schedules.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "runtime/engine.h"
#include "runtime/schedules/plan.h"

namespace rvj::runtime::flash {

// 64-byte aligned scratch for a tile call (vectors load whole cache lines).
template <typename T>
struct Buffer {
  std::unique_ptr<T[], void (*)(void*)> data{nullptr, std::free};
  explicit Buffer(size_t n) {
    const size_t bytes = (std::max<size_t>(n, 1) * sizeof(T) + 63) / 64 * 64;
    data.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!data) throw std::bad_alloc();
  }
  T* get() const { return data.get(); }
};

// The key rows [from, from + n) of a block for one head, padded to nk with
// the last row (padding is masked), and their positions.
void gather_keys(const float* const* k, const float* const* v, size_t koff, size_t voff, int from, int n, int nk,
                 const float** kr, const float** vr, int32_t* kpos);

// The score's params with the schedule's per-head values (ALiBi's slope) and
// the Position slot after them.
struct HeadParams {
  double v[ir::kMaxParams + 1] = {};
  int slope = -1;
  HeadParams(const SequencePlan& p, const Bound& b);
  double* for_head(const SequencePlan& p, int h) {
    if (slope >= 0) v[slope] = ir::alibi_slope(h, p.heads);
    return v;
  }
};

// A query whose softmax saw keys but whose l is 0 had only -inf logits: its
// dot products overflowed float32 (finite inputs give no other -inf), and
// zeros would be a wrong answer. A query that sees no key gets zeros (torch
// >= 2.5 for a fully masked row).
[[noreturn]] void logits_overflowed(int i);
void check_not_overflowed(const SequencePlan& p, int i, double l);

// The drivers: output rows [q0, q1) into out (out_dims() floats each).
// Tiles: per head, groups of queries against each visible key block.
void run_tiles(const SequencePlan& p, const Bound& tile, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out);
// One query row at a time on the single-query kernel, heads [h0, h1).
void run_queries(const SequencePlan& p, const Bound& kernel, const float* const* q, const float* const* k,
                 const float* const* v, int q0, int q1, float* out, int h0, int h1);
// The per-row kernel with the online softmax (f64).
void run_rows(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
              const float* const* v, int q0, int q1, float* out);
// Normalisers other than the softmax: a query's whole row of logits.
void run_normalised(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                    const float* const* v, int q0, int q1, float* out);

}  // namespace rvj::runtime::flash
