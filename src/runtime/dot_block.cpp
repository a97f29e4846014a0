#include "runtime/dot_block.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rvj::runtime {

namespace {

// 12 query rows of 384 floats and a block of documents fit a 48 kB L1; a
// multiple of every register block, and dividing kDotRowPad.
constexpr int kL1Queries = 12;
static_assert(kDotRowPad % kL1Queries == 0);

// Partial p of a product is the fma chain over elements c * P + p; with W
// lanes per vector, lane group g holds partials [g W, g W + W). One group at
// a time keeps a QB x DB block of products in registers; the groups then
// fold by halving (s = P/2 .. W across groups, then within a vector), the
// order the scalar reference takes.
void block_scalar(int P, const float* q, int nq, const float* d, int nd, int stride, float* out, int64_t ld) {
  float part[64];
  for (int i = 0; i < nq; ++i)
    for (int j = 0; j < nd; ++j) {
      const float* a = q + (int64_t)i * stride;
      const float* b = d + (int64_t)j * stride;
      for (int p = 0; p < P; ++p) part[p] = 0;
      for (int c = 0; c < stride; c += P)
        for (int p = 0; p < P; ++p) part[p] = std::fma(a[c + p], b[c + p], part[p]);
      for (int s = P / 2; s >= 1; s /= 2)
        for (int p = 0; p < s; ++p) part[p] += part[p + s];
      out[i * ld + j] = part[0];
    }
}

#if defined(__x86_64__)
// The halving within one vector, written with vector extensions (GCC 12's
// extract intrinsics warn about their own undefined upper halves).
typedef float v16f __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

__attribute__((target("avx2,fma"))) inline float fold8(__m256 y) {
  const v8f v = (v8f)y;
  const v4f x = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);  // s = 4
  const v4f w = x + __builtin_shufflevector(x, x, 2, 3, 2, 3);                                          // s = 2
  return w[0] + w[1];                                                                                   // s = 1
}

__attribute__((target("avx512f"))) inline float fold16(__m512 z) {
  const v16f v = (v16f)z;
  const v8f y = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);  // s = 8
  const v4f x = __builtin_shufflevector(y, y, 0, 1, 2, 3) + __builtin_shufflevector(y, y, 4, 5, 6, 7);
  const v4f w = x + __builtin_shufflevector(x, x, 2, 3, 2, 3);
  return w[0] + w[1];
}

// One lane group of every product of a QB x DB block at a time, its
// partials in registers; the groups then fold.
template <int P>
__attribute__((target("avx512f"))) void block_avx512(const float* q, int nq, const float* d, int nd, int stride,
                                                     float* out, int64_t ld) {
  constexpr int W = 16, G = P / W, QB = 4, DB = 6;
  static_assert(kL1Queries % QB == 0 && kDotRowPad % DB == 0);
  const int chunks = stride / P;
  for (int i1 = 0; i1 < nq; i1 += kL1Queries)
    for (int j0 = 0; j0 < nd; j0 += DB)
      for (int i0 = i1; i0 < std::min(nq, i1 + kL1Queries); i0 += QB) {
      const float* qa = q + (int64_t)i0 * stride;
      const float* db = d + (int64_t)j0 * stride;
      __m512 grp[G][QB][DB];
      for (int g = 0; g < G; ++g) {
        __m512 acc[QB][DB];
        for (int a = 0; a < QB; ++a)
          for (int b = 0; b < DB; ++b) acc[a][b] = _mm512_setzero_ps();
        for (int c = 0; c < chunks; ++c) {
          const int off = c * P + g * W;
          __m512 qv[QB];
          for (int a = 0; a < QB; ++a) qv[a] = _mm512_loadu_ps(qa + a * stride + off);
          for (int b = 0; b < DB; ++b) {
            const __m512 dv = _mm512_loadu_ps(db + b * stride + off);
            for (int a = 0; a < QB; ++a) acc[a][b] = _mm512_fmadd_ps(qv[a], dv, acc[a][b]);
          }
        }
        for (int a = 0; a < QB; ++a)
          for (int b = 0; b < DB; ++b) grp[g][a][b] = acc[a][b];
      }
      for (int a = 0; a < QB && i0 + a < nq; ++a)
        for (int b = 0; b < DB && j0 + b < nd; ++b) {
          for (int s = G / 2; s >= 1; s /= 2)
            for (int g = 0; g < s; ++g) grp[g][a][b] = _mm512_add_ps(grp[g][a][b], grp[g + s][a][b]);
          out[(i0 + a) * ld + j0 + b] = fold16(grp[0][a][b]);
        }
    }
}

