// The weighted midpoint of points in the Poincare ball (geoopt's
// PoincareBall(c).weighted_midpoint, Ungar's gyromidpoint), for weights >= 0:
//   gamma_i = 2 / (1 - c|x_i|^2)                       (the conformal factor)
//   t = sum_i w_i gamma_i x_i / clamp_abs(sum_i w_i (gamma_i - 1), 1e-10)
//   midpoint = (1/2) (x) t = tanh(artanh(sqrt(c)|t|) / 2) / sqrt(c) * t / max(|t|, 1e-15)
// The sums are split into per-point terms (gamma x, gamma - 1) so that a
// caller can accumulate them as it likes: plainly (ruvector_poincare_midpoint)
// or inside the online softmax, where the rescaling cancels in the ratio
// (hyperbolic attention's aggregation, Gulcehre et al. 2019). f64 throughout.
#pragma once

namespace rvj::ir {

// out[0..dims) = gamma x, out[dims] = gamma - 1. False when x is not inside
// the ball (c|x|^2 >= 1), and then out is untouched.
bool poincare_midpoint_terms(const float* x, int dims, double c, double* out);
// The midpoint from the summed terms: sum_terms[0..dims) and sum_terms[dims].
void poincare_midpoint_finish(const double* sum_terms, int dims, double c, double* out);

}  // namespace rvj::ir
