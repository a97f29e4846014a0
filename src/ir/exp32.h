// exp(x) for x <= 0 in f32, as the flash tile's softmax computes it: Cephes'
// expf (Moshier), range reduction by ln 2 in two parts and a degree-5
// polynomial, about 1 ulp. Written down once here: codegen emits exactly
// these operations on vectors and the interpreter runs them on scalars, so
// both give the same bits on every target.
//   xc = x < kMin ? kMin : x                 (x below kMin, and -inf, give 0)
//   n  = rint(xc * kLog2e)
//   r  = fma(-n, kLn2Hi, xc); r = fma(-n, kLn2Lo, r)
//   p  = kPoly[0]; p = fma(p, r, kPoly[i]) for i = 1..5
//   y  = fma(p, r * r, r) + 1
//   n' = n clamped to [-126, 0] (NaN -> -126), 2^n' built from its bits
//   exp32(x) = x < kMin ? 0 : y * 2^n'       (NaN stays NaN)
// Callers pass x <= 0 (a logit minus its row's max), so n is in [-126, 0]
// and the clamp changes nothing; AVX-512 code computes y * 2^n with
// vscalefps, the same correctly rounded product.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace rvj::ir::exp_f32 {

inline constexpr float kMin = -87.0f;  // exp(-87) is still a normal float
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

// The scalar form, for the interpreter and the native loops (compile them
// with -ffp-contract=off so no other operation fuses).
inline float exp32(float x) {
  const float xc = x < kMin ? kMin : x;
  const float n = std::rint(xc * kLog2e);
  float r = std::fma(-n, kLn2Hi, xc);
  r = std::fma(-n, kLn2Lo, r);
  float p = kPoly[0];
  for (int i = 1; i < 6; ++i) p = std::fma(p, r, kPoly[i]);
  const float r2 = r * r;
  const float y = std::fma(p, r2, r) + 1.0f;
  float nc = n >= -126.0f ? n : -126.0f;
  nc = nc <= 0.0f ? nc : 0.0f;
  const int32_t bits = (static_cast<int32_t>(nc) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < kMin ? 0.0f : y * scale;
}

// sigmoid(x) in f32: exp32 of -|x| (always <= 0), then e / (1 + e) below 0
// or 1 / (1 + e) from 0; one division. The sigmoid tile kernel emits these
// operations on vectors (emit_sigmoid32, lower_tile.cpp).
inline float sigmoid32(float x) {
  const float e = exp32(x > 0.0f ? -x : x);
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

}  // namespace rvj::ir::exp_f32
