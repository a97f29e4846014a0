// Dot products of a block of query rows with a block of document rows, each
// in the canonical order of P partials (ir.h: element i feeds partial
// i mod P by a fused multiply-add, then the partials fold by halving), so
// each product has exactly the bits of the native and generated per-row
// kernels, on every ISA. Register-blocked: the table scans of
// ruvector_cross_attention run here at matrix-multiply speed.
#pragma once

#include <cstdint>

namespace rvj::runtime {

// Rows are padded: `stride` floats apart, a multiple of kDotStride, zero
// past the vector's dims; a buffer of n rows holds dot_rows(n) of them, the
// extra ones zero. Zeros add +0 to a partial, which changes no bits.
inline constexpr int kDotStride = 64;
inline constexpr int kDotRowPad = 60;  // every ISA's register block divides it
inline int dot_stride(int dims) { return (dims + kDotStride - 1) / kDotStride * kDotStride; }
inline int64_t dot_rows(int64_t n) { return (n + kDotRowPad - 1) / kDotRowPad * kDotRowPad; }

enum class DotIsa { Best, Avx512, Avx2, Scalar };

// out[i * ld + j] = dot(q row i, d row j) for i < nq, j < nd; P is 32 or
// 64 (ir::reduction_partials). `isa` picks a version for the tests; every
// version gives the same bits.
void dot_block(int P, const float* q, int nq, const float* d, int nd, int stride, float* out, int64_t ld,
               DotIsa isa = DotIsa::Best);

// Whether this CPU runs `isa` (Best and Scalar: always).
bool dot_isa_available(DotIsa isa);

}  // namespace rvj::runtime
