#include "runtime/head_weights.h"

#include <cmath>
#include <limits>
#include <string>

#include "ir/errors.h"
#include "runtime/native.h"
#include "runtime/top_k.h"

#include <algorithm>
#include <vector>

namespace rvj::runtime {

void check_heads(int dims, int heads) {
  if (heads < 1 || dims % heads != 0)
    throw Error(ErrorKind::InvalidArgument,
                "num_heads " + std::to_string(heads) + " does not divide the " + std::to_string(dims) + " dimensions",
                "num_heads must be a divisor of the vectors' dimensions (each head takes dims / num_heads of them).");
}

void head_logits(const float* q, const float* k, int dims, int heads, float* logits) {
  const int hd = dims / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (int h = 0; h < heads; ++h)
    logits[h] = static_cast<float>(canonical_dot64(q + h * hd, k + h * hd, hd) * scale);
}

void lse_init(double* m, double* s, int heads) {
  for (int h = 0; h < heads; ++h) m[h] = -std::numeric_limits<double>::infinity(), s[h] = 0;
}

void lse_add(double* m, double* s, const float* logits, int heads) {
  for (int h = 0; h < heads; ++h) {
    const double l = logits[h];
    if (l > m[h]) {
      s[h] = s[h] * std::exp(m[h] - l) + 1.0;
      m[h] = l;
    } else {
      s[h] += std::exp(l - m[h]);
    }
  }
}

void lse_merge(double* m, double* s, const double* m2, const double* s2, int heads) {
  for (int h = 0; h < heads; ++h) {
    if (s2[h] == 0) continue;
    if (s[h] == 0) {
      m[h] = m2[h], s[h] = s2[h];
    } else if (m2[h] > m[h]) {
      s[h] = s[h] * std::exp(m[h] - m2[h]) + s2[h];
      m[h] = m2[h];
    } else {
      s[h] += s2[h] * std::exp(m2[h] - m[h]);
    }
  }
}

void lse_finish(const double* m, const double* s, int heads, double* lse) {
  for (int h = 0; h < heads; ++h) lse[h] = s[h] > 0 ? m[h] + std::log(s[h]) : -std::numeric_limits<double>::infinity();
}

double head_average(const float* logits, const double* lse, int heads) {
  double sum = 0;
  for (int h = 0; h < heads; ++h) sum += std::exp(logits[h] - lse[h]);
  return sum / heads;
}

int candidate_head_weights(const float* q, const float* rows, const int64_t* keys, int n, int dims, int heads, int k,
                           TopEntry* best) {
  std::vector<float> logits(static_cast<size_t>(n) * heads);
  std::vector<double> m(heads), s(heads), lse(heads);
  lse_init(m.data(), s.data(), heads);
  for (int i = 0; i < n; i++) {
    head_logits(q, rows + static_cast<size_t>(i) * dims, dims, heads, &logits[static_cast<size_t>(i) * heads]);
    lse_add(m.data(), s.data(), &logits[static_cast<size_t>(i) * heads], heads);
  }
  lse_finish(m.data(), s.data(), heads, lse.data());
  int size = 0;
  for (int i = 0; i < n; i++)
    top_k_offer(best, &size, k, {head_average(&logits[static_cast<size_t>(i) * heads], lse.data(), heads), keys[i]});
  std::sort(best, best + size, ranks_before);
  return size;
}

}  // namespace rvj::runtime
