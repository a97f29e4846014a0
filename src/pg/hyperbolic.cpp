// ruvector_hyperbolic_distance(a, b, curvature): the Poincare-ball distance
// (geoopt's PoincareBall(c), curvature -c), JIT-compiled like the scores.
#include "pg/errors.h"
#include "pg/vector.h"

using namespace rvj::pg;

namespace {
struct DistanceSite {
  int dims;
  bool jit;
  rvj::runtime::Bound bound;
};
}  // namespace

RVJ_FUNCTION(ruvector_hyperbolic_distance) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  double c = PG_GETARG_FLOAT4(2);
  DistanceSite* site = (DistanceSite*)fcinfo->flinfo->fn_extra;
  if (site == nullptr) {
    site = (DistanceSite*)MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DistanceSite));
    site->dims = -1;
    fcinfo->flinfo->fn_extra = site;
  }
  double result = 0;
  RVJ_ENGINE({
    rvj::runtime::check_same_dims(a->dim, b->dim);
    const rvj::ir::Mechanism& m = rvj::runtime::kernel_mechanism("poincare_distance");
    if (site->dims != a->dim || site->jit != jit_enabled) {
      site->dims = -1;
      site->bound = rvj::runtime::bind(m, a->dim, jit_enabled);
      site->jit = jit_enabled;
      site->dims = a->dim;
    }
    site->bound.params[0] = c;
    rvj::ir::check_params(m, site->bound.params);
    result = rvj::runtime::run2(site->bound, a->x, b->x);
  });
  PG_RETURN_FLOAT4((float4)result);
}
