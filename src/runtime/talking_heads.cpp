#include "runtime/talking_heads.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

void talking_heads(const float* const* q, const float* const* k, const float* const* v, int q0, int q1, int S, int H,
                   int dh, int dv, const float* logits_proj, const float* weights_proj, double* scratch, float* out) {
  double* logit = scratch;                       // [h][j]
  double* mixed = scratch + (size_t)S * H;       // [h'][j]
  const double scale = 1 / std::sqrt(static_cast<double>(dh));
  for (int i = q0; i < q1; ++i) {
    check_cancel();
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < S; ++j) {
        double s = 0;
        for (int t = 0; t < dh; ++t) s += (double)q[i][h * dh + t] * k[j][h * dh + t];
        logit[(size_t)h * S + j] = s * scale;
      }
    // Mixed logits, then the softmax over keys per mixed head.
    for (int g = 0; g < H; ++g) {
      double best = -std::numeric_limits<double>::infinity();
      for (int j = 0; j < S; ++j) {
        double s = 0;
        for (int h = 0; h < H; ++h) s += (double)logits_proj[(size_t)h * H + g] * logit[(size_t)h * S + j];
        mixed[(size_t)g * S + j] = s;
        if (!std::isfinite(s))
          throw Error(ErrorKind::OutOfRange, "a talking-heads logit is not finite",
                      "The queries, keys or projections overflow; scale them down.");
        best = std::max(best, s);
      }
      double sum = 0;
      for (int j = 0; j < S; ++j) sum += (mixed[(size_t)g * S + j] = std::exp(mixed[(size_t)g * S + j] - best));
      for (int j = 0; j < S; ++j) mixed[(size_t)g * S + j] /= sum;
    }
    // Mixed weights (into logit's space, no longer needed), then W' V per head.
    for (int o = 0; o < H; ++o)
      for (int j = 0; j < S; ++j) {
        double s = 0;
        for (int g = 0; g < H; ++g) s += (double)weights_proj[(size_t)g * H + o] * mixed[(size_t)g * S + j];
        logit[(size_t)o * S + j] = s;
      }
    float* oi = out + (size_t)(i - q0) * H * dv;
    for (int o = 0; o < H; ++o)
      for (int c = 0; c < dv; ++c) {
        double s = 0;
        for (int j = 0; j < S; ++j) s += logit[(size_t)o * S + j] * v[j][o * dv + c];
        oi[o * dv + c] = static_cast<float>(s);
      }
  }
}

}  // namespace rvj::runtime
