#include "runtime/vector_math.h"

#include <cmath>
#include <limits>

namespace rvj::runtime {

double l2_squared(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) {
    float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

double inner_product(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

double cosine_distance(const float* a, const float* b, int n) {
  float ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  double denom = std::sqrt(static_cast<double>(aa) * static_cast<double>(bb));
  if (denom == 0) return std::numeric_limits<double>::quiet_NaN();
  double sim = ab / denom;
  // Keep in [-1, 1] despite rounding.
  if (sim > 1) sim = 1;
  if (sim < -1) sim = -1;
  return 1 - sim;
}

double norm(const float* a, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += static_cast<double>(a[i]) * a[i];
  return std::sqrt(s);
}

}  // namespace rvj::runtime
