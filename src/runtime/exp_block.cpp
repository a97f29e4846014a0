#include "runtime/exp_block.h"

#include "ir/exp32.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12's AVX-512 headers pass _mm512_undefined_ps() as the unused source
// of masked builtins and then warn about it where they are inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rvj::runtime {

namespace {

using namespace rvj::ir::exp_f32;

#if defined(__x86_64__)
// exp32.h step by step: fnmadd(n, c, x) is fma(-n, c, x) exactly.
__attribute__((target("avx512f"))) void block_avx512(const float* x, float* out, int n) {
  const __m512 kmin = _mm512_set1_ps(kMin);
  int j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_loadu_ps(x + j);
    const __m512 xc = _mm512_max_ps(v, kmin);
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Hi), xc);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Lo), r);
    __m512 p = _mm512_set1_ps(kPoly[0]);
    for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kPoly[i]));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512 kc = _mm512_min_ps(_mm512_max_ps(k, _mm512_set1_ps(-126.0f)), _mm512_setzero_ps());
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(kc), _mm512_set1_epi32(127)), 23);
    const __mmask16 below = _mm512_cmp_ps_mask(v, kmin, _CMP_LT_OQ);
    _mm512_storeu_ps(out + j, _mm512_maskz_mov_ps((__mmask16)~below, _mm512_mul_ps(y, _mm512_castsi512_ps(bits))));
  }
  for (; j < n; ++j) out[j] = exp32(x[j]);
}

__attribute__((target("avx2,fma"))) void block_avx2(const float* x, float* out, int n) {
  const __m256 kmin = _mm256_set1_ps(kMin);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    const __m256 xc = _mm256_max_ps(v, kmin);
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2Hi), xc);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kLn2Lo), r);
    __m256 p = _mm256_set1_ps(kPoly[0]);
    for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kPoly[i]));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256 kc = _mm256_min_ps(_mm256_max_ps(k, _mm256_set1_ps(-126.0f)), _mm256_setzero_ps());
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(kc), _mm256_set1_epi32(127)), 23);
    const __m256 below = _mm256_cmp_ps(v, kmin, _CMP_LT_OQ);
    _mm256_storeu_ps(out + j, _mm256_andnot_ps(below, _mm256_mul_ps(y, _mm256_castsi256_ps(bits))));
  }
  for (; j < n; ++j) out[j] = exp32(x[j]);
}
#endif

}  // namespace

void exp32_block(const float* x, float* out, int n, SimdIsa isa) {
  isa = simd_resolve(isa);
#if defined(__x86_64__)
  if (isa == SimdIsa::Avx512) return block_avx512(x, out, n);
  if (isa == SimdIsa::Avx2) return block_avx2(x, out, n);
#endif
  for (int j = 0; j < n; ++j) out[j] = exp32(x[j]);
}

}  // namespace rvj::runtime
