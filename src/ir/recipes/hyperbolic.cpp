// Hyperbolic family (geoopt's PoincareBall convention: curvature -c).
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ir/errors.h"
#include "ir/recipes/mechanisms.h"

namespace rvj::ir {

// d_c(x, y) = (1/sqrt c) arcosh(1 + 2c|x-y|^2 / ((1 - c|x|^2)(1 - c|y|^2))).
// arcosh(1 + z) is written log1p(z + sqrt(z(z + 2))) so that it stays exact
// for nearby points, where 1 + z rounds to 1. Sums are f64: near the
// boundary 1 - c|x|^2 cancels, and f32 sums would lose the digits we report.
int poincare_distance(Builder& b, int x, int y, int c, int* cxx_out, int* cyy_out) {
  // One statement per node: C++ leaves the order of nested calls unspecified,
  // and the printed IR (hence its hash) must not depend on the compiler.
  using P = Precision;
  int xx = b.sq_norm(x, P::F64);
  int yy = b.sq_norm(y, P::F64);
  int dd = b.sq_dist(x, y, P::F64);
  int one = b.constant(1.0);
  int two = b.constant(2.0);
  int cxx = b.mul(c, xx);
  int cyy = b.mul(c, yy);
  int gx = b.sub(one, cxx);
  int gy = b.sub(one, cyy);
  int denom = b.mul(gx, gy);
  int two_c = b.mul(two, c);
  int num = b.mul(two_c, dd);
  int z = b.div(num, denom);
  int z2 = b.add(z, two);
  int zz = b.mul(z, z2);
  int root = b.sqrt(zz);
  int arg = b.add(z, root);
  int acosh = b.log1p(arg);
  int sqrt_c = b.sqrt(c);
  *cxx_out = cxx;
  *cyy_out = cyy;
  return b.div(acosh, sqrt_c);
}

Function build_poincare_distance(int dims) {
  Builder b("poincare_distance", dims);
  int x = b.input(), y = b.input(), c = b.param();
  int cxx, cyy;
  b.output(poincare_distance(b, x, y, c, &cxx, &cyy));
  b.output(cxx);
  b.output(cyy);
  return b.finish();
}

// poincare attention score (Gulcehre et al. 2019): -beta * d_c(q, k) - gamma.
Function build_poincare(int dims) {
  Builder b("poincare", dims);
  int q = b.input(), k = b.input();
  int c = b.param(), beta = b.param(), gamma = b.param();
  int cxx, cyy;
  int d = poincare_distance(b, q, k, c, &cxx, &cyy);
  int bd = b.mul(beta, d);
  int nbd = b.neg(bd);
  b.output(b.sub(nbd, gamma));
  b.output(cxx);
  b.output(cyy);
  return b.finish();
}

namespace {
// cxx[i] is c|x_i|^2 for input i; every input must lie inside the ball.
void check_in_ball(const Mechanism& m, const double* cxx, int inputs) {
  for (int i = 0; i < inputs; ++i) {
    double v = cxx[i];
    if (!(v < 1.0)) {
      char msg[256];
      std::snprintf(msg, sizeof msg, "%s is not inside the Poincare ball: c*||%s||^2 = %.9g",
                    m.input_names[i], m.input_names[i], v);
      throw Error(ErrorKind::DataException, msg,
                  "Points of the Poincare ball with curvature -c satisfy c*||x||^2 < 1; "
                  "map Euclidean vectors in with expmap0 or rescale them.");
    }
  }
}
}  // namespace

// out[1], out[2] hold c|x|^2 and c|y|^2; params[0] is c.
void check_poincare(const Mechanism& m, const double* out, const double*) { check_in_ball(m, out + 1, 2); }

// The maps (geoopt's PoincareBall(c) with project=False). They run in f64
// on f32 inputs and write an f32 vector. No projection onto the ball: a
// result is what the formula gives, rounded once to f32 (expmap0 of a long
// vector lands on the boundary, as in geoopt without projection).
//
// expmap0 and logmap0 are u * f(r) / r with r = sqrt(c |u|^2) = sqrt(c) |u|.
// r is guarded from below by 1e-15 (geoopt clamps |u| the same way): at u = 0
// the scale f(1e-15) / 1e-15 is finite (within an ulp of 1), so the result is
// exactly 0 instead of 0/0; for 0 < r < 1e-15, f(r) / r rounds to 1 as well.
namespace {
constexpr double kNormFloor = 1e-15;

// u * f(r') / r' with r' = max(sqrt(c|u|^2), kNormFloor); *cuu_out = c|u|^2.
int origin_map(Builder& b, int u, int c, bool inverse, int* cuu_out) {
  int uu = b.sq_norm(u, Precision::F64);
  int cuu = b.mul(c, uu);
  int r = b.sqrt(cuu);
  int floor = b.constant(kNormFloor);
  int rg = b.max(r, floor);
  int f = inverse ? b.atanh(rg) : b.tanh(rg);
  int s = b.div(f, rg);
  *cuu_out = cuu;
  return b.scale(u, s);
}
}  // namespace

// expmap0(u) = tanh(sqrt(c)|u|) u / (sqrt(c)|u|): the tangent space at the
// origin into the ball.
Function build_poincare_expmap0(int dims) {
  Builder b("poincare_expmap0", dims);
  int u = b.input(), c = b.param();
  int cuu;
  b.output_vec(origin_map(b, u, c, false, &cuu));
  return b.finish();
}

// logmap0(y) = artanh(sqrt(c)|y|) y / (sqrt(c)|y|), its inverse. out[0] is
// c|y|^2 for the check. r = sqrt(c|y|^2) < 1 whenever c|y|^2 < 1 (sqrt is
// correctly rounded), so artanh stays finite for every point the check admits.
Function build_poincare_logmap0(int dims) {
  Builder b("poincare_logmap0", dims);
  int y = b.input(), c = b.param();
  int cyy;
  int v = origin_map(b, y, c, true, &cyy);
  b.output(cyy);
  b.output_vec(v);
  return b.finish();
}

// x (+) y = ((1 + 2c<x,y> + c|y|^2) x + (1 - c|x|^2) y) / (1 + 2c<x,y> + c^2|x|^2|y|^2).
// The two coefficients are divided once, then x and y are scaled and added
// elementwise. The denominator is positive for points of the ball; rounding
// can take it to 0 when both are at the boundary, so it is clamped at 1e-15
// as geoopt does. out[0], out[1] are c|x|^2, c|y|^2 for the check. Sums f64.
Function build_poincare_mobius_add(int dims) {
  using P = Precision;
  Builder b("poincare_mobius_add", dims);
  int x = b.input(), y = b.input(), c = b.param();
  int xx = b.sq_norm(x, P::F64);
  int yy = b.sq_norm(y, P::F64);
  int xy = b.dot(x, y, P::F64);
  int one = b.constant(1.0);
  int two = b.constant(2.0);
  int cxx = b.mul(c, xx);
  int cyy = b.mul(c, yy);
  int cxy = b.mul(c, xy);
  int two_cxy = b.mul(two, cxy);
  int base = b.add(one, two_cxy);
  int coef_x = b.add(base, cyy);
  int coef_y = b.sub(one, cxx);
  int cc = b.mul(cxx, cyy);
  int denom = b.add(base, cc);
  int floor = b.constant(1e-15);
  int dg = b.max(denom, floor);
  int sx = b.div(coef_x, dg);
  int sy = b.div(coef_y, dg);
  int vx = b.scale(x, sx);
  int vy = b.scale(y, sy);
  int sum = b.add_vec(vx, vy);
  b.output(cxx);
  b.output(cyy);
  b.output_vec(sum);
  return b.finish();
}

// Every scalar output is c|x|^2 of one input (logmap0, mobius_add).
void check_poincare_points(const Mechanism& m, const double* out, const double*) {
  check_in_ball(m, out, static_cast<int>(m.input_names.size()));
}

// The hyperboloid <x,x>_L = -k with x0 > 0 (geoopt's Lorentz(k), curvature
// -1/k), where <x,y>_L = -x0 y0 + sum_{i>=1} x_i y_i = x.y - 2 x0 y0 (f64).
// d = sqrt(k) arcosh(-<x,y>_L / k), with arcosh(z) = log1p((z - 1) +
// sqrt((z - 1)(z + 1))) and z - 1 = (-<x,y>_L - k) / k floored at 0
// (rounding may put near points a hair below 1).
namespace {
struct LorentzPair {
  int two, xx, yy, x0, y0;
};

int minkowski(Builder& b, const LorentzPair& p, int dot, int u0, int v0) {
  return b.sub(dot, b.mul(p.two, b.mul(u0, v0)));
}

int lorentz_distance(Builder& b, int x, int y, int k, LorentzPair* p) {
  p->two = b.constant(2);
  int zero = b.constant(0);
  int xy = b.dot(x, y, Precision::F64);
  p->xx = b.sq_norm(x, Precision::F64);
  p->yy = b.sq_norm(y, Precision::F64);
  p->x0 = b.element(x, 0);
  p->y0 = b.element(y, 0);
  int zm1 = b.max(zero, b.div(b.sub(b.neg(minkowski(b, *p, xy, p->x0, p->y0)), k), k));
  int arcosh = b.log1p(b.add(zm1, b.sqrt(b.mul(zm1, b.add(zm1, p->two)))));
  return b.mul(b.sqrt(k), arcosh);
}

// Outputs for check_lorentz: (<x,x>_L + k) / (x.x + k) and the same for y
// (each point's relative distance from the hyperboloid), then min(x0, y0).
void lorentz_check_outputs(Builder& b, const LorentzPair& p, int k) {
  b.output(b.div(b.add(minkowski(b, p, p.xx, p.x0, p.x0), k), b.add(p.xx, k)));
  b.output(b.div(b.add(minkowski(b, p, p.yy, p.y0, p.y0), k), b.add(p.yy, k)));
  b.output(b.min(p.x0, p.y0));
}
}  // namespace

// lorentz attention score: -beta d - gamma on Lorentz(k).
Function build_lorentz(int dims) {
  Builder b("lorentz", dims);
  int x = b.input(), y = b.input(), k = b.param(), beta = b.param(), gamma = b.param();
  LorentzPair p;
  int dist = lorentz_distance(b, x, y, k, &p);
  b.output(b.sub(b.neg(b.mul(beta, dist)), gamma));
  lorentz_check_outputs(b, p, k);
  return b.finish();
}

// ruvector_lorentz_distance(a, b, curvature): the same distance with the
// curvature -c of the other hyperbolic functions, so k = 1/c.
Function build_lorentz_distance(int dims) {
  Builder b("lorentz_distance", dims);
  int x = b.input(), y = b.input(), c = b.param();
  int k = b.div(b.constant(1), c);
  LorentzPair p;
  b.output(lorentz_distance(b, x, y, k, &p));
  lorentz_check_outputs(b, p, k);
  return b.finish();
}

void check_lorentz(const Mechanism& m, const double* out, const double*) {
  // The score names the hyperboloid by k, the distance by the curvature -c.
  const bool by_k = std::strcmp(m.name, "lorentz_distance") != 0;
  for (int i = 0; i < 2; ++i)
    if (!(std::fabs(out[1 + i]) <= kHyperboloidTolerance)) {
      char msg[256];
      std::snprintf(msg, sizeof msg, "%s is not on the hyperboloid <x,x>_L = %s (relative deviation %.3g)",
                    m.input_names[i], by_k ? "-k" : "-1/c", out[1 + i]);
      throw Error(ErrorKind::DataException, msg,
                  by_k ? "Points of geoopt's Lorentz(k) satisfy -x0^2 + x1^2 + ... = -k with x0 > 0, to float32 "
                         "precision (relative deviation at most 1e-5)."
                       : "Points of the hyperboloid of curvature -c satisfy -x0^2 + x1^2 + ... = -1/c with x0 > 0, "
                         "to float32 precision (relative deviation at most 1e-5); ruvector_poincare_to_lorentz "
                         "maps points of the ball there.");
    }
  if (!(out[3] > 0))
    throw Error(ErrorKind::DataException, "a point with x0 <= 0 is on the lower sheet, not the hyperboloid model",
                "The Lorentz model uses the upper sheet: x0 > 0.");
}

}  // namespace rvj::ir
