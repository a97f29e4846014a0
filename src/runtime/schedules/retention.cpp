#include "runtime/schedules/retention.h"

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
  const int H = p.heads, d = p.head_dim, dv = p.value_dim;
  std::vector<double> acc(dv);
  for (int n = q0; n < q1; ++n) {
    check_cancel();
    const int last = std::min(n, p.S - 1);
    for (int h = 0; h < H; ++h) {
      const double g = retention_gamma(p, h);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int m = 0; m <= last; ++m) {
        double s = 0;
        for (int t = 0; t < d; ++t) s += (double)q[n][h * d + t] * k[m][h * d + t];
        s *= std::pow(g, n - m);
        for (int c = 0; c < dv; ++c) acc[c] += s * v[m][h * dv + c];
      }
      store(acc.data(), dv, out + (size_t)(n - q0) * H * dv + (size_t)h * dv);
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
