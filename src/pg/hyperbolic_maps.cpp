// ruvector_poincare_expmap0(v, curvature), ruvector_poincare_logmap0(v,
// curvature), ruvector_poincare_mobius_add(a, b, curvature): the Poincare
// ball's maps (geoopt's PoincareBall(c), curvature -c, no projection), as
// JIT-compiled kernels with a vector output.
#include "pg/errors.h"
#include "pg/kernel_site.h"

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
}  // namespace

RVJ_FUNCTION(ruvector_poincare_expmap0) { return poincare_map(fcinfo, "poincare_expmap0", 1); }
RVJ_FUNCTION(ruvector_poincare_logmap0) { return poincare_map(fcinfo, "poincare_logmap0", 1); }
RVJ_FUNCTION(ruvector_poincare_mobius_add) { return poincare_map(fcinfo, "poincare_mobius_add", 2); }
