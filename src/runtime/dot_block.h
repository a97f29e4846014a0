// Dot products of a block of query rows with a block of document rows, as a
// register-blocked matrix product: the documents are packed in panels of 16
// (element-major), each product is one fused multiply-add chain over the
// elements in order, and a register block holds 4 queries x up to 80
// documents (AVX-512) or 24 (AVX2).
// One chain per product, in element order, is the same on every ISA (AVX-512,
// AVX2, scalar), so the products have the same bits everywhere; it is a
// different order from the per-row kernels' canonical tree (ir.h), so they
// may differ from ruvector_attention_score's in the last bits. The table
// scans of ruvector_cross_attention run here at matrix-multiply speed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "codegen/abi.h"
#include "ir/ir.h"
#include "runtime/simd.h"

namespace rvj::runtime {

inline constexpr int kPanel = ir::kPanelWidth;  // documents per panel
inline constexpr int kPanelsPerBlock = 5;     // panels per register block
inline constexpr int kQueryRows = 4;          // queries per register block
inline constexpr int kBlockWidth = kPanel * kPanelsPerBlock;

// Documents a packed block of nd holds: whole panels (the extra ones zero).
// AVX-512's register blocks take 5 panels at a time, then the 1 to 4 left.
inline int64_t panel_docs(int64_t nd) { return (nd + kPanel - 1) / kPanel * kPanel; }
// Query rows a buffer of nq must hold (the extra ones zero).
inline int64_t query_rows(int64_t nq) { return (nq + kQueryRows - 1) / kQueryRows * kQueryRows; }

// Packs nd documents (row-major, dims floats each) into panels:
// panels[(j / 16) * dims * 16 + t * 16 + j % 16] = d[j][t], zero past nd
// up to panel_docs(nd).
void pack_panels(const float* d, int nd, int dims, float* panels);

// Packs the columns [offset, offset + cols) of rows r[0..n) (each a
// pointer to floats) as documents over `rows` >= n elements:
// panels[(c / 16) * rows * 16 + t * 16 + c % 16] = r[t][offset + c], zero
// past n and past cols up to panel_docs(cols). A matrix V (keys x values)
// becomes its value columns as documents over the keys, for W V.
void pack_row_columns(const float* const* r, size_t offset, int n, int cols, int rows, float* panels);

// out[i * ld + j] = sum over t of q[i * dims + t] * d_j[t] (one fma chain,
// t ascending) for i < nq, j < nd; q holds query_rows(nq) rows of dims, out
// query_rows(nq) rows of panel_docs(nd) (its extra rows and columns are
// scratch: a version may skip a panel's zero half).
// `isa` picks a version for the tests; every version gives the same bits.
void dot_panels(const float* q, int nq, int dims, const float* panels, int nd, float* out, int64_t ld,
                SimdIsa isa = SimdIsa::Best);

// The same products with the queries stored as columns: query i's element t
// is q[t * ldq + i] (ldq >= query_rows(nq); the extra columns are read).
// The same chains, so the same bits as dot_panels on the transposed rows.
void dot_panels_columns(const float* q, int64_t ldq, int nq, int dims, const float* panels, int nd, float* out,
                        int64_t ld, SimdIsa isa = SimdIsa::Best);

// The same products through a generated panel kernel (codegen's Panel kind,
// bound by engine.h's bind_linear), or through the versions above when there
// is none (the JIT is off): the same bits either way.
struct PanelKernel {
  codegen::PanelFn fn = nullptr;
  void rows(const float* q, int nq, int dims, const float* panels, int nd, float* out, int64_t ld) const;
  void columns(const float* q, int64_t ldq, int nq, int dims, const float* panels, int nd, float* out,
               int64_t ld) const;
};

}  // namespace rvj::runtime
