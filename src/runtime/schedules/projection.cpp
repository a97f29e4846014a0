#include "runtime/schedules/projection.h"

#include "ir/cancel.h"

#include <algorithm>

#include <Eigen/Core>

namespace rvj::runtime {

void project_rows(const float* const* rows, int n, int in_dims, const float* const* w, int out_dims,
                  const float* bias, float* out) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Row = Eigen::Map<const Eigen::VectorXf>;
  if (n == 1) {  // one row (a per-row SQL call): dots against W's rows in place, no copy of W
    for (int r = 0; r < out_dims; ++r)
      out[r] = Row(w[r], in_dims).dot(Row(rows[0], in_dims)) + (bias ? bias[r] : 0.0f);
    return;
  }
  Mat W(out_dims, in_dims);
  for (int r = 0; r < out_dims; ++r) std::copy(w[r], w[r] + in_dims, W.row(r).data());
  constexpr int kChunk = 256;  // rows gathered per GEMM
  Mat X(std::min(n, kChunk), in_dims);
  for (int r0 = 0; r0 < n; r0 += kChunk) {
    check_cancel();
    const int m = std::min(kChunk, n - r0);
    for (int r = 0; r < m; ++r) std::copy(rows[r0 + r], rows[r0 + r] + in_dims, X.row(r).data());
    Eigen::Map<Mat> Y(out + static_cast<size_t>(r0) * out_dims, m, out_dims);
    Y.noalias() = X.topRows(m) * W.transpose();
    if (bias) Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, out_dims);
  }
}

}  // namespace rvj::runtime
