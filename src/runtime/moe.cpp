#include "runtime/moe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "ir/random.h"

#if defined(__x86_64__)
#include <immintrin.h>
// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 extract
// intrinsics (the undefined upper half they start from), a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rvj::runtime {

namespace {
constexpr int kLanes = 16;

// The fixed tree over 16 partial sums.
inline float reduce16(const float* s) {
  float r8[8], r4[4];
  for (int l = 0; l < 8; ++l) r8[l] = s[l] + s[l + 8];
  for (int l = 0; l < 4; ++l) r4[l] = r8[l] + r8[l + 4];
  return (r4[0] + r4[2]) + (r4[1] + r4[3]);
}

// One row of x, padded with zeros to g.padded when dims is not a multiple of 16.
const float* padded_row(const Gate& g, const float* x, float* buf) {
  if (g.padded == g.dims) return x;
  std::memcpy(buf, x, sizeof(float) * g.dims);
  std::fill(buf + g.dims, buf + g.padded, 0.0f);
  return buf;
}

void scores_scalar(const Gate& g, const float* x, int64_t n, float* out) {
  std::vector<float> buf(g.padded);
  for (int64_t i = 0; i < n; ++i) {
    const float* xr = padded_row(g, x + i * g.dims, buf.data());
    for (int e = 0; e < g.experts; ++e) {
      const float* w = g.weight + (int64_t)e * g.padded;
      float s[kLanes] = {};
      for (int t = 0; t < g.padded; t += kLanes)
        for (int l = 0; l < kLanes; ++l) s[l] = std::fma(xr[t + l], w[t + l], s[l]);
      out[i * g.experts + e] = reduce16(s);
    }
  }
}

#if defined(__x86_64__)
// reduce16 in registers: the same adds in the same order.
__attribute__((target("avx512f"), always_inline)) inline float reduce16_avx512(__m512 v) {
  const __m256 r8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  const __m128 r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
  const __m128 r2 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));  // (r4[0] + r4[2], r4[1] + r4[3])
  return _mm_cvtss_f32(_mm_add_ss(r2, _mm_shuffle_ps(r2, r2, 1)));
}
__attribute__((target("avx2,fma"), always_inline)) inline float reduce16_avx2(__m256 lo, __m256 hi) {
  const __m256 r8 = _mm256_add_ps(lo, hi);
  const __m128 r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
  const __m128 r2 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));
  return _mm_cvtss_f32(_mm_add_ss(r2, _mm_shuffle_ps(r2, r2, 1)));
}

// Two rows x 8 experts of accumulators.
__attribute__((target("avx512f"))) void scores_avx512(const Gate& g, const float* x, int64_t n, float* out) {
  std::vector<float> b0(g.padded), b1(g.padded);
  for (int64_t i = 0; i < n; i += 2) {
    const bool two = i + 1 < n;
    const float* x0 = padded_row(g, x + i * g.dims, b0.data());
    const float* x1 = two ? padded_row(g, x + (i + 1) * g.dims, b1.data()) : x0;
    for (int e0 = 0; e0 < g.experts; e0 += 8) {  // rows past experts are zero (gate_rows)
      const int ne = std::min(8, g.experts - e0);
      __m512 a0[8], a1[8];
#pragma GCC unroll 8
      for (int e = 0; e < 8; ++e) a0[e] = a1[e] = _mm512_setzero_ps();
      const float* w = g.weight + (int64_t)e0 * g.padded;
      const int64_t stride = g.padded;
      for (int t = 0; t < g.padded; t += kLanes) {
        const __m512 v0 = _mm512_loadu_ps(x0 + t), v1 = _mm512_loadu_ps(x1 + t);
#pragma GCC unroll 8
        for (int e = 0; e < 8; ++e) {
          const __m512 wv = _mm512_loadu_ps(w + e * stride + t);
          a0[e] = _mm512_fmadd_ps(v0, wv, a0[e]);
          a1[e] = _mm512_fmadd_ps(v1, wv, a1[e]);
        }
      }
      // Reduced with a fixed trip count, so the accumulators never leave
      // the registers (a runtime-indexed read would keep a copy in memory).
      float r0[8], r1[8];
#pragma GCC unroll 8
      for (int e = 0; e < 8; ++e) r0[e] = reduce16_avx512(a0[e]), r1[e] = reduce16_avx512(a1[e]);
      for (int e = 0; e < ne; ++e) {
        out[i * g.experts + e0 + e] = r0[e];
        if (two) out[(i + 1) * g.experts + e0 + e] = r1[e];
      }
    }
  }
}

