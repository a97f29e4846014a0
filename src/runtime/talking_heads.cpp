#include "runtime/talking_heads.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

namespace {
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows [r0, r0 + n) of x, columns [off, off + w), widened to f64.
Mat slice(const float* const* x, int r0, int n, int off, int w) {
  Mat m(n, w);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < w; ++c) m(r, c) = x[r0 + r][off + c];
  return m;
}
}  // namespace

void talking_heads(const float* const* q, const float* const* k, const float* const* v, int q0, int q1, int S, int H,
                   int dh, int dv, const float* logits_proj, const float* weights_proj, float* out) {
  const int B = q1 - q0;
  const double scale = 1 / std::sqrt(static_cast<double>(dh));
  std::vector<Mat> logit(H), mixed(H);
  for (int h = 0; h < H; ++h) {
    check_cancel();
    logit[h] = (slice(q, q0, B, h * dh, dh) * slice(k, 0, S, h * dh, dh).transpose()) * scale;
  }
  // Mixed logits, then the softmax over keys per mixed head.
  for (int g = 0; g < H; ++g) {
    check_cancel();
    mixed[g] = Mat::Zero(B, S);
    for (int h = 0; h < H; ++h) mixed[g] += static_cast<double>(logits_proj[(size_t)h * H + g]) * logit[h];
    if (!mixed[g].allFinite())
      throw Error(ErrorKind::OutOfRange, "a talking-heads logit is not finite",
                  "The queries, keys or projections overflow; scale them down.");
    for (int i = 0; i < B; ++i) {
      const double best = mixed[g].row(i).maxCoeff();
      mixed[g].row(i) = (mixed[g].row(i).array() - best).exp();
      mixed[g].row(i) /= mixed[g].row(i).sum();
    }
  }
  // Mixed weights (into logit's space, no longer needed), then W' V per head.
  for (int o = 0; o < H; ++o) {
    check_cancel();
    logit[o].setZero();
    for (int g = 0; g < H; ++g) logit[o] += static_cast<double>(weights_proj[(size_t)g * H + o]) * mixed[g];
    const Mat res = logit[o] * slice(v, 0, S, o * dv, dv);
    for (int i = 0; i < B; ++i)
      for (int c = 0; c < dv; ++c) out[(size_t)i * H * dv + (size_t)o * dv + c] = static_cast<float>(res(i, c));
  }
}

}  // namespace rvj::runtime
