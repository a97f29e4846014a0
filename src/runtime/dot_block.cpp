#include "runtime/dot_block.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rvj::runtime {

namespace {

// The elements of a register block's panels that stay in L1 together
// (AVX-512's 5 panels x 96 elements x 64 bytes = 30 kB; AVX2's blocks are
// narrower): the chains pause in memory
// between element chunks, which changes no bits (each partial is a float).
constexpr int kChunk = 96;

// Query element (i, t) is q[i * qi + t * qt]: rows (qi = dims, qt = 1) or
// columns (qi = 1, qt = the column length); the same chains either way.
void panels_scalar(const float* q, int64_t qi, int64_t qt, int nq, int dims, const float* panels, int nd, float* out,
                   int64_t ld) {
  const int width = (int)panel_docs(nd);
  for (int i = 0; i < nq; ++i)
    for (int j = 0; j < width; ++j) {
      const float* p = panels + (int64_t)(j / kPanel) * dims * kPanel + j % kPanel;
      float acc = 0;
      for (int t = 0; t < dims; ++t) acc = std::fma(q[i * qi + t * qt], p[t * kPanel], acc);
      out[i * ld + j] = acc;
    }
}

#if defined(__x86_64__)
// One register block: MR queries from i0 x NB panels from j0, elements
// [t0, t1) of their chains (continued from out unless t0 == 0).
template <int NB>
__attribute__((target("avx512f"), always_inline)) inline void block_avx512(const float* q, int64_t qi, int64_t qt,
                                                                          int i0, int t0, int t1, const float* pb,
                                                                          int64_t panel_size, float* out, int64_t ld,
                                                                          int j0) {
  constexpr int MR = kQueryRows;
  __m512 acc[MR][NB];
  for (int a = 0; a < MR; ++a)
    for (int b = 0; b < NB; ++b)
      acc[a][b] = t0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(out + (i0 + a) * ld + j0 + b * kPanel);
  const float* qa = q + i0 * qi;
  for (int t = t0; t < t1; ++t) {
    __m512 dv[NB];
    for (int b = 0; b < NB; ++b) dv[b] = _mm512_loadu_ps(pb + b * panel_size + t * kPanel);
    for (int a = 0; a < MR; ++a) {
      const __m512 qv = _mm512_set1_ps(qa[a * qi + t * qt]);
      for (int b = 0; b < NB; ++b) acc[a][b] = _mm512_fmadd_ps(qv, dv[b], acc[a][b]);
    }
  }
  for (int a = 0; a < MR; ++a)
    for (int b = 0; b < NB; ++b) _mm512_storeu_ps(out + (i0 + a) * ld + j0 + b * kPanel, acc[a][b]);
}

// Blocks of 5 panels, then one block of the 1 to 4 left.
__attribute__((target("avx512f"))) void panels_avx512(const float* q, int64_t qi, int64_t qt, int nq, int dims,
                                                      const float* panels, int nd, float* out, int64_t ld) {
  const int width = (int)panel_docs(nd);
  const int64_t panel_size = (int64_t)dims * kPanel;
  for (int t0 = 0; t0 < dims; t0 += kChunk) {
    const int t1 = std::min(dims, t0 + kChunk);
    for (int j0 = 0; j0 < width; j0 += kBlockWidth) {
      const float* pb = panels + (int64_t)(j0 / kPanel) * panel_size;
      const int nb = std::min(kPanelsPerBlock, (width - j0) / kPanel);
      for (int i0 = 0; i0 < nq; i0 += kQueryRows) {
        switch (nb) {
          case 5: block_avx512<5>(q, qi, qt, i0, t0, t1, pb, panel_size, out, ld, j0); break;
          case 4: block_avx512<4>(q, qi, qt, i0, t0, t1, pb, panel_size, out, ld, j0); break;
          case 3: block_avx512<3>(q, qi, qt, i0, t0, t1, pb, panel_size, out, ld, j0); break;
          case 2: block_avx512<2>(q, qi, qt, i0, t0, t1, pb, panel_size, out, ld, j0); break;
          default: block_avx512<1>(q, qi, qt, i0, t0, t1, pb, panel_size, out, ld, j0); break;
        }
      }
    }
  }
}

// MR queries x NV vectors of 8 documents from j0. Four queries x 3 vectors:
// 12 sums, 3 document vectors and a broadcast fill AVX2's 16 registers, 7
// loads per 12 fmas; a query left over takes up to 8 vectors at a time.
template <int MR, int NV>
__attribute__((target("avx2,fma"), always_inline)) inline void block_avx2(const float* q, int64_t qi, int64_t qt,
                                                                         int i0, int t0, int t1, const float* panels,
                                                                         int64_t panel_size, float* out, int64_t ld,
                                                                         int j0) {
  __m256 acc[MR][NV];
  for (int a = 0; a < MR; ++a)
    for (int v = 0; v < NV; ++v)
      acc[a][v] = t0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(out + (i0 + a) * ld + j0 + v * 8);
  const float* qa = q + i0 * qi;
  const float* col[NV];
  for (int v = 0; v < NV; ++v) {
    const int j = j0 + v * 8;
    col[v] = panels + (int64_t)(j / kPanel) * panel_size + j % kPanel;
  }
  for (int t = t0; t < t1; ++t) {
    __m256 dv[NV];
    for (int v = 0; v < NV; ++v) dv[v] = _mm256_loadu_ps(col[v] + t * kPanel);
    for (int a = 0; a < MR; ++a) {
      const __m256 qv = _mm256_broadcast_ss(qa + a * qi + t * qt);
      for (int v = 0; v < NV; ++v) acc[a][v] = _mm256_fmadd_ps(qv, dv[v], acc[a][v]);
    }
  }
  for (int a = 0; a < MR; ++a)
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(out + (i0 + a) * ld + j0 + v * 8, acc[a][v]);
}

// Blocks of 4 queries x 24 documents, then one of the 8 or 16 left; the
// queries past the last multiple of 4 one at a time (a single query does
// not pay for four). The documents end at the next multiple of 8 (a
// panel's zero half is skipped).
__attribute__((target("avx2,fma"))) void panels_avx2(const float* q, int64_t qi, int64_t qt, int nq, int dims,
                                                     const float* panels, int nd, float* out, int64_t ld) {
  const int width = (nd + 7) / 8 * 8, whole = nq / kQueryRows * kQueryRows;
  const int64_t panel_size = (int64_t)dims * kPanel;
  for (int t0 = 0; t0 < dims; t0 += kChunk) {
    const int t1 = std::min(dims, t0 + kChunk);
    for (int j0 = 0; j0 < width; j0 += 24) {
      const int nv = std::min(3, (width - j0) / 8);
      for (int i0 = 0; i0 < whole; i0 += kQueryRows) {
        switch (nv) {
          case 3: block_avx2<kQueryRows, 3>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 2: block_avx2<kQueryRows, 2>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          default: block_avx2<kQueryRows, 1>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
        }
      }
    }
    for (int i0 = whole; i0 < nq; ++i0)
      for (int j0 = 0; j0 < width; j0 += 64) {
        switch (std::min(8, (width - j0) / 8)) {
          case 8: block_avx2<1, 8>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 7: block_avx2<1, 7>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 6: block_avx2<1, 6>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 5: block_avx2<1, 5>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 4: block_avx2<1, 4>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 3: block_avx2<1, 3>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          case 2: block_avx2<1, 2>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
          default: block_avx2<1, 1>(q, qi, qt, i0, t0, t1, panels, panel_size, out, ld, j0); break;
        }
      }
  }
}
#endif

}  // namespace