// One row x 4 experts, each chain set as two vectors of 8 lanes.
__attribute__((target("avx2,fma"))) void scores_avx2(const Gate& g, const float* x, int64_t n, float* out) {
  std::vector<float> b0(g.padded);
  for (int64_t i = 0; i < n; ++i) {
    const float* x0 = padded_row(g, x + i * g.dims, b0.data());
    for (int e0 = 0; e0 < g.experts; e0 += 4) {  // rows past experts are zero (gate_rows)
      const int ne = std::min(4, g.experts - e0);
      __m256 lo[4], hi[4];
#pragma GCC unroll 4
      for (int e = 0; e < 4; ++e) lo[e] = hi[e] = _mm256_setzero_ps();
      const float* w = g.weight + (int64_t)e0 * g.padded;
      const int64_t stride = g.padded;
      for (int t = 0; t < g.padded; t += kLanes) {
        const __m256 vl = _mm256_loadu_ps(x0 + t), vh = _mm256_loadu_ps(x0 + t + 8);
#pragma GCC unroll 4
        for (int e = 0; e < 4; ++e) {
          const float* we = w + e * stride + t;
          lo[e] = _mm256_fmadd_ps(vl, _mm256_loadu_ps(we), lo[e]);
          hi[e] = _mm256_fmadd_ps(vh, _mm256_loadu_ps(we + 8), hi[e]);
        }
      }
      float r[4];
#pragma GCC unroll 4
      for (int e = 0; e < 4; ++e) r[e] = reduce16_avx2(lo[e], hi[e]);
      for (int e = 0; e < ne; ++e) out[i * g.experts + e0 + e] = r[e];
    }
  }
}
#endif

void check_finite(float s) {
  if (!std::isfinite(s))
    throw Error(ErrorKind::OutOfRange, "a gate score is not finite (the embedding or the gate overflowed float32)",
                "Scale the embedding or the gate's weights down.");
}

bool better(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }
}  // namespace

Gate lay_out_gate(const float* weight, const float* bias, int experts, int dims, float* storage) {
  Gate g;
  g.experts = experts;
  g.dims = dims;
  g.padded = gate_padded(dims);
  std::fill(storage, storage + gate_storage_floats(experts, dims), 0.0f);
  for (int e = 0; e < experts; ++e) std::memcpy(storage + (size_t)e * g.padded, weight + (size_t)e * dims, sizeof(float) * dims);
  g.weight = storage;
  g.bias = bias;
  return g;
}

OwnedGate::OwnedGate(const float* weight, const float* b, int experts, int dims)
    : storage(gate_storage_floats(experts, dims)) {
  if (b) bias.assign(b, b + experts);
  gate = lay_out_gate(weight, b ? bias.data() : nullptr, experts, dims, storage.data());
}

void default_gate_weight(int experts, int dims, float* w) {
  ir::Normals normal{ir::kDefaultGateSeed};
  std::vector<double> row(dims);
  for (int e = 0; e < experts; ++e) {
    double mean = 0;
    for (double& v : row) mean += (v = normal());
    mean /= dims;
    double norm = 0;
    for (double& v : row) {
      if (dims >= 2) v -= mean;
      norm += v * v;
    }
    norm = std::sqrt(norm);
    for (int t = 0; t < dims; ++t) w[(size_t)e * dims + t] = static_cast<float>(row[t] / norm);
  }
}

