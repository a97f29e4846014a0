#include "runtime/hyperbolic.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ir/errors.h"
#include "ir/midpoint.h"
#include "ir/recipes/mechanisms.h"
#include "runtime/engine.h"

namespace rvj::runtime {

namespace {
void check_curvature(double c) {
  if (!(std::isfinite(c) && c > 0))
    throw Error(ErrorKind::InvalidArgument, "curvature must be a finite number greater than 0",
                "The models have curvature -c; geoopt's PoincareBall(c) and Lorentz(k = 1/c) need c > 0.");
}

std::string g3(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

void store(const double* v, int n, float* out) {
  for (int d = 0; d < n; ++d) {
    out[d] = static_cast<float>(v[d]);
    if (!std::isfinite(out[d])) throw Error(ErrorKind::DataException, "the mapped point is out of range for type real");
  }
}
}  // namespace

void poincare_midpoint(const float* const* points, const float* weights, int n, int dims, double c, float* out) {
  check_curvature(c);
  std::vector<double> sum(dims + 1, 0.0), terms(dims + 1), mid(dims);
  bool any = false;
  for (int i = 0; i < n; ++i) {
    const double w = weights ? weights[i] : 1.0;
    if (!(std::isfinite(w) && w >= 0))
      throw Error(ErrorKind::DataException, "weight " + std::to_string(i + 1) + " must be finite and not negative");
    if (!ir::poincare_midpoint_terms(points[i], dims, c, terms.data()))
      throw Error(ErrorKind::DataException, "point " + std::to_string(i + 1) + " is not inside the Poincare ball",
                  "Points of the ball of curvature -c have c |x|^2 < 1.");
    for (int d = 0; d <= dims; ++d) sum[d] += w * terms[d];
    any |= w > 0;
  }
  if (!any) throw Error(ErrorKind::DataException, "the weights must not all be zero");
  ir::poincare_midpoint_finish(sum.data(), dims, c, mid.data());
  store(mid.data(), dims, out);
}

void poincare_rescale(const float* x, int dims, double c, float* out) {
  check_curvature(c);
  const double r = std::sqrt(c);
  for (int i = 0; i < dims; i++) out[i] = static_cast<float>(r * x[i]);
  check_finite_result("rescaled point", out, static_cast<size_t>(dims));
}

void poincare_to_lorentz(const float* p, int dims, double c, float* out) {
  check_curvature(c);
  double pp = 0;
  for (int d = 0; d < dims; ++d) pp += static_cast<double>(p[d]) * p[d];
  const double cpp = c * pp;
  if (!(cpp < 1))
    throw Error(ErrorKind::DataException, "the point is not inside the Poincare ball: c*||p||^2 = " + g3(cpp),
                "Points of the ball of curvature -c have c |p|^2 < 1.");
  std::vector<double> x(dims + 1);
  const double g = 1 - cpp;
  x[0] = (1 + cpp) / (g * std::sqrt(c));
  for (int d = 0; d < dims; ++d) x[d + 1] = 2 * static_cast<double>(p[d]) / g;
  store(x.data(), dims + 1, out);
}

double mixed_curvature_distance(const float* x, const float* y, int dims, int e, int h, double ch, double cs) {
  if (e < 0 || h < 0 || e + h > dims)
    throw Error(ErrorKind::InvalidArgument,
                "euclidean_dims " + std::to_string(e) + " and hyperbolic_dims " + std::to_string(h) +
                    " do not fit vectors of " + std::to_string(dims) + " dimensions",
                "The spherical part is the rest: euclidean_dims + hyperbolic_dims must be at most the dimensions.");
  check_curvature(ch);
  if (!(std::isfinite(cs) && cs > 0))
    throw Error(ErrorKind::InvalidArgument, "spherical_curvature must be a finite number greater than 0",
                "The sphere of curvature c has radius 1 / sqrt(c).");
  double dE2 = 0;
  for (int t = 0; t < e; ++t) dE2 += ((double)x[t] - y[t]) * ((double)x[t] - y[t]);
  double dH = 0;
  if (h > 0) {
    double xx = 0, yy = 0, dd = 0;
    for (int t = e; t < e + h; ++t) {
      xx += (double)x[t] * x[t];
      yy += (double)y[t] * y[t];
      dd += ((double)x[t] - y[t]) * ((double)x[t] - y[t]);
    }
    if (!(ch * xx < 1) || !(ch * yy < 1))
      throw Error(ErrorKind::DataException, "the hyperbolic part is not inside the Poincare ball",
                  "Entries euclidean_dims .. euclidean_dims + hyperbolic_dims - 1 must satisfy c |x|^2 < 1.");
    // arcosh(1 + z) as log1p(z + sqrt(z (z + 2))), as the ball's distance kernel computes it
    const double z = 2 * ch * dd / ((1 - ch * xx) * (1 - ch * yy));
    dH = std::log1p(z + std::sqrt(z * (z + 2))) / std::sqrt(ch);
  }
  double dS = 0;
  if (e + h < dims) {
    double xx = 0, yy = 0;
    for (int t = e + h; t < dims; ++t) {
      xx += (double)x[t] * x[t];
      yy += (double)y[t] * y[t];
    }
    if (!(xx > 0) || !(yy > 0))
      throw Error(ErrorKind::DataException, "the spherical part is a zero vector, which has no direction",
                  "The entries past euclidean_dims + hyperbolic_dims give a direction on the sphere.");
    // The angle as 2 atan2(|u - v|, |u + v|) of the unit vectors (Kahan): no
    // cancellation for near or opposite directions.
    const double nx = std::sqrt(xx), ny = std::sqrt(yy);
    double diff = 0, sum = 0;
    for (int t = e + h; t < dims; ++t) {
      const double u = x[t] / nx, v = y[t] / ny;
      diff += (u - v) * (u - v);
      sum += (u + v) * (u + v);
    }
    dS = 2 * std::atan2(std::sqrt(diff), std::sqrt(sum)) / std::sqrt(cs);
  }
  return std::sqrt(dE2 + dH * dH + dS * dS);
}

void lorentz_to_poincare(const float* x, int dims, double c, float* out) {
  check_curvature(c);
  if (dims < 2)
    throw Error(ErrorKind::DataException, "a point of the hyperboloid needs at least 2 dimensions, x0 and one more",
                "ruvector_poincare_to_lorentz maps a ball point of n dimensions to n + 1.");
  const double k = 1 / c;
  double xx = 0;
  for (int d = 0; d < dims; ++d) xx += static_cast<double>(x[d]) * x[d];
  const double x0 = x[0], dev = (xx - 2 * x0 * x0 + k) / (xx + k);
  if (!(std::fabs(dev) <= ir::kHyperboloidTolerance) || !(x0 > 0))
    throw Error(ErrorKind::DataException,
                x0 > 0 ? "the point is not on the hyperboloid <x,x>_L = -1/c (relative deviation " + g3(dev) + ")"
                       : std::string("a point with x0 <= 0 is on the lower sheet, not the hyperboloid model"),
                "Points of the hyperboloid of curvature -c satisfy -x0^2 + x1^2 + ... = -1/c with x0 > 0, to float32 "
                "precision (relative deviation at most 1e-5).");
  std::vector<double> p(dims - 1);
  const double s = 1 + std::sqrt(c) * x0;
  for (int d = 1; d < dims; ++d) p[d - 1] = x[d] / s;
  store(p.data(), dims - 1, out);
}

}  // namespace rvj::runtime