void pack_panels(const float* d, int nd, int dims, float* panels) {
  const int64_t width = panel_docs(nd);
  for (int64_t j0 = 0; j0 < width; j0 += kPanel) {
    float* p = panels + (j0 / kPanel) * dims * kPanel;
    const int n = (int)std::clamp<int64_t>(nd - j0, 0, kPanel);
    for (int t = 0; t < dims; ++t) {  // contiguous writes, 16 read streams
      for (int l = 0; l < n; ++l) p[t * kPanel + l] = d[(j0 + l) * dims + t];
      for (int l = n; l < kPanel; ++l) p[t * kPanel + l] = 0.0f;
    }
  }
}

namespace {
void dispatch(const float* q, int64_t qi, int64_t qt, int nq, int dims, const float* panels, int nd, float* out,
              int64_t ld, SimdIsa isa) {
  isa = simd_resolve(isa);
#if defined(__x86_64__)
  if (isa == SimdIsa::Avx512) return panels_avx512(q, qi, qt, nq, dims, panels, nd, out, ld);
  if (isa == SimdIsa::Avx2) return panels_avx2(q, qi, qt, nq, dims, panels, nd, out, ld);
#endif
  panels_scalar(q, qi, qt, nq, dims, panels, nd, out, ld);
}
}  // namespace

void pack_row_columns(const float* const* r, size_t offset, int n, int cols, int rows, float* panels) {
  const int64_t width = panel_docs(cols);
  for (int64_t c0 = 0; c0 < width; c0 += kPanel) {
    float* panel = panels + (c0 / kPanel) * rows * kPanel;
    const int copy = (int)std::clamp<int64_t>(cols - c0, 0, kPanel);
    for (int t = 0; t < rows; ++t) {
      float* dst = panel + (int64_t)t * kPanel;
      const int have = t < n ? copy : 0;
      if (have) std::copy(r[t] + offset + c0, r[t] + offset + c0 + have, dst);
      std::fill(dst + have, dst + kPanel, 0.0f);
    }
  }
}

void dot_panels(const float* q, int nq, int dims, const float* panels, int nd, float* out, int64_t ld,
                SimdIsa isa) {
  dispatch(q, dims, 1, nq, dims, panels, nd, out, ld, isa);
}

void dot_panels_columns(const float* q, int64_t ldq, int nq, int dims, const float* panels, int nd, float* out,
                        int64_t ld, SimdIsa isa) {
  dispatch(q, 1, ldq, nq, dims, panels, nd, out, ld, isa);
}

void PanelKernel::rows(const float* q, int nq, int dims, const float* panels, int nd, float* out, int64_t ld) const {
  if (fn)
    fn(q, dims, 1, nq, panels, nd, out, ld, dims);
  else
    dot_panels(q, nq, dims, panels, nd, out, ld);
}

void PanelKernel::columns(const float* q, int64_t ldq, int nq, int dims, const float* panels, int nd, float* out,
                          int64_t ld) const {
  if (fn)
    fn(q, 1, ldq, nq, panels, nd, out, ld, dims);
  else
    dot_panels_columns(q, ldq, nq, dims, panels, nd, out, ld);
}

}  // namespace rvj::runtime
