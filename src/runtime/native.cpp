#include "runtime/native.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "ir/ir.h"
#include "runtime/rescue.h"

namespace rvj::runtime {

namespace {
// One reduction of the canonical order with P partials (a power of two):
// element i goes to partial i mod P by a fused multiply-add, then halving.
// The inner loop over P partials vectorises; each clone keeps every
// partial's chain of fmas, so every clone gives the same bits.
enum class Red { Dot, SqDist, SqNorm };

// RVJ_NATIVE_ONE_ISA builds the loop for the compiler's -march alone: the
// tests build it so for each ISA and check every one gives the same bits.
// (AArch64 has NEON and fma in its baseline: one version.)
#if defined(RVJ_NATIVE_ONE_ISA) || !defined(__x86_64__)
#define RVJ_NATIVE_CLONES
#else
#define RVJ_NATIVE_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#endif

template <int P, Red R, typename Acc>
RVJ_NATIVE_CLONES double reduce(const float* a, const float* b, int n) {
  Acc part[P] = {};
  int i = 0;
  for (; i + P <= n; i += P)
    for (int j = 0; j < P; ++j) {
      const Acc x = a[i + j];
      if constexpr (R == Red::Dot) {
        part[j] = std::fma(x, static_cast<Acc>(b[i + j]), part[j]);
      } else if constexpr (R == Red::SqDist) {
        const Acc d = x - static_cast<Acc>(b[i + j]);
        part[j] = std::fma(d, d, part[j]);
      } else {
        part[j] = std::fma(x, x, part[j]);
      }
    }
  for (int j = 0; i < n; ++i, ++j) {
    const Acc x = a[i];
    if constexpr (R == Red::Dot) {
      part[j] = std::fma(x, static_cast<Acc>(b[i]), part[j]);
    } else if constexpr (R == Red::SqDist) {
      const Acc d = x - static_cast<Acc>(b[i]);
      part[j] = std::fma(d, d, part[j]);
    } else {
      part[j] = std::fma(x, x, part[j]);
    }
  }
  for (int s = P / 2; s >= 1; s /= 2)
    for (int p = 0; p < s; ++p) part[p] += part[p + s];
  return static_cast<double>(part[0]);
}

// P as ir::reduction_partials gives it: 64 f32 partials for one reduction,
// 32 for several; f64 sums halve that.
void l2_distance(const float* a, const float* b, int n, const double*, double* out) {
  out[0] = std::sqrt(reduce<64, Red::SqDist, float>(a, b, n));
}

void negative_inner_product(const float* a, const float* b, int n, const double*, double* out) {
  out[0] = -reduce<64, Red::Dot, float>(a, b, n);
}

void cosine_distance(const float* a, const float* b, int n, const double*, double* out) {
  const double xy = reduce<32, Red::Dot, float>(a, b, n), xx = reduce<32, Red::SqNorm, float>(a, a, n),
               yy = reduce<32, Red::SqNorm, float>(b, b, n);
  const double cos = xy / std::sqrt(xx * yy);
  out[0] = 1.0 - std::max(std::min(cos, 1.0), -1.0);
  out[1] = xx, out[2] = yy;
}

void norm(const float* a, const float*, int n, const double*, double* out) {
  out[0] = std::sqrt(reduce<32, Red::SqNorm, double>(a, a, n));
}

void scaled_dot(const float* a, const float* b, int n, const double*, double* out) {
  out[0] = reduce<64, Red::Dot, float>(a, b, n) * (1.0 / std::sqrt(static_cast<double>(n)));
}

void cosine(const float* a, const float* b, int n, const double* params, double* out) {
  const double qq = reduce<32, Red::SqNorm, float>(a, a, n), kk = reduce<32, Red::SqNorm, float>(b, b, n),
               qk = reduce<32, Red::Dot, float>(a, b, n);
  out[0] = params[0] * (qk / std::sqrt(qq * kk));
  out[1] = qq, out[2] = kk;
}
}  // namespace

NativeFn native_kernel(const ir::Mechanism& m) {
  static const struct {
    std::string_view name;
    NativeFn fn;
  } table[] = {{"l2_distance", l2_distance}, {"negative_inner_product", negative_inner_product},
               {"cosine_distance", cosine_distance}, {"norm", norm}, {"scaled_dot", scaled_dot},
               {"cosine", cosine}};
  for (const auto& e : table)
    if (e.name == m.name) return e.fn;
  return nullptr;
}

float canonical_dot64(const float* a, const float* b, int n) {
  return static_cast<float>(reduce<64, Red::Dot, float>(a, b, n));
}
float canonical_dot32(const float* a, const float* b, int n) {
  return static_cast<float>(reduce<32, Red::Dot, float>(a, b, n));
}
float canonical_sq_norm32(const float* a, int n) { return static_cast<float>(reduce<32, Red::SqNorm, float>(a, a, n)); }

double run_native(const ir::Mechanism& m, NativeFn fn, const float* a, const float* b, int dims,
                  const double* params) {
  double out[4];
  fn(a, b, dims, params, out);
  rescue_underflow(m, a, b, dims, out, [&](const float* sa, const float* sb, double* o) { fn(sa, sb, dims, params, o); });
  if (m.check) m.check(m, out, params);
  return out[0];
}

}  // namespace rvj::runtime
