#include "ir/normaliser.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

namespace rvj::ir {

const char* normaliser_name(Normaliser n) {
  switch (n) {
    case Normaliser::Softmax: return "softmax";
    case Normaliser::Sigmoid: return "sigmoid";
    case Normaliser::Sparsemax: return "sparsemax";
    case Normaliser::Entmax15: return "entmax15";
    case Normaliser::TopK: return "top-k softmax";
  }
  return "?";
}

namespace {
void softmax(const double* z, int n, double* w) {
  const double m = *std::max_element(z, z + n);
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += w[j] = std::exp(z[j] - m);
  for (int j = 0; j < n; ++j) w[j] /= sum;
}

// Both thresholds lie at or above -1 in their shifted logits (the largest,
// at 0, would weigh more than 1 below it), so a shifted logit below -1 is
// never in the support and never passes the support test: only the
// candidates above -2 (a margin no rounding crosses) need sorting. They are
// the sorted order's first entries, so every prefix sum below is the one a
// full sort gives, bit for bit.
constexpr double kCandidate = -2;

// Logits that are not finite (an overflowed score) leave the weights
// undefined: NaN, which the callers report as an overflow.
void undefined(double* w, int n) { std::fill(w, w + n, std::numeric_limits<double>::quiet_NaN()); }

// entmax's _sparsemax_threshold_and_support on x = z - max.
void sparsemax(const double* z, int n, double* w) {
  const double m = *std::max_element(z, z + n);
  std::vector<double> s;
  s.reserve(n);
  for (int j = 0; j < n; ++j)
    if (z[j] - m > kCandidate) s.push_back(z[j] - m);
  std::sort(s.begin(), s.end(), std::greater<double>());
  // As the package does: the support size is the number of k with
  // k s_k > cumsum_k - 1, and tau comes from that position.
  const int c = static_cast<int>(s.size());
  if (c == 0 || !std::isfinite(m)) return undefined(w, n);
  std::vector<double> cum(c);
  double cumsum = 0;
  int support = 0;
  for (int k = 1; k <= c; ++k) {
    cumsum += s[k - 1];
    cum[k - 1] = cumsum - 1;
    support += k * s[k - 1] > cum[k - 1];
  }
  if (support == 0) return undefined(w, n);
  const double tau = cum[support - 1] / support;
  for (int j = 0; j < n; ++j) w[j] = std::max(z[j] - m - tau, 0.0);
}

// entmax's _entmax15_threshold_and_support on x = (z - max) / 2.
void entmax15(const double* z, int n, double* w) {
  const double m = *std::max_element(z, z + n);
  std::vector<double> x(n), s;
  s.reserve(n);
  for (int j = 0; j < n; ++j) {
    x[j] = (z[j] - m) / 2;
    if (x[j] > kCandidate) s.push_back(x[j]);
  }
  std::sort(s.begin(), s.end(), std::greater<double>());
  // As the package does: tau_k from running means, the support size is the
  // number of k with tau_k <= s_k, and tau comes from that position.
  const int c = static_cast<int>(s.size());
  if (c == 0 || !std::isfinite(m)) return undefined(w, n);
  std::vector<double> tau(c);
  double sum = 0, sum_sq = 0;
  int support = 0;
  for (int k = 1; k <= c; ++k) {
    sum += s[k - 1];
    sum_sq += s[k - 1] * s[k - 1];
    const double mean = sum / k, mean_sq = sum_sq / k;
    const double ss = k * (mean_sq - mean * mean);
    const double delta = std::max((1 - ss) / k, 0.0);
    tau[k - 1] = mean - std::sqrt(delta);
    support += tau[k - 1] <= s[k - 1];
  }
  if (support == 0) return undefined(w, n);
  const double tau_star = tau[support - 1];
  for (int j = 0; j < n; ++j) {
    const double t = std::max(x[j] - tau_star, 0.0);
    w[j] = t * t;
  }
}

void top_k_softmax(const double* z, int n, double* w, int k) {
  if (k >= n) return softmax(z, n, w);
  // The k largest, ties to the lower index: the order a stable sort gives,
  // without sorting the rest.
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
  std::vector<double> top(k), wk(k);
  for (int t = 0; t < k; ++t) top[t] = z[order[t]];
  softmax(top.data(), k, wk.data());
  std::fill(w, w + n, 0.0);
  for (int t = 0; t < k; ++t) w[order[t]] = wk[t];
}
}  // namespace

void normalise(Normaliser kind, const double* z, int n, double* w, double bias, int top_k) {
  switch (kind) {
    case Normaliser::Softmax: return softmax(z, n, w);
    case Normaliser::Sigmoid:
      for (int j = 0; j < n; ++j) w[j] = 1 / (1 + std::exp(-(z[j] + bias)));
      return;
    case Normaliser::Sparsemax: return sparsemax(z, n, w);
    case Normaliser::Entmax15: return entmax15(z, n, w);
    case Normaliser::TopK: return top_k_softmax(z, n, w, top_k);
  }
}

}  // namespace rvj::ir
