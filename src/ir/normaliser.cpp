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

// A sum in four interleaved lanes: four short dependency chains instead of
// one long one. For the passes that only look for a support; the threshold
// itself is summed in index order.
struct Lanes {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  void add(double x0, double x1, double x2, double x3) { a0 += x0, a1 += x1, a2 += x2, a3 += x3; }
  double sum() const { return (a0 + a1) + (a2 + a3); }
};

double lane_sum(const double* x, size_t n) {
  Lanes a;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) a.add(x[i], x[i + 1], x[i + 2], x[i + 3]);
  for (; i < n; ++i) a.add(x[i], 0, 0, 0);
  return a.sum();
}

// The largest and the smallest of n >= 1 values: branch-free, and like
// std::max_element, a NaN after the first entry is passed over.
double largest(const double* z, int n) {
  double m = z[0];
  for (int j = 1; j < n; ++j) m = std::max(m, z[j]);
  return m;
}
double smallest(const double* z, int n) {
  double m = z[0];
  for (int j = 1; j < n; ++j) m = std::min(m, z[j]);
  return m;
}

// The shifted logits z - m above kCandidate, in index order, into s.
void candidates(const double* z, int n, double m, double scale, std::vector<double>& s) {
  s.resize(n);
  size_t kept = 0;
  for (int j = 0; j < n; ++j) {  // branch-free
    const double x = (z[j] - m) * scale;
    s[kept] = x;
    kept += x > kCandidate;
  }
  s.resize(kept);
}

// sparsemax's threshold by Michelot's projection onto the simplex (1986;
// Condat 2016), no sort: from a set holding the support, tau = (sum - 1) /
// |set| never exceeds the threshold (the entries outside the support add
// at most 0 to sum - tau), so dropping the entries at or below it keeps the
// support; each pass drops one or stops. The support and tau are those of
// the sorted algorithm (entmax's _sparsemax_threshold_and_support); tau's
// sum runs in index order.
void sparsemax(const double* z, int n, double* w) {
  const double m = largest(z, n);
  if (!std::isfinite(m)) return undefined(w, n);
  std::vector<double> s;
  candidates(z, n, m, 1.0, s);
  if (s.empty()) return undefined(w, n);
  for (;;) {
    const double tau = (lane_sum(s.data(), s.size()) - 1) / static_cast<double>(s.size());
    size_t kept = 0;
    for (double x : s) {  // branch-free: about half of them go
      s[kept] = x;
      kept += x > tau;
    }
    if (kept == s.size() || kept == 0) break;
    s.resize(kept);
  }
  double sum = 0;
  for (double x : s) sum += x;
  const double tau = (sum - 1) / static_cast<double>(s.size());
  for (int j = 0; j < n; ++j) w[j] = std::max(z[j] - m - tau, 0.0);
}

// entmax15's closed form on k entries above the threshold, from their mean
// and ss, k times their variance: tau = mean - sqrt(max((1 - ss) / k, 0)).
double entmax15_closed(double k, double mean, double ss) { return mean - std::sqrt(std::max((1 - ss) / k, 0.0)); }

