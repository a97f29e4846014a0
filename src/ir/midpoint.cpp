#include "ir/midpoint.h"

#include <algorithm>
#include <cmath>

namespace rvj::ir {

bool poincare_midpoint_terms(const float* x, int dims, double c, double* out) {
  double xx = 0;
  for (int i = 0; i < dims; ++i) xx += static_cast<double>(x[i]) * x[i];
  if (!(c * xx < 1)) return false;
  const double gamma = 2 / (1 - c * xx);
  for (int i = 0; i < dims; ++i) out[i] = gamma * x[i];
  out[dims] = gamma - 1;
  return true;
}

void poincare_midpoint_finish(const double* sum_terms, int dims, double c, double* out) {
  double den = sum_terms[dims];
  if (std::fabs(den) < 1e-10) den = den < 0 ? -1e-10 : 1e-10;  // geoopt's clamp_abs
  double tt = 0;
  for (int i = 0; i < dims; ++i) tt += (sum_terms[i] / den) * (sum_terms[i] / den);
  const double norm = std::max(std::sqrt(tt), 1e-15), sc = std::sqrt(c);
  const double scale = std::tanh(std::atanh(sc * norm) / 2) / sc / norm;
  for (int i = 0; i < dims; ++i) out[i] = sum_terms[i] / den * scale;
}

}  // namespace rvj::ir
