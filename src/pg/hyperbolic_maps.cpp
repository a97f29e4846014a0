// ruvector_poincare_expmap0(v, curvature), ruvector_poincare_logmap0(v,
// curvature), ruvector_poincare_mobius_add(a, b, curvature): the Poincare
// ball's maps (geoopt's PoincareBall(c), curvature -c, no projection), as
// JIT-compiled kernels with a vector output.
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/vector_arrays.h"
#include "runtime/hyperbolic.h"

#include <cmath>

using namespace rvj::pg;

namespace {
// The arguments are (vectors..., curvature); the result has the first
// vector's dimensions.
Datum poincare_map(FunctionCallInfo fcinfo, const char* kernel, int vectors) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = vectors == 2 ? PG_GETARG_RUVECTOR_P(1) : nullptr;
  double c = PG_GETARG_FLOAT4(vectors);
  KernelSite* site = kernel_site(fcinfo);
  RuVector* result = new_vector(a->dim);  // palloc may ERROR: before the engine
  RVJ_ENGINE({
    if (b) rvj::runtime::check_same_dims(a->dim, b->dim);
    rvj::runtime::Bound& k = bind_site(*site, kernel, a->dim);
    k.params[0] = c;
    rvj::ir::check_params(*k.kernel->mechanism, k.params);
    rvj::runtime::run_vec(k, a->x, b ? b->x : nullptr, result->x);
  });
  PG_RETURN_RUVECTOR_P(result);
}
// ruvector_poincare_midpoint(points, [weights,] curvature): geoopt's
// weighted_midpoint (ir/midpoint.h).
Datum midpoint(FunctionCallInfo fcinfo, bool weighted) {
  ArrayType* pa = PG_GETARG_ARRAYTYPE_P(0);
  Rows points = rows_of(pa, "points", "The midpoint of no points is undefined.");
  const float* w = nullptr;
  if (weighted) {
    ArrayType* wa = PG_GETARG_ARRAYTYPE_P(1);
    if (ARR_NDIM(wa) > 1 || ARR_HASNULL(wa))
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("weights must be a 1-D array without nulls")));
    const int nw = ArrayGetNItems(ARR_NDIM(wa), ARR_DIMS(wa));
    if (nw != points.n)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("weights must have one entry per point: %d points, %d weights", points.n, nw)));
    w = (const float*)ARR_DATA_PTR(wa);
  }
  const double c = PG_GETARG_FLOAT4(weighted ? 2 : 1);
  RuVector* result = new_vector(points.dim);  // palloc may ERROR: before the engine
  RVJ_ENGINE(rvj::runtime::poincare_midpoint(points.x, w, points.n, points.dim, c, result->x));
  PG_RETURN_RUVECTOR_P(result);
}
// Between the ball and the hyperboloid (runtime/hyperbolic.h): one more
// dimension (x0) on the hyperboloid.
Datum change_model(FunctionCallInfo fcinfo, bool to_lorentz) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  const double c = PG_GETARG_FLOAT4(1);
  const int dims = to_lorentz ? a->dim + 1 : a->dim - 1;
  if (dims > RUVECTOR_MAX_DIM)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("the mapped point would have %d dimensions", dims),
                    errhint("A ruvector has 1 to %d dimensions.", RUVECTOR_MAX_DIM)));
  // (a 1-d "hyperboloid point" gets the runtime's error, which says why)
  RuVector* result = new_vector(dims < 1 ? 1 : dims);  // palloc may ERROR: before the engine
  RVJ_ENGINE(to_lorentz ? rvj::runtime::poincare_to_lorentz(a->x, a->dim, c, result->x)
                        : rvj::runtime::lorentz_to_poincare(a->x, a->dim, c, result->x));
  PG_RETURN_RUVECTOR_P(result);
}
}  // namespace

RVJ_FUNCTION(ruvector_poincare_rescale) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  const double c = PG_GETARG_FLOAT4(1);
  RuVector* result = new_vector(a->dim);
  RVJ_ENGINE(rvj::runtime::poincare_rescale(a->x, a->dim, c, result->x));
  PG_RETURN_RUVECTOR_P(result);
}
RVJ_FUNCTION(ruvector_poincare_to_lorentz) { return change_model(fcinfo, true); }
RVJ_FUNCTION(ruvector_lorentz_to_poincare) { return change_model(fcinfo, false); }
RVJ_FUNCTION(ruvector_poincare_midpoint) { return midpoint(fcinfo, false); }
RVJ_FUNCTION(ruvector_poincare_weighted_midpoint) { return midpoint(fcinfo, true); }
RVJ_FUNCTION(ruvector_poincare_expmap0) { return poincare_map(fcinfo, "poincare_expmap0", 1); }
RVJ_FUNCTION(ruvector_poincare_logmap0) { return poincare_map(fcinfo, "poincare_logmap0", 1); }
RVJ_FUNCTION(ruvector_poincare_mobius_add) { return poincare_map(fcinfo, "poincare_mobius_add", 2); }
