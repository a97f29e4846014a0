// The underflow rescue (ir::Scaling), shared by bound and native kernels:
// when a kernel's outputs show a float32 sum that may have underflowed, the
// kernel runs again on power-of-two scaled inputs and the result is scaled
// back. The scalings are exact, so the kernel's own arithmetic (and its bits
// on every ISA) decide the result.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ir/recipes/mechanisms.h"

namespace rvj::runtime {

// max |x[i]| (0 for n = 0) as 16 running maxima (independent lanes, which
// the compiler vectorises), then theirs: a maximum is exact in any order.
inline float max_abs(const float* x, int n) {
  float top[16] = {};
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) {
      const float a = std::fabs(x[i + l]);
      top[l] = a > top[l] ? a : top[l];
    }
  float m = 0;
  for (; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  for (float t : top) m = std::max(m, t);
  return m;
}

// 2^e with max |x| 2^e in [0.5, 1), or 1 when max |x| is not tiny.
inline double tiny_scale(const float* x, int n) {
  const float top = max_abs(x, n);
  if (top == 0 || top >= ir::kTinyEntry) return 1;
  return std::ldexp(1.0, -std::ilogb(top) - 1);
}

// Whether no entry of x is tiny enough for a rescue: a kernel's result on
// such inputs stands as computed (the blocked paths check this per row).
inline bool rescue_free(const float* x, int n) { return tiny_scale(x, n) == 1; }

// call(a, b, out) runs the kernel on two inputs of n floats.
template <typename Call>
void rescue_underflow(const ir::Mechanism& m, const float* a, const float* b, int n, double* out, Call&& call) {
  if (m.scaling == ir::Scaling::None || !m.underflowed || !m.underflowed(out)) return;
  double sa = tiny_scale(a, n), sb = tiny_scale(b, n);
  if (m.scaling == ir::Scaling::Joint) sa = sb = std::min(sa, sb);
  if (sa == 1 && sb == 1) return;  // not tiny inputs: a small result is the true one
  std::vector<float> xa(a, a + n), xb(b, b + n);
  for (float& x : xa) x = static_cast<float>(x * sa);
  for (float& x : xb) x = static_cast<float>(x * sb);
  call(xa.data(), xb.data(), out);
  switch (m.scaling) {
    case ir::Scaling::Joint: out[0] /= sa; break;
    case ir::Scaling::Each: out[0] /= sa * sb; break;
    case ir::Scaling::Invariant:
    case ir::Scaling::None: break;
  }
}

}  // namespace rvj::runtime
