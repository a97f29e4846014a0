// Set-level maps of the Poincare ball, for src/pg.
#pragma once

namespace rvj::runtime {

// The weighted gyromidpoint of n points of `dims` (ir/midpoint.h); weights
// null means 1 each. Throws rvj::Error for a bad curvature, a point outside
// the ball, negative or non-finite weights, or weights that are all zero.
void poincare_midpoint(const float* const* points, const float* weights, int n, int dims, double c, float* out);

// sqrt(c) * x: a point of the ball of curvature -c carried to the unit ball
// (-1), where d_c(x, y) = d_1(sqrt(c) x, sqrt(c) y) / sqrt(c). An index under
// the Poincare operator (c = 1) serves curvature c through this expression.
void poincare_rescale(const float* x, int dims, double c, float* out);

// The isometry between the ball of curvature -c and the hyperboloid
// <x,x>_L = -1/c, x0 > 0 (geoopt's Lorentz(k = 1/c)):
//   x = ((1 + c|p|^2) / sqrt(c), 2p) / (1 - c|p|^2),   p = x_{1..} / (1 + sqrt(c) x0).
// out has dims + 1 entries (to Lorentz) or dims - 1 (to the ball). f64 inside.
// Throws rvj::Error for a bad curvature, a point off its model, or a result
// out of range for float32.
void poincare_to_lorentz(const float* p, int dims, double c, float* out);
void lorentz_to_poincare(const float* x, int dims, double c, float* out);

// The product space E^e x H^h x S^s (mixed curvature): a vector's first e
// entries are Euclidean, the next h a point of the Poincare ball of curvature
// -ch, the last s (the rest) a direction on the sphere of curvature cs (the
// point x / (sqrt(cs) |x|)). The distance is sqrt(dE^2 + dH^2 + dS^2) with
// dE = |xE - yE|, dH the ball's (ruvector_hyperbolic_distance) and dS =
// angle(xS, yS) / sqrt(cs), the angle as 2 atan2(|u - v|, |u + v|) of the
// unit directions (no cancellation near 0 or pi); f64. Throws for a point outside the ball, a zero
// spherical part, dims out of range or curvatures that are not positive.
double mixed_curvature_distance(const float* x, const float* y, int dims, int e, int h, double ch, double cs);

}  // namespace rvj::runtime
