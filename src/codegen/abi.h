// The calling conventions of generated kernels, and what a compile returns.
// Plain C ABIs: pointers, lengths, offsets, scratch; the generated code never
// allocates and never calls back. The runtime calls them, the interpreter
// (ir/interpreter.h) implements the same contracts, codegen emits them. No
// LLVM type crosses this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace rvj::codegen {

// The tile kernel ABI (Tile kind). One call folds keys [0, n) of a block into
// the state of shape.queries queries:
//   qt[t * Q + i]  element t of query i (queries transposed, zero padded)
//   k[j], v[j]     key and value rows, j < n padded to a multiple of shape.keys
//   key j is visible to query i iff lo[i] <= j < hi[i] (hi[i] <= n) and
//   vis[j * Q + i] != 0 (masks without holes pass all ones). vis is null
//   when every query sees every key: lo[i] = 0 and hi[i] = n for all Q
//   lanes, n a multiple of shape.keys (the kernel then skips the mask).
//   qpos[i], kpos[j]  positions of query i and key j (the Position op)
//   s              scratch, Q floats per padded key
//   m[i], l[i], o[i * o_stride + c]: the running state (m = -inf, l = o = 0 first)
using TileFn = void (*)(const float* qt, const float* const* k, const float* const* v, const int32_t* lo,
                        const int32_t* hi, const uint8_t* vis, const int32_t* qpos, const int32_t* kpos,
                        const double* params, float* s, float* m, double* l, double* o, int64_t n);

// The single-query ABI (Query kind): keys [0, n) of a block, key j visible
// iff vis[j] != 0, folded into one query's state:
//   q[t]           the query;  k[j] + koff, v[j] + voff: the key and value
//                  rows (a head's slice of them), j < n padded to a multiple of 16
//   qpos, kpos[j]  positions (the Position op)
//   params         the score's params and one free slot after them (the
//                  inlined row score reads its Position there)
//   s              scratch, one float per padded key
//   m, l, o[c]     the state (o: o_stride doubles, query_shape())
using QueryFn = void (*)(const float* q, const float* const* k, const float* const* v, int64_t koff, int64_t voff,
                         const uint8_t* vis, int32_t qpos, const int32_t* kpos, double* params, float* s, float* m, double* l,
                         double* o, int64_t n);

// The panel product ABI (Panel kind), rows against packed panels:
//   out[i * ld + j] = sum over t < n of a[i * ai + t * at] * panels[(j / 16) *
//   n * 16 + t * 16 + j % 16] for i < rows, j < cols: one f32 fma chain per
//   product from 0, t ascending (the rows of a: ai = n, at = 1; its columns:
//   ai = 1, at = the column length). Panels hold whole groups of 16 columns
//   (ir::kPanelWidth), zero past cols; out's columns [cols, cols rounded up to
//   16) are scratch, its rows past `rows` untouched. runtime/dot_block.h
//   implements the same contract by hand (the same bits), for calls without
//   the JIT.
using PanelFn = void (*)(const float* a, int64_t ai, int64_t at, int64_t rows, const float* panels, int64_t cols,
                         float* out, int64_t ld, int64_t n);

// The feature map ABI (Features kind): out = phi(x) for a row of n floats,
// as ir::feature_map32 computes it (c: the map's constants there; null for
// elu + 1).
using FeatureFn = void (*)(const float* x, int64_t n, float* out, const float* c);

// The kernel ABI every generated function has. A kernel with vector outputs
// writes output j (dims floats) through inputs[num_inputs + j] (ir.h).
using KernelFn = void (*)(const float* const* inputs, const double* params, double* out);

struct Compiled {
  KernelFn fn = nullptr;
  std::string symbol;
  double lower_ms = 0, opt_ms = 0, codegen_ms = 0;
  size_t object_bytes = 0;        // size of the object file the code came from
  std::string object;             // that object file, when compiled now (for the disk cache)
  std::shared_ptr<void> memory;   // owns the code: it is freed with the last copy
  double total_ms() const { return lower_ms + opt_ms + codegen_ms; }
  // A Tile (Query, Panel, Features) kernel's entry has the TileFn (QueryFn,
  // PanelFn, FeatureFn) convention instead.
  TileFn tile() const { return reinterpret_cast<TileFn>(reinterpret_cast<void (*)()>(fn)); }
  QueryFn query() const { return reinterpret_cast<QueryFn>(reinterpret_cast<void (*)()>(fn)); }
  PanelFn panel() const { return reinterpret_cast<PanelFn>(reinterpret_cast<void (*)()>(fn)); }
  FeatureFn features() const { return reinterpret_cast<FeatureFn>(reinterpret_cast<void (*)()>(fn)); }
};

struct Inspection {
  std::string optimized_ir, assembly;
};

}  // namespace rvj::codegen
