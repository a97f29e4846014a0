// ruvector_hyperbolic_distance(a, b, curvature): the Poincare-ball distance
// (geoopt's PoincareBall(c), curvature -c), and ruvector_lorentz_distance(a,
// b, curvature): the hyperboloid's (geoopt's Lorentz(k = 1/c)); JIT-compiled
// like the scores.
#include "pg/errors.h"
#include "pg/kernel_site.h"

using namespace rvj::pg;

namespace {
Datum distance(FunctionCallInfo fcinfo, const char* kernel) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  double c = PG_GETARG_FLOAT4(2);
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
