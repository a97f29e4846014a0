// Hyperbolic family (geoopt's PoincareBall convention: curvature -c).
#include <cmath>
#include <cstdio>

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

// out[1], out[2] hold c|x|^2 and c|y|^2; params[0] is c.
void check_poincare(const Mechanism& m, const double* out, const double*) {
  for (int i = 0; i < 2; ++i) {
    double v = out[1 + i];
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

}  // namespace rvj::ir