template <int P>
__attribute__((target("avx2,fma"))) void block_avx2(const float* q, int nq, const float* d, int nd, int stride,
                                                    float* out, int64_t ld) {
  constexpr int W = 8, G = P / W, QB = 3, DB = 4;
  const int chunks = stride / P;
  // kL1Queries query rows stay in L1 while the documents stream past them.
  for (int i1 = 0; i1 < nq; i1 += kL1Queries)
    for (int j0 = 0; j0 < nd; j0 += DB)
      for (int i0 = i1; i0 < std::min(nq, i1 + kL1Queries); i0 += QB) {
      const float* qa = q + (int64_t)i0 * stride;
      const float* db = d + (int64_t)j0 * stride;
      __m256 grp[G][QB][DB];
      for (int g = 0; g < G; ++g) {
        __m256 acc[QB][DB];
        for (int a = 0; a < QB; ++a)
          for (int b = 0; b < DB; ++b) acc[a][b] = _mm256_setzero_ps();
        for (int c = 0; c < chunks; ++c) {
          const int off = c * P + g * W;
          __m256 qv[QB];
          for (int a = 0; a < QB; ++a) qv[a] = _mm256_loadu_ps(qa + a * stride + off);
          for (int b = 0; b < DB; ++b) {
            const __m256 dv = _mm256_loadu_ps(db + b * stride + off);
            for (int a = 0; a < QB; ++a) acc[a][b] = _mm256_fmadd_ps(qv[a], dv, acc[a][b]);
          }
        }
        for (int a = 0; a < QB; ++a)
          for (int b = 0; b < DB; ++b) grp[g][a][b] = acc[a][b];
      }
      for (int a = 0; a < QB && i0 + a < nq; ++a)
        for (int b = 0; b < DB && j0 + b < nd; ++b) {
          for (int s = G / 2; s >= 1; s /= 2)
            for (int g = 0; g < s; ++g) grp[g][a][b] = _mm256_add_ps(grp[g][a][b], grp[g + s][a][b]);
          out[(i0 + a) * ld + j0 + b] = fold8(grp[0][a][b]);
        }
    }
}
#endif

DotIsa best_isa() {
#if defined(__x86_64__)
  static const DotIsa isa = __builtin_cpu_supports("avx512f")                                   ? DotIsa::Avx512
                            : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? DotIsa::Avx2
                                                                                              : DotIsa::Scalar;
  return isa;
#else
  return DotIsa::Scalar;
#endif
}

}  // namespace

bool dot_isa_available(DotIsa isa) {
  switch (isa) {
    case DotIsa::Best:
    case DotIsa::Scalar: return true;
    case DotIsa::Avx512: return best_isa() == DotIsa::Avx512;
    case DotIsa::Avx2: return best_isa() != DotIsa::Scalar;
  }
  return false;
}

void dot_block(int P, const float* q, int nq, const float* d, int nd, int stride, float* out, int64_t ld,
               DotIsa isa) {
  if (isa == DotIsa::Best) isa = best_isa();
#if defined(__x86_64__)
  if (isa == DotIsa::Avx512) return P == 64 ? block_avx512<64>(q, nq, d, nd, stride, out, ld)
                                            : block_avx512<32>(q, nq, d, nd, stride, out, ld);
  if (isa == DotIsa::Avx2) return P == 64 ? block_avx2<64>(q, nq, d, nd, stride, out, ld)
                                          : block_avx2<32>(q, nq, d, nd, stride, out, ld);
#endif
  block_scalar(P, q, nq, d, nd, stride, out, ld);
}

}  // namespace rvj::runtime
