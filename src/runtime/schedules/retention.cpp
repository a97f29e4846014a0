#include "runtime/schedules/retention.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

double retention_gamma(const SequencePlan& p, int head) {
  return std::isnan(p.params.gamma) ? 1 - std::ldexp(1.0, -5 - head) : p.params.gamma;
}

namespace {
void store(const double* acc, int n, float* out) {
  for (int c = 0; c < n; ++c) {
    out[c] = static_cast<float>(acc[c]);
    if (!std::isfinite(out[c]))
      throw Error(ErrorKind::OutOfRange, "a retention output is out of range for type real",
                  "Scale the queries, keys or values down.");
  }
}
}  // namespace

void run_retention(const SequencePlan& p, const float* const* q, const float* const* k, const float* const* v,
                   int q0, int q1, float* out) {
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int H = p.heads, d = p.head_dim, dv = p.value_dim, B = q1 - q0;
  const int keys = std::min(q1, p.S);  // keys m <= n for the block's last query n = q1 - 1
  for (int h = 0; h < H; ++h) {
    check_cancel();
    const double g = retention_gamma(p, h);
    Mat Q(B, d), K(keys, d), V(keys, dv);
    for (int i = 0; i < B; ++i)
      for (int t = 0; t < d; ++t) Q(i, t) = q[q0 + i][h * d + t];
    for (int j = 0; j < keys; ++j) {
      for (int t = 0; t < d; ++t) K(j, t) = k[j][h * d + t];
      for (int c = 0; c < dv; ++c) V(j, c) = v[j][h * dv + c];
    }
    Mat A = Q * K.transpose();
    std::vector<double> decay(q1);  // gamma^t, each by one pow (the same value the recurrent form's products approach)
    for (int t = 0; t < q1; ++t) decay[t] = std::pow(g, t);
    for (int i = 0; i < B; ++i)
      for (int j = 0; j < keys; ++j) A(i, j) = j <= q0 + i ? A(i, j) * decay[q0 + i - j] : 0.0;
    const Mat res = A * V;
    for (int i = 0; i < B; ++i) {
      store(res.row(i).data(), dv, out + (size_t)i * H * dv + (size_t)h * dv);
    }
  }
}

void run_retention_recurrent(const SequencePlan& p, const float* const* q, const float* const* k,
                             const float* const* v, double* state, float* out) {
  const int H = p.heads, d = p.head_dim, dv = p.value_dim;
  std::fill(state, state + (size_t)H * d * dv, 0.0);
  std::vector<double> acc(dv);
  for (int n = 0; n < p.L; ++n) {
    check_cancel();
    for (int h = 0; h < H; ++h) {
      const double g = retention_gamma(p, h);
      double* S = state + (size_t)h * d * dv;
      for (size_t i = 0; i < (size_t)d * dv; ++i) S[i] *= g;
      if (n < p.S)
        for (int t = 0; t < d; ++t)
          for (int c = 0; c < dv; ++c) S[(size_t)t * dv + c] += (double)k[n][h * d + t] * v[n][h * dv + c];
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int t = 0; t < d; ++t)
        for (int c = 0; c < dv; ++c) acc[c] += (double)q[n][h * d + t] * S[(size_t)t * dv + c];
      store(acc.data(), dv, out + (size_t)n * H * dv + (size_t)h * dv);
    }
  }
}

}  // namespace rvj::runtime
