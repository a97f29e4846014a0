#include "runtime/graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ir/errors.h"

namespace rvj::runtime {

void dot_graph_weights(const float* target, const float* const* nb, int n, int dims, int heads, double* alpha) {
  if (heads < 1 || dims % heads != 0)
    throw Error(ErrorKind::InvalidArgument,
                "num_heads must divide the feature dimensions: " + std::to_string(dims) + " features, " +
                    std::to_string(heads) + " heads",
                "Each head takes a contiguous slice of dims / num_heads features.");
  const int dh = dims / heads;
  const double scale = 1 / std::sqrt((double)dh);
  std::vector<double> logit(n);
  std::fill(alpha, alpha + n, 0.0);
  for (int h = 0; h < heads; ++h) {
    const float* th = target + h * dh;
    double best = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < n; ++j) {
      const float* jh = nb[j] + h * dh;
      double s = 0;
      for (int t = 0; t < dh; ++t) s += (double)th[t] * jh[t];
      logit[j] = s * scale;
      if (!std::isfinite(logit[j]))
        throw Error(ErrorKind::OutOfRange, "a graph attention logit is not finite",
                    "The node features overflow float64 products; scale them down.");
      best = std::max(best, logit[j]);
    }
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += (logit[j] = std::exp(logit[j] - best));
    for (int j = 0; j < n; ++j) alpha[j] += logit[j] / sum / heads;
  }
}

}  // namespace rvj::runtime
