#include "runtime/online_softmax.h"

#include "ir/normaliser.h"

#include <cmath>
#include <limits>

namespace rvj::runtime {

void softmax_init(SoftmaxState& s, double* o, int dv) {
  s.m = -std::numeric_limits<double>::infinity();
  s.l = 0;
  for (int i = 0; i < dv; ++i) o[i] = 0;
}

void softmax_add(SoftmaxState& s, double* o, int dv, double logit, const float* v) {
  if (logit > s.m) {
    // Rescale what was accumulated under the old max.
    const double r = std::exp(s.m - logit);  // exp(-inf) = 0 for the first key
    s.l *= r;
    for (int i = 0; i < dv; ++i) o[i] *= r;
    s.m = logit;
  }
  const double p = std::exp(logit - s.m);
  s.l += p;
  for (int i = 0; i < dv; ++i) o[i] += p * v[i];
}

// The P.V update is the schedule's inner loop: cloned per ISA (the library
// itself is built for baseline x86-64) and picked at load time.
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void softmax_add_block(SoftmaxState& s, double* o, int dv, const double* logits, const float* const* v, int n) {
  if (n == 0) return;
  double m = s.m;
  for (int j = 0; j < n; ++j) m = std::max(m, logits[j]);
  if (m > s.m) {
    const double r = std::exp(s.m - m);
    s.l *= r;
    for (int i = 0; i < dv; ++i) o[i] *= r;
    s.m = m;
  }
  for (int j = 0; j < n; ++j) {
    const double p = std::exp(logits[j] - s.m);
    s.l += p;
    const float* vj = v[j];
    for (int i = 0; i < dv; ++i) o[i] += p * vj[i];
  }
}

void softmax_merge(SoftmaxState& s, double* o, const SoftmaxState& t, const double* to, int dv) {
  if (t.l == 0) return;
  if (s.l == 0) {
    s = t;
    for (int i = 0; i < dv; ++i) o[i] = to[i];
    return;
  }
  const double m = std::max(s.m, t.m);
  const double a = std::exp(s.m - m), b = std::exp(t.m - m);
  s.l = s.l * a + t.l * b;
  for (int i = 0; i < dv; ++i) o[i] = o[i] * a + to[i] * b;
  s.m = m;
}

bool softmax_finish(const SoftmaxState& s, const double* o, int dv, float* out) {
  if (s.l == 0) return false;
  for (int i = 0; i < dv; ++i) out[i] = static_cast<float>(o[i] / s.l);
  return true;
}

bool softmax(const double* logits, int n, double* weights) {
  if (n == 0) return false;
  ir::normalise(ir::Normaliser::Softmax, logits, n, weights, 0, 0);
  return true;
}

}  // namespace rvj::runtime
