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
// never in the support: only the candidates above -2 (a margin no rounding
// crosses) are looked at.
constexpr double kCandidate = -2;

// Logits that are not finite (an overflowed score) leave the weights
// undefined: NaN, which the callers report as an overflow.
void undefined(double* w, int n) { std::fill(w, w + n, std::numeric_limits<double>::quiet_NaN()); }

// sparsemax's threshold by Michelot's projection onto the simplex (1986;
// Condat 2016), no sort: from a set holding the support, tau = (sum - 1) /
// |set| never exceeds the threshold (the entries outside the support add
// at most 0 to sum - tau), so dropping the entries at or below it keeps the
// support; each pass drops one or stops. The support and tau are those of
// the sorted algorithm (entmax's _sparsemax_threshold_and_support); the
// sums run in index order.
void sparsemax(const double* z, int n, double* w) {
  const double m = *std::max_element(z, z + n);
  if (!std::isfinite(m)) return undefined(w, n);
  std::vector<double> s;
  s.reserve(n);
  for (int j = 0; j < n; ++j)
    if (z[j] - m > kCandidate) s.push_back(z[j] - m);
  if (s.empty()) return undefined(w, n);
  double tau = 0;
  for (;;) {
    double sum = 0;
    for (double x : s) sum += x;
    tau = (sum - 1) / static_cast<double>(s.size());
    size_t kept = 0;
    for (double x : s) {  // branch-free: about half of them go
      s[kept] = x;
      kept += x > tau;
    }
    if (kept == s.size() || kept == 0) break;
    s.resize(kept);
  }
  for (int j = 0; j < n; ++j) w[j] = std::max(z[j] - m - tau, 0.0);
}

// entmax15's threshold on the k entries of a support (sums in their order):
// tau = mean - sqrt(max((1 - k (mean_sq - mean^2)) / k, 0)).
double entmax15_tau(const double* s, int k) {
  double sum = 0, sum_sq = 0;
  for (int t = 0; t < k; ++t) {
    sum += s[t];
    sum_sq += s[t] * s[t];
  }
  const double mean = sum / k, mean_sq = sum_sq / k;
  const double ss = k * (mean_sq - mean * mean);
  return mean - std::sqrt(std::max((1 - ss) / k, 0.0));
}

// entmax's _entmax15_threshold_and_support on x = (z - max) / 2, the sorted
// form: the reference, and the answer when the fast path cannot vouch for
// its support.
double entmax15_sorted(std::vector<double> s) {
  std::sort(s.begin(), s.end(), std::greater<double>());
  // As the package does: tau_k from running means, the support size is the
  // number of k with tau_k <= s_k, and tau comes from that position.
  const int c = static_cast<int>(s.size());
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
  return support == 0 ? std::numeric_limits<double>::quiet_NaN() : tau[support - 1];
}

// entmax15 without a sort: h(t) = sum max(x - t, 0)^2 is convex and
// decreasing, h(tau) = 1, and tau >= -1 (the largest x is 0). Newton's
// steps from -1 stay below tau, so the entries above the step hold the
// support. After each step the closed form on those entries gives a
// threshold, which is tau when it splits the entries there (every kept one
// at or above it, the step below it): then the support is found. Without a
// split in 64 steps (rounding at the edge), the sorted form decides.
void entmax15(const double* z, int n, double* w) {
  const double m = *std::max_element(z, z + n);
  if (!std::isfinite(m)) return undefined(w, n);
  std::vector<double> x(n), c;
  c.reserve(n);
  for (int j = 0; j < n; ++j) {
    x[j] = (z[j] - m) / 2;
    if (x[j] > kCandidate) c.push_back(x[j]);
  }
  if (c.empty()) return undefined(w, n);
  const std::vector<double> all = c;
  double low = -1, tau = std::numeric_limits<double>::quiet_NaN();
  bool found = false;
  for (int step = 0; step < 64 && !found; ++step) {
    double h = 0, g = 0, least = std::numeric_limits<double>::infinity();
    size_t kept = 0;
    for (double v : c) {  // branch-free filter
      const bool in = v > low;
      const double d = in ? v - low : 0.0;
      c[kept] = v;
      kept += in;
      h += d * d;
      g += d;
      least = in ? std::min(least, v) : least;
    }
    c.resize(kept);
    if (kept == 0) break;
    const double t = entmax15_tau(c.data(), static_cast<int>(kept));
    if (std::isfinite(t) && low < t && least >= t) {
      tau = t;
      found = true;
      break;
    }
    if (h <= 1 || g <= 0) break;
    const double next = low + (h - 1) / (2 * g);
    if (!(next > low)) break;
    low = next;
  }
  if (!found) tau = entmax15_sorted(all);
  if (std::isnan(tau)) return undefined(w, n);
  for (int j = 0; j < n; ++j) {
    const double t = std::max(x[j] - tau, 0.0);
    w[j] = t * t;
  }
}

void top_k_softmax(const double* z, int n, double* w, int k) {
  if (k >= n) return softmax(z, n, w);
  for (int j = 0; j < n; ++j)
    if (std::isnan(z[j])) return undefined(w, n);  // no order to select by
  // The k largest, ties to the lower index (the set a stable sort keeps):
  // one pass in index order keeping the best k so far, best first; a later
  // entry enters only above the k-th (so an equal one never displaces an
  // earlier), which after the first few most entries are not.
  std::vector<int> best;
  best.reserve(k + 1);
  for (int j = 0; j < n; ++j) {
    if (static_cast<int>(best.size()) == k && !(z[j] > z[best.back()])) continue;
    int at = static_cast<int>(best.size());
    while (at > 0 && z[best[at - 1]] < z[j]) --at;
    best.insert(best.begin() + at, j);
    if (static_cast<int>(best.size()) > k) best.pop_back();
  }
  std::vector<int> order = best;
  std::sort(order.begin(), order.end());
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
