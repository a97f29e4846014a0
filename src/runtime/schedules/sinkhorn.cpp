#include "runtime/schedules/sinkhorn.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

size_t sinkhorn_memory(const SequencePlan& p) {
  return 2 * (size_t)p.L * p.S + (size_t)(p.L + p.S) * p.head_dim + (size_t)(p.S + p.L) * p.value_dim;
}

void run_sinkhorn_head(const SequencePlan& p, int h, const float* const* q, const float* const* k,
                       const float* const* v, float* out) {
  const int L = p.L, S = p.S, d = p.head_dim, dv = p.value_dim;
  const double scale = 1 / std::sqrt(static_cast<double>(d));
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat Q(L, d), K(S, d);
  for (int i = 0; i < L; ++i)
    for (int t = 0; t < d; ++t) Q(i, t) = q[i][h * d + t];
  for (int j = 0; j < S; ++j)
    for (int t = 0; t < d; ++t) K(j, t) = k[j][h * d + t];
  check_cancel();
  Mat C = (Q * K.transpose()) * scale;  // log K0
  if (!C.allFinite()) throw Error(ErrorKind::OutOfRange, "a sinkhorn logit is not finite", "Scale the queries or keys down.");
  double* c = C.data();
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
      // Columns, read row by row (the plan is row-major): maxima, then sums.
      std::vector<double> m(S, -std::numeric_limits<double>::infinity()), z(S, 0.0);
      for (int i = 0; i < L; ++i)
        for (int j = 0; j < S; ++j) m[j] = std::max(m[j], c[(size_t)i * S + j]);
      for (int i = 0; i < L; ++i)
        for (int j = 0; j < S; ++j) z[j] += std::exp(c[(size_t)i * S + j] - m[j]);
      for (int j = 0; j < S; ++j) m[j] += std::log(z[j]) - log_col;
      for (int i = 0; i < L; ++i)
        for (int j = 0; j < S; ++j) c[(size_t)i * S + j] -= m[j];
    }
  }
  Mat V(S, dv);
  for (int j = 0; j < S; ++j)
    for (int t = 0; t < dv; ++t) V(j, t) = v[j][h * dv + t];
  const Mat res = C.array().exp().matrix() * V;
  for (int i = 0; i < L; ++i)
    for (int t = 0; t < dv; ++t) {
      const float x = static_cast<float>(res(i, t));
      if (!std::isfinite(x))
        throw Error(ErrorKind::OutOfRange, "a sinkhorn output is out of range for type real", "Scale the values down.");
      out[(size_t)i * p.out_dims() + (size_t)h * dv + t] = x;
    }
}

}  // namespace rvj::runtime
