// Set-level maps of the Poincare ball, for src/pg.
#pragma once

namespace rvj::runtime {

// The weighted gyromidpoint of n points of `dims` (ir/midpoint.h); weights
// null means 1 each. Throws rvj::Error for a bad curvature, a point outside
// the ball, negative or non-finite weights, or weights that are all zero.
void poincare_midpoint(const float* const* points, const float* weights, int n, int dims, double c, float* out);

// The isometry between the ball of curvature -c and the hyperboloid
// <x,x>_L = -1/c, x0 > 0 (geoopt's Lorentz(k = 1/c)):
//   x = ((1 + c|p|^2) / sqrt(c), 2p) / (1 - c|p|^2),   p = x_{1..} / (1 + sqrt(c) x0).
// out has dims + 1 entries (to Lorentz) or dims - 1 (to the ball). f64 inside.
// Throws rvj::Error for a bad curvature, a point off its model, or a result
// out of range for float32.
void poincare_to_lorentz(const float* p, int dims, double c, float* out);
void lorentz_to_poincare(const float* x, int dims, double c, float* out);

}  // namespace rvj::runtime
