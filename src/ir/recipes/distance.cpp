// Distance family: the kernels behind the ruvector operators <->, <#>, <=>
// and ruvector_norm(). Written as IR like every other formula, so they share
// the canonical reduction order (same bits on every ISA) and the JIT.
#include "ir/recipes/mechanisms.h"

namespace rvj::ir {

// sqrt(sum (a-b)^2), summed in f32 as pgvector does.
Function build_l2_distance(int dims) {
  Builder b("l2_distance", dims);
  int x = b.input(), y = b.input();
  int dd = b.sq_dist(x, y);
  b.output(b.sqrt(dd));
  return b.finish();
}

// -(a.b): ascending order is descending inner product.
Function build_negative_inner_product(int dims) {
  Builder b("negative_inner_product", dims);
  int x = b.input(), y = b.input();
  int xy = b.dot(x, y);
  b.output(b.neg(xy));
  return b.finish();
}

// 1 - cos(a, b), the cosine clamped to [-1, 1] against rounding; NaN when a
// vector is zero (0/0), as pgvector. out[1], out[2] are the squared norms
// (the runtime's underflow rescue reads them).
Function build_cosine_distance(int dims) {
  Builder b("cosine_distance", dims);
  int x = b.input(), y = b.input();
  int xy = b.dot(x, y);
  int xx = b.sq_norm(x);
  int yy = b.sq_norm(y);
  int nn = b.mul(xx, yy);
  int norms = b.sqrt(nn);
  int cos = b.div(xy, norms);
  int one = b.constant(1.0);
  int minus_one = b.constant(-1.0);
  int upper = b.min(cos, one);
  int clamped = b.max(upper, minus_one);
  b.output(b.sub(one, clamped));
  b.output(xx);
  b.output(yy);
  return b.finish();
}

// sqrt(a.a), summed in f64.
Function build_norm(int dims) {
  Builder b("norm", dims);
  int x = b.input();
  int xx = b.sq_norm(x, Precision::F64);
  b.output(b.sqrt(xx));
  return b.finish();
}

}  // namespace rvj::ir
