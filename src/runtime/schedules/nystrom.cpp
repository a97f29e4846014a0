#include "runtime/schedules/nystrom.h"

#include <Eigen/Core>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

namespace {
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Row-wise softmax in place.
void softmax_rows(Mat& a) {
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    const double best = a.row(i).maxCoeff();
    a.row(i) = (a.row(i).array() - best).exp();
    a.row(i) /= a.row(i).sum();
  }
}

// The means of m contiguous segments of n rows (head slice [off, off + d)).
Mat landmarks(const float* const* x, int n, int m, int off, int d) {
  Mat out = Mat::Zero(m, d);
  for (int s = 0; s < m; ++s) {
    const int r0 = static_cast<int>(static_cast<int64_t>(s) * n / m), r1 = static_cast<int>(static_cast<int64_t>(s + 1) * n / m);
    for (int r = r0; r < r1; ++r)
      for (int t = 0; t < d; ++t) out(s, t) += x[r][off + t];
    out.row(s) /= (r1 - r0);
  }
  return out;
}

Mat rows_of(const float* const* x, int n, int off, int d) {
  Mat out(n, d);
  for (int r = 0; r < n; ++r)
    for (int t = 0; t < d; ++t) out(r, t) = x[r][off + t];
  return out;
}
}  // namespace

size_t nystrom_memory(const SequencePlan& p) {
  const size_t m = p.params.landmarks;
  return (size_t)p.L * (m + p.head_dim) + (size_t)p.S * (m + p.head_dim + p.value_dim) + 6 * m * m +
         2 * m * (p.head_dim + p.value_dim);
}

void run_nystrom_head(const SequencePlan& p, int h, const float* const* q, const float* const* k,
                      const float* const* v, float* out) {
  const int d = p.head_dim, dv = p.value_dim, m = p.params.landmarks;
  const double scale = 1 / std::sqrt(std::sqrt(static_cast<double>(d)));  // on q and on k: q.k / sqrt(d)
  check_cancel();
  Mat Q = rows_of(q, p.L, h * d, d) * scale, K = rows_of(k, p.S, h * d, d) * scale;
  Mat V = rows_of(v, p.S, h * dv, dv);
  Mat Ql = landmarks(q, p.L, m, h * d, d) * scale, Kl = landmarks(k, p.S, m, h * d, d) * scale;
  Mat k1 = Q * Kl.transpose(), k2 = Ql * Kl.transpose(), k3 = Ql * K.transpose();
  softmax_rows(k1);
  softmax_rows(k2);
  softmax_rows(k3);
  check_cancel();
  // Newton-Schulz pseudo-inverse of k2 (the paper's iterative_inv).
  const Mat I = Mat::Identity(m, m);
  Mat Z = k2.transpose() / k2.colwise().sum().maxCoeff();
  for (int it = 0; it < p.params.pinv_iterations; ++it) {
    const Mat KZ = k2 * Z;
    Z = 0.25 * Z * (13 * I - KZ * (15 * I - KZ * (7 * I - KZ)));
  }
  const Mat res = k1 * (Z * (k3 * V));
  for (int i = 0; i < p.L; ++i)
    for (int c = 0; c < dv; ++c) {
      const float x = static_cast<float>(res(i, c));
      if (!std::isfinite(x))
        throw Error(ErrorKind::OutOfRange, "a nystrom output is out of range for type real",
                    "The pseudo-inverse diverged or the inputs overflow; scale them down or use more pinv_iterations.");
      out[(size_t)i * p.out_dims() + (size_t)h * dv + c] = x;
    }
}

}  // namespace rvj::runtime
