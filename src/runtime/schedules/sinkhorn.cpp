#include "runtime/schedules/sinkhorn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

size_t sinkhorn_memory(const SequencePlan& p) { return (size_t)p.L * p.S + p.value_dim; }

void run_sinkhorn_head(const SequencePlan& p, int h, const float* const* q, const float* const* k,
                       const float* const* v, float* out) {
  const int L = p.L, S = p.S, d = p.head_dim, dv = p.value_dim;
  const double scale = 1 / std::sqrt(static_cast<double>(d));
  std::vector<double> c((size_t)L * S);  // log K
  for (int i = 0; i < L; ++i) {
    check_cancel();
    for (int j = 0; j < S; ++j) {
      double s = 0;
      for (int t = 0; t < d; ++t) s += (double)q[i][h * d + t] * k[j][h * d + t];
      c[(size_t)i * S + j] = s * scale;
      if (!std::isfinite(c[(size_t)i * S + j]))
        throw Error(ErrorKind::OutOfRange, "a sinkhorn logit is not finite", "Scale the queries or keys down.");
    }
  }
  // Column sums of L / S make the total mass L, as the row sums do.
  const double log_col = std::log(static_cast<double>(L) / S);
  for (int it = 0; it < p.params.sinkhorn_iterations; ++it) {
    check_cancel();
    if (it % 2 == 0) {
      for (int i = 0; i < L; ++i) {
        double* r = &c[(size_t)i * S];
        const double m = *std::max_element(r, r + S);
        double z = 0;
        for (int j = 0; j < S; ++j) z += std::exp(r[j] - m);
        const double lse = m + std::log(z);
        for (int j = 0; j < S; ++j) r[j] -= lse;
      }
    } else {
      for (int j = 0; j < S; ++j) {
        double m = -std::numeric_limits<double>::infinity();
        for (int i = 0; i < L; ++i) m = std::max(m, c[(size_t)i * S + j]);
        double z = 0;
        for (int i = 0; i < L; ++i) z += std::exp(c[(size_t)i * S + j] - m);
        const double lse = m + std::log(z) - log_col;
        for (int i = 0; i < L; ++i) c[(size_t)i * S + j] -= lse;
      }
    }
  }
  std::vector<double> acc(dv);
  for (int i = 0; i < L; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int j = 0; j < S; ++j) {
      const double w = std::exp(c[(size_t)i * S + j]);
      for (int t = 0; t < dv; ++t) acc[t] += w * v[j][h * dv + t];
    }
    for (int t = 0; t < dv; ++t) {
      const float x = static_cast<float>(acc[t]);
      if (!std::isfinite(x))
        throw Error(ErrorKind::OutOfRange, "a sinkhorn output is out of range for type real", "Scale the values down.");
      out[(size_t)i * p.out_dims() + (size_t)h * dv + t] = x;
    }
  }
}

}  // namespace rvj::runtime