// entmax15's threshold on the k entries of a support (sums in their order).
double entmax15_tau(const double* s, int k) {
  double sum = 0, sum_sq = 0;
  for (int t = 0; t < k; ++t) {
    sum += s[t];
    sum_sq += s[t] * s[t];
  }
  const double mean = sum / k, mean_sq = sum_sq / k;
  return entmax15_closed(k, mean, k * (mean_sq - mean * mean));
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
    tau[k - 1] = entmax15_closed(k, mean, k * (mean_sq - mean * mean));
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
  const double m = largest(z, n);
  if (!std::isfinite(m)) return undefined(w, n);
  std::vector<double> c;
  candidates(z, n, m, 0.5, c);
  if (c.empty()) return undefined(w, n);
  double low = -1, tau = std::numeric_limits<double>::quiet_NaN();
  bool found = false;
  for (int step = 0; step < 64; ++step) {
    // h and g over the entries above low, in four lanes (they only steer
    // the search); d = v - low.
    Lanes h, g;
    size_t kept = 0;
    const size_t size = c.size();
    for (size_t i = 0; i < size; i += 4) {  // branch-free filter
      double d[4] = {0, 0, 0, 0};
      for (size_t l = 0; l < 4 && i + l < size; ++l) {
        const double v = c[i + l];
        d[l] = std::max(v - low, 0.0);  // v - low > 0 exactly when v > low
        c[kept] = v;
        kept += v > low;
      }
      h.add(d[0] * d[0], d[1] * d[1], d[2] * d[2], d[3] * d[3]);
      g.add(d[0], d[1], d[2], d[3]);
    }
    c.resize(kept);
    if (kept == 0) break;
    const double least = smallest(c.data(), static_cast<int>(kept));
    const double hs = h.sum(), gs = g.sum(), k = static_cast<double>(kept);
    // The closed form on the kept entries from their shifted sums: mean
    // low + g/k, k times the variance h - g^2/k.
    const double t = entmax15_closed(k, low + gs / k, hs - gs * gs / k);
    if (std::isfinite(t) && low < t && least >= t) {
      // The support is found; its threshold from sums in index order.
      tau = entmax15_tau(c.data(), static_cast<int>(kept));
      found = std::isfinite(tau) && low < tau && least >= tau;
      break;
    }
    if (hs <= 1 || gs <= 0) break;
    const double next = low + (hs - 1) / (2 * gs);
    if (!(next > low)) break;
    low = next;
  }
  if (!found) {
    candidates(z, n, m, 0.5, c);
    tau = entmax15_sorted(c);
  }
  if (std::isnan(tau)) return undefined(w, n);
  for (int j = 0; j < n; ++j) {
    const double t = std::max((z[j] - m) / 2 - tau, 0.0);
    w[j] = t * t;
  }
}

// The k-th largest of n >= k values (a copy is reordered).
double kth_largest(std::vector<double> x, int k) {
  std::nth_element(x.begin(), x.begin() + (k - 1), x.end(), std::greater<double>());
  return x[k - 1];
}

void top_k_softmax(const double* z, int n, double* w, int k) {
  if (k >= n) return softmax(z, n, w);
  bool nan = false;
  for (int j = 0; j < n; ++j) nan |= std::isnan(z[j]);
  if (nan) return undefined(w, n);  // no order to select by
  // The k largest, ties to the lower index (the set a stable sort keeps).
  // Only entries at or above a bound can be among them: with the entries in
  // 2k disjoint groups, the k-th largest group maximum (k distinct entries
  // at or above it) is at most the k-th largest entry.
  double bound = -std::numeric_limits<double>::infinity();
  if (n >= 4 * k) {
    const int groups = 2 * k, size = n / groups;
    std::vector<double> tops(groups);
    for (int b = 0; b < groups; ++b) tops[b] = largest(z + b * size, size);
    bound = kth_largest(std::move(tops), k);
  }
  std::vector<int> cand(n);
  int count = 0;
  for (int j = 0; j < n; ++j) {  // branch-free, in index order
    cand[count] = j;
    count += z[j] >= bound;
  }
  // t, the k-th largest; the set is every candidate above t and, in index
  // order, as many equal to t as make k.
  std::vector<double> vals(count);
  for (int c = 0; c < count; ++c) vals[c] = z[cand[c]];
  const double t = kth_largest(vals, k);
  int ties = k;
  for (int c = 0; c < count; ++c) ties -= vals[c] > t;
  std::vector<int> order;
  order.reserve(k);
  for (int c = 0; c < count; ++c)
    if (vals[c] > t || (vals[c] == t && ties-- > 0)) order.push_back(cand[c]);
  std::vector<double> top(k), wk(k);
  for (int i = 0; i < k; ++i) top[i] = z[order[i]];
  softmax(top.data(), k, wk.data());
  std::fill(w, w + n, 0.0);
  for (int i = 0; i < k; ++i) w[order[i]] = wk[i];
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
