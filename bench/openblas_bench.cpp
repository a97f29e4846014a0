// The generic pipeline a user could reach for instead: OpenBLAS SGEMM ->
// row softmax -> SGEMM, per head, for the same self-attention shape as
// kernel_bench.cpp (seq 512, 8 heads of 64, fp32). Benchmark-only: never
// linked into the extension.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace {

void BM_OpenBlasSelfAttention_512x8x64(benchmark::State& st) {
  const int L = 512, H = 8, hd = 64, D = H * hd;
  openblas_set_num_threads(static_cast<int>(st.range(0)));
  std::mt19937 gen(3);
  std::normal_distribution<float> n;
  std::vector<float> q(L * D), k(L * D), v(L * D), out(L * D), s(L * L);
  for (auto* x : {&q, &k, &v})
    for (auto& e : *x) e = n(gen);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (auto _ : st) {
    for (int h = 0; h < H; ++h) {
      // S = scale * Q_h K_h^T: rows of Q and K are strided by D
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, hd, scale, q.data() + h * hd, D,
                  k.data() + h * hd, D, 0.0f, s.data(), L);
      for (int i = 0; i < L; ++i) {  // numerically stable row softmax
        float* row = s.data() + static_cast<size_t>(i) * L;
        float m = row[0];  // a plain loop: GCC 12 keeps max_element's running max in memory
        for (int j = 1; j < L; ++j) m = std::max(m, row[j]);
        float sum = 0;
        for (int j = 0; j < L; ++j) sum += row[j] = std::exp(row[j] - m);
        for (int j = 0; j < L; ++j) row[j] /= sum;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, s.data(), L, v.data() + h * hd, D,
                  0.0f, out.data() + h * hd, D);
    }
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * L * L * D, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  st.counters["extra_bytes"] = static_cast<double>(L) * L * sizeof(float);
}

}  // namespace

BENCHMARK(BM_OpenBlasSelfAttention_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
