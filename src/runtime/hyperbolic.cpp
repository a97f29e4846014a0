#include "runtime/hyperbolic.h"

#include <cmath>
#include <string>
#include <vector>

#include "ir/errors.h"
#include "ir/midpoint.h"

namespace rvj::runtime {

void poincare_midpoint(const float* const* points, const float* weights, int n, int dims, double c, float* out) {
  if (!(std::isfinite(c) && c > 0))
    throw Error(ErrorKind::InvalidArgument, "curvature must be a finite number greater than 0",
                "The ball has curvature -c; geoopt's PoincareBall(c) needs c > 0.");
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
  for (int d = 0; d < dims; ++d) {
    out[d] = static_cast<float>(mid[d]);
    if (!std::isfinite(out[d])) throw Error(ErrorKind::DataException, "the midpoint is out of range for type real");
  }
}

}  // namespace rvj::runtime
