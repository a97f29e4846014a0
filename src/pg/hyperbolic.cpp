// ruvector_hyperbolic_distance(a, b, curvature): the Poincare-ball distance
// (geoopt's PoincareBall(c), curvature -c), and ruvector_lorentz_distance(a,
// b, curvature): the hyperboloid's (geoopt's Lorentz(k = 1/c)); JIT-compiled
// like the scores.
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "runtime/hyperbolic.h"

using namespace rvj::pg;

namespace {
Datum distance(FunctionCallInfo fcinfo, const char* kernel, bool unit_ball = false) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  const double c = unit_ball ? 1.0 : PG_GETARG_FLOAT4(2);
  KernelSite* site = kernel_site(fcinfo);
  double result = 0;
  RVJ_ENGINE({
    rvj::runtime::check_same_dims(a->dim, b->dim);
    rvj::runtime::Bound& k = bind_site(*site, kernel, a->dim);
    k.params[0] = c;
    rvj::ir::check_params(*k.kernel->mechanism, k.params);
    result = rvj::runtime::run(k, a->x, b->x);
  });
  PG_RETURN_FLOAT4((float4)result);
}
}  // namespace

RVJ_FUNCTION(ruvector_hyperbolic_distance) { return distance(fcinfo, "poincare_distance"); }
RVJ_FUNCTION(ruvector_lorentz_distance) { return distance(fcinfo, "lorentz_distance"); }
// The <~> operator: the distance at c = 1 (an operator takes no curvature).
RVJ_FUNCTION(ruvector_poincare_distance) { return distance(fcinfo, "poincare_distance", true); }

// ruvector_mixed_curvature_score(a, b, euclidean_dims, hyperbolic_dims,
// hyperbolic_curvature, spherical_curvature, beta, gamma): the per-row
// score of the product space E x H x S, -beta * d - gamma
// (runtime/hyperbolic.h says how d is computed).
RVJ_FUNCTION(ruvector_mixed_curvature_score) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  const int e = PG_GETARG_INT32(2), h = PG_GETARG_INT32(3);
  const double ch = PG_GETARG_FLOAT4(4), cs = PG_GETARG_FLOAT4(5), beta = PG_GETARG_FLOAT4(6),
               gamma = PG_GETARG_FLOAT4(7);
  if (!std::isfinite(beta) || !std::isfinite(gamma))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("beta and gamma must be finite numbers")));
  double d = 0;
  RVJ_ENGINE({
    rvj::runtime::check_same_dims(a->dim, b->dim);
    d = rvj::runtime::mixed_curvature_distance(a->x, b->x, a->dim, e, h, ch, cs);
  });
  double score = -beta * d - gamma;
  if (score == 0) score = 0;  // (not -0 at distance 0)
  PG_RETURN_FLOAT4((float4)score);
}