void gate_scores(const Gate& g, const float* x, int64_t n, float* scores, SimdIsa isa) {
  isa = simd_resolve(isa);
#if defined(__x86_64__)
  if (isa == SimdIsa::Avx512) scores_avx512(g, x, n, scores);
  else if (isa == SimdIsa::Avx2) scores_avx2(g, x, n, scores);
  else scores_scalar(g, x, n, scores);
#else
  scores_scalar(g, x, n, scores);
#endif
  if (g.bias)
    for (int64_t i = 0; i < n; ++i)
      for (int e = 0; e < g.experts; ++e) scores[i * g.experts + e] += g.bias[e];
}

void route_scores(const float* s, int experts, int top_k, ir::Router router, Routed* out) {
  float best = -std::numeric_limits<float>::infinity();
  for (int e = 0; e < experts; ++e) {
    check_finite(s[e]);
    best = std::max(best, s[e]);
  }
  // Selection of the top_k (k is small: insertion into a sorted prefix).
  int n = 0;
  for (int e = 0; e < experts; ++e) {
    if (n == top_k && !better(s[e], e, s[out[n - 1].expert], out[n - 1].expert)) continue;
    int at = n < top_k ? n++ : n - 1;
    while (at > 0 && better(s[e], e, s[out[at - 1].expert], out[at - 1].expert)) {
      out[at] = out[at - 1];
      --at;
    }
    out[at] = {e, 0.0f};
  }
  double sum = 0;
  if (router == ir::Router::Switch)
    for (int e = 0; e < experts; ++e) sum += std::exp((double)s[e] - best);
  else
    for (int j = 0; j < top_k; ++j) sum += std::exp((double)s[out[j].expert] - best);
  for (int j = 0; j < top_k; ++j) out[j].weight = static_cast<float>(std::exp((double)s[out[j].expert] - best) / sum);
}

void route(const Gate& g, const float* x, int64_t n, int top_k, ir::Router router, Routed* out) {
  constexpr int64_t kBlock = 256;
  std::vector<float> scores((size_t)std::min(n, kBlock) * g.experts);
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    check_cancel();
    const int64_t m = std::min(kBlock, n - i0);
    gate_scores(g, x + i0 * g.dims, m, scores.data());
    for (int64_t i = 0; i < m; ++i)
      route_scores(scores.data() + i * g.experts, g.experts, top_k, router, out + (i0 + i) * top_k);
  }
}

std::vector<Chosen> expert_choice(const Gate& g, const float* x, int64_t n, int capacity) {
  const int E = g.experts;
  std::vector<float> S((size_t)n * E);
  constexpr int64_t kBlock = 256;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    check_cancel();
    gate_scores(g, x + i0 * g.dims, std::min(kBlock, n - i0), S.data() + i0 * E);
  }
  for (int64_t i = 0; i < n; ++i) {  // softmax over experts, in f64, stored as f32
    float* s = S.data() + i * E;
    float best = -std::numeric_limits<float>::infinity();
    for (int e = 0; e < E; ++e) {
      check_finite(s[e]);
      best = std::max(best, s[e]);
    }
    double sum = 0;
    for (int e = 0; e < E; ++e) sum += std::exp((double)s[e] - best);
    for (int e = 0; e < E; ++e) s[e] = static_cast<float>(std::exp((double)s[e] - best) / sum);
  }
  const int64_t c = std::min<int64_t>(capacity, n);
  std::vector<Chosen> out;
  out.reserve((size_t)(c * E));
  std::vector<int64_t> rows(n);
  for (int e = 0; e < E; ++e) {
    check_cancel();
    for (int64_t i = 0; i < n; ++i) rows[i] = i;
    auto before = [&](int64_t a, int64_t b) {
      const float wa = S[a * E + e], wb = S[b * E + e];
      return wa > wb || (wa == wb && a < b);
    };
    std::partial_sort(rows.begin(), rows.begin() + c, rows.end(), before);
    for (int64_t j = 0; j < c; ++j) out.push_back({e, rows[j], S[rows[j] * E + e]});
  }
  return out;
}

