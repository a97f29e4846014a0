// Shared by the comparison pipelines (onednn_bench.cpp, libxsmm_bench.cpp):
// the inputs of openblas_bench.cpp (same seed, same order) and a scalar
// reference to check each pipeline's output once, outside the timed loop.
// Benchmark-only.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace rvj_bench {

// Self-attention over [L x H*hd] row-major Q, K, V (row stride H*hd); head h
// is columns [h*hd, (h+1)*hd).
struct SelfAttentionShape {
  static constexpr int L = 512, H = 8, hd = 64, D = H * hd;
};

struct SelfAttentionInputs {
  std::vector<float> q, k, v;
  SelfAttentionInputs() {
    const size_t n = static_cast<size_t>(SelfAttentionShape::L) * SelfAttentionShape::D;
    q.resize(n), k.resize(n), v.resize(n);
    std::mt19937 gen(3);
    std::normal_distribution<float> nd;
    for (auto* x : {&q, &k, &v})
      for (auto& e : *x) e = nd(gen);
  }
};

// softmax(Q_h K_h^T / sqrt(hd)) V_h per head, in double, computed once per
// process (the programs call it again for every benchmark run).
inline const std::vector<double>& self_attention_reference() {
  static const std::vector<double> ref = [] {
    using S = SelfAttentionShape;
    const SelfAttentionInputs in;
    std::vector<double> out(static_cast<size_t>(S::L) * S::D), p(S::L);
    const double scale = 1.0 / std::sqrt(static_cast<double>(S::hd));
    for (int h = 0; h < S::H; ++h)
      for (int i = 0; i < S::L; ++i) {
        const float* qi = in.q.data() + static_cast<size_t>(i) * S::D + h * S::hd;
        double m = -INFINITY, sum = 0;
        for (int j = 0; j < S::L; ++j) {
          const float* kj = in.k.data() + static_cast<size_t>(j) * S::D + h * S::hd;
          double s = 0;
          for (int c = 0; c < S::hd; ++c) s += static_cast<double>(qi[c]) * kj[c];
          p[j] = s * scale;
          m = std::max(m, p[j]);
        }
        for (int j = 0; j < S::L; ++j) sum += p[j] = std::exp(p[j] - m);
        double* oi = out.data() + static_cast<size_t>(i) * S::D + h * S::hd;
        for (int j = 0; j < S::L; ++j) {
          const float* vj = in.v.data() + static_cast<size_t>(j) * S::D + h * S::hd;
          for (int c = 0; c < S::hd; ++c) oi[c] += p[j] / sum * vj[c];
        }
      }
    return out;
  }();
  return ref;
}

// Max-norm relative error of `out` against the reference:
// max |out - ref| / max |ref| (element-wise relative error is meaningless for
// outputs near zero).
inline double self_attention_error(const std::vector<float>& out) {
  const auto& ref = self_attention_reference();
  double err = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::abs(out[i] - ref[i]));
    norm = std::max(norm, std::abs(ref[i]));
  }
  return err / norm;
}

// Runs `run` once and checks `out` against the reference (also the warm-up;
// the row is skipped when the pipeline is wrong), then times it and reports
// GFLOP/s (4 L L D per run).
template <typename Run>
void check_then_time(benchmark::State& st, Run&& run, const std::vector<float>& out) {
  using S = SelfAttentionShape;
  run();
  if (const double err = self_attention_error(out); !(err <= 1e-4)) {
    st.SkipWithError(("output differs from the scalar reference: relative error " + std::to_string(err)).c_str());
    return;
  }
  for (auto _ : st) {
    run();
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * S::L * S::L * S::D, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

}  // namespace rvj_bench
