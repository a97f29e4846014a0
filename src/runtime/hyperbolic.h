// Set-level maps of the Poincare ball, for src/pg.
#pragma once

namespace rvj::runtime {

// The weighted gyromidpoint of n points of `dims` (ir/midpoint.h); weights
// null means 1 each. Throws rvj::Error for a bad curvature, a point outside
// the ball, negative or non-finite weights, or weights that are all zero.
void poincare_midpoint(const float* const* points, const float* weights, int n, int dims, double c, float* out);

}  // namespace rvj::runtime