int kmeans(const float* x, int64_t n, int dims, int k, uint64_t seed, int max_iter, float* centroids) {
  std::vector<double> c((size_t)k * dims), sum((size_t)k * dims);
  // k-means++ (Arthur & Vassilvitskii 2007) on splitmix64(state = seed):
  // the first centroid is row next() % n; each next one is the first row
  // whose running sum of D^2 (squared distance to the nearest centroid so
  // far, f64, rows in order) exceeds u * sum, u = (next() >> 11) / 2^53;
  // when every D^2 is 0, the lowest row not yet taken.
  uint64_t state = seed;
  auto dist2 = [&](int64_t i, const double* cj) {
    double d = 0;
    for (int t = 0; t < dims; ++t) {
      const double u = x[i * dims + t] - cj[t];
      d += u * u;
    }
    return d;
  };
  std::vector<double> near(n, std::numeric_limits<double>::infinity());
  std::vector<char> taken(n, 0);
  int64_t pick = (int64_t)(ir::splitmix64(state) % (uint64_t)n);
  for (int j = 0; j < k; ++j) {
    check_cancel();
    if (j > 0) {
      double total = 0;
      for (int64_t i = 0; i < n; ++i) total += near[i];
      const double u = static_cast<double>(ir::splitmix64(state) >> 11) * 0x1.0p-53;
      pick = -1;
      if (total > 0) {
        double run = 0;
        for (int64_t i = 0; i < n && pick < 0; ++i)
          if ((run += near[i]) > u * total) pick = i;
      }
      if (pick < 0)
        for (int64_t i = 0; i < n && pick < 0; ++i)
          if (!taken[i]) pick = i;
    }
    pick = std::max<int64_t>(pick, 0);  // (n >= k: some row is free)
    taken[pick] = 1;
    double* cj = c.data() + (size_t)j * dims;
    for (int t = 0; t < dims; ++t) cj[t] = x[pick * dims + t];
    for (int64_t i = 0; i < n; ++i) near[i] = std::min(near[i], dist2(i, cj));
  }
  std::vector<int> assign(n, -1);
  std::vector<int64_t> count(k);
  int rounds = 0;
  for (; rounds < max_iter; ++rounds) {
    bool changed = false;
    for (int64_t i = 0; i < n; ++i) {
      if ((i & 1023) == 0) check_cancel();
      int best = 0;
      double best_d = std::numeric_limits<double>::infinity();
      for (int j = 0; j < k; ++j) {
        const double d = dist2(i, c.data() + (size_t)j * dims);
        if (d < best_d) best_d = d, best = j;
      }
      changed |= assign[i] != best;
      assign[i] = best;
    }
    if (!changed) break;
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < n; ++i) {
      ++count[assign[i]];
      for (int t = 0; t < dims; ++t) sum[(size_t)assign[i] * dims + t] += x[i * dims + t];
    }
    for (int j = 0; j < k; ++j)
      if (count[j])
        for (int t = 0; t < dims; ++t) c[(size_t)j * dims + t] = sum[(size_t)j * dims + t] / count[j];
  }
  for (size_t i = 0; i < c.size(); ++i) centroids[i] = static_cast<float>(c[i]);
  return rounds;
}

void centroid_gate(const float* centroids, int k, int dims, float* weight, float* bias) {
  for (int j = 0; j < k; ++j) {
    double cc = 0;
    for (int t = 0; t < dims; ++t) {
      const float v = centroids[(size_t)j * dims + t];
      weight[(size_t)j * dims + t] = v;
      cc += (double)v * v;
    }
    bias[j] = static_cast<float>(-cc / 2);
  }
}

}  // namespace rvj::runtime
