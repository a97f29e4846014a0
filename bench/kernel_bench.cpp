// Kernel-level benchmarks: the JIT score kernel against Eigen and a scalar
// loop, and first-call compile latency.
#include <benchmark/benchmark.h>

// GCC 12 reports -Wmaybe-uninitialized inside Eigen 3.4's AVX-512 GEMM
// packing (ptranspose in gemm_pack_lhs), a known false positive of that
// pair; the generic Eigen baselines below use that GEMM.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <Eigen/Core>
#include <cmath>
#include <random>
#include <vector>

#include <filesystem>
#include <stdlib.h>

#include "codegen/jit.h"
#include "codegen/provider.h"
#include "runtime/codegen_loader.h"
#include "ir/recipes/sequence.h"
#include "runtime/native.h"
#include "runtime/disk_cache.h"
#include "runtime/dot_block.h"
#include "runtime/engine.h"
#include "runtime/online_softmax.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/parallel.h"
#include "runtime/linear_table.h"
#include "runtime/schedules/linear.h"
#include <string>
#include "runtime/graph.h"
#include "runtime/moe.h"
#include <thread>
#include "ir/recipes/mechanisms.h"

namespace {

std::vector<float> random_vec(int d, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> n;
  std::vector<float> v(d);
  for (auto& x : v) x = n(gen);
  return v;
}

void BM_JitScaledDot(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto k = rvj::codegen::compile(rvj::ir::build_scaled_dot(d));
  auto a = random_vec(d, 1), b = random_vec(d, 2);
  const float* in[2] = {a.data(), b.data()};
  double out[1];
  for (auto _ : st) {
    k.fn(in, nullptr, out);
    benchmark::DoNotOptimize(out[0]);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * 2 * d * sizeof(float));
}

// The native <#> kernel the operator runs (runtime/native.h), called as the
// operator calls it: the kernel alone, the floor under the SQL per-row cost.
void BM_NativeInnerProduct(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  const rvj::ir::Mechanism& m = *rvj::ir::find_mechanism("negative_inner_product");
  const rvj::runtime::NativeFn fn = rvj::runtime::native_kernel(m);
  auto a = random_vec(d, 1), b = random_vec(d, 2);
  for (auto _ : st) {
    double r = rvj::runtime::run_native(m, fn, a.data(), b.data(), d, nullptr);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
}

void BM_EigenDot(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto a = random_vec(d, 1), b = random_vec(d, 2);
  Eigen::Map<const Eigen::VectorXf> va(a.data(), d), vb(b.data(), d);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (auto _ : st) {
    double s = va.dot(vb) * scale;
    benchmark::DoNotOptimize(s);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * 2 * d * sizeof(float));
}

// Eigen behind a call with the kernel's own ABI: what a generic compiled
// kernel costs at the same call site (the executor calls through a pointer).
__attribute__((noinline)) void eigen_kernel(const float* const* in, const double*, double* out, int d) {
  Eigen::Map<const Eigen::VectorXf> va(in[0], d), vb(in[1], d);
  out[0] = va.dot(vb) / std::sqrt(static_cast<double>(d));
}

void BM_EigenDotCall(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto a = random_vec(d, 1), b = random_vec(d, 2);
  const float* in[2] = {a.data(), b.data()};
  double out[1];
  for (auto _ : st) {
    eigen_kernel(in, nullptr, out, d);
    benchmark::DoNotOptimize(out[0]);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * 2 * d * sizeof(float));
}

// What a straightforward C++ loop compiles to at -O3 without fast-math
// (the float sum cannot be reordered, so it does not vectorise).
__attribute__((noinline)) double scalar_dot(const float* a, const float* b, int d) {
  float s = 0;
  for (int i = 0; i < d; ++i) s += a[i] * b[i];
  return s / std::sqrt(static_cast<double>(d));
}

void BM_ScalarDot(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto a = random_vec(d, 1), b = random_vec(d, 2);
  for (auto _ : st) {
    double s = scalar_dot(a.data(), b.data(), d);
    benchmark::DoNotOptimize(s);
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(st.iterations() * 2 * d * sizeof(float));
}

// First-call latency: lower + O3 + machine code for a fresh kernel.
void BM_FirstCallCompile(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto fn = rvj::ir::build_scaled_dot(d);
  rvj::codegen::compile(fn);  // one-time LLVM and JIT set-up is not part of it
  for (auto _ : st) {
    auto k = rvj::codegen::compile(fn);
    benchmark::DoNotOptimize(k.fn);
  }
}

// The flash tile and single-query kernels of scaled_dot, head dim 64.
void BM_FirstCallCompileTile(benchmark::State& st) {
  const auto kind = st.range(0) == 0 ? rvj::ir::KernelKind::Tile : rvj::ir::KernelKind::Query;
  auto fn = rvj::ir::tile_kernel(rvj::ir::build_scaled_dot(64), 64, kind);
  rvj::codegen::compile(fn);
  for (auto _ : st) {
    auto k = rvj::codegen::compile(fn);
    benchmark::DoNotOptimize(k.fn);
  }
}

void BM_FirstCallCompilePoincare(benchmark::State& st) {
  auto fn = rvj::ir::build_poincare_distance(static_cast<int>(st.range(0)));
  rvj::codegen::compile(fn);
  for (auto _ : st) benchmark::DoNotOptimize(rvj::codegen::compile(fn).fn);
}

// Loading a kernel from the disk cache: read, verify, link; no compile.
void BM_LoadFromDiskCache(benchmark::State& st) {
  auto fn = rvj::ir::build_scaled_dot(static_cast<int>(st.range(0)));
  char tmpl[] = "/tmp/rvj_bench_cache_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  rvj::runtime::DiskCache disk;
  disk.set_dir(dir ? dir : "/tmp");
  std::vector<rvj::runtime::Notice> notices;
  disk.store(fn, rvj::codegen::compile(fn).object, notices);
  for (auto _ : st) {
    auto object = disk.load(fn, notices);
    auto k = rvj::codegen::load_object(fn, *object);
    benchmark::DoNotOptimize(k.fn);
  }
  std::filesystem::remove_all(disk.dir());
}

// ---- sequence attention on the flash schedule ----------------------------

// Rows `stride` floats apart (the row length: one contiguous block; 2 more:
// the 8-byte header of each ruvector in a PostgreSQL array between them).
// Uniform in [-0.5, 0.5), as the SQL benchmarks' tables and the torch
// scripts draw the rows of the row normalisers (whose cost depends on the
// spread of the logits).
std::vector<float> uniform_vec(int d, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> v(d);
  for (auto& x : v) x = u(gen);
  return v;
}

// Normal rows for q, k and v; or (self_uniform, L == S) one set of uniform
// rows as queries, keys and values, the self-attention of the SQL and torch
// benchmarks of the row normalisers.
struct SeqData {
  std::vector<float> q, k, v;
  std::vector<const float*> qr, kr, vr;
  SeqData(int L, int S, int stride, bool self_uniform = false)
      : q(self_uniform ? uniform_vec(L * stride, 3) : random_vec(L * stride, 3)),
        k(self_uniform ? std::vector<float>() : random_vec(S * stride, 4)),
        v(self_uniform ? std::vector<float>() : random_vec(S * stride, 5)) {
    const std::vector<float>& keys = self_uniform ? q : k;
    const std::vector<float>& values = self_uniform ? q : v;
    for (int i = 0; i < L; ++i) qr.push_back(q.data() + static_cast<size_t>(i) * stride);
    for (int j = 0; j < S; ++j)
      kr.push_back(keys.data() + static_cast<size_t>(j) * stride), vr.push_back(values.data() + static_cast<size_t>(j) * stride);
  }
};

// L queries over S keys, `heads` heads of 64: scaled_dot through the flash
// schedule, `threads` threads. FLOPs counted as 4 L S D (Q.K^T and P.V).
void run_sequence(benchmark::State& st, const char* mechanism, int L, int S, int heads, int block, int gap = 0,
                  bool self_uniform = false) {
  const int hd = 64, D = heads * hd, threads = static_cast<int>(st.range(0));
  SeqData data(L, S, D + gap, self_uniform);
  const auto& m = *rvj::ir::find_sequence_mechanism(mechanism);
  std::vector<double> params;
  for (const auto& p : m.params) params.push_back(p.default_value);
  params[rvj::ir::param_index(m.params, "num_heads")] = heads;
  if (int b = rvj::ir::param_index(m.params, "block_size"); b >= 0) params[b] = block;
  if (int w = rvj::ir::param_index(m.params, "window"); w >= 0) params[w] = 128;
  auto plan = rvj::runtime::plan_sequence(m, params.data(), L, S, D, D, D);
  auto score = rvj::runtime::bind_sequence(plan, true);
  std::vector<float> out(static_cast<size_t>(L) * D);
  for (auto _ : st) {
    rvj::runtime::run_flash_parallel(plan, score, data.qr.data(), data.kr.data(), data.vr.data(), 0, L, out.data(),
                                     threads);
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * L * S * D, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  st.counters["kv_GB/s"] = benchmark::Counter(2.0 * S * D * sizeof(float), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
  // Extra memory per thread, as the schedule reports it (explain shows the same).
  st.counters["extra_bytes"] = static_cast<double>(threads) * rvj::runtime::block_memory(plan);
}

void BM_SingleQuery_512x8x64(benchmark::State& st) { run_sequence(st, "scaled_dot", 1, 512, 8, 64); }
// The same keys and values for one head: 256 KB, resident in L2 (the 8-head
// case reads 2 MB per call, which is about this machine's L2).
void BM_SingleQuery_512x1x64(benchmark::State& st) { run_sequence(st, "scaled_dot", 1, 512, 1, 64); }
// The same 8 heads laid out as a ruvector[] argument holds them: rows 2056
// bytes apart, not 2048 (a power of two puts a head's slices of all rows
// into a few L1 sets).
void BM_SingleQuery_512x8x64_Array(benchmark::State& st) { run_sequence(st, "scaled_dot", 1, 512, 8, 64, 2); }
void BM_SelfAttention_512x8x64(benchmark::State& st) { run_sequence(st, "scaled_dot", 512, 512, 8, 64); }
// The sigmoid on the tile kernels (FlashSigmoid), and the normalisers that
// need whole rows (blocked logits), at the self-attention shape above.
void BM_Sigmoid_512x8x64(benchmark::State& st) { run_sequence(st, "sigmoid", 512, 512, 8, 64, 0, true); }
void BM_Sparsemax_512x8x64(benchmark::State& st) { run_sequence(st, "sparsemax", 512, 512, 8, 64, 0, true); }
void BM_Entmax15_512x8x64(benchmark::State& st) { run_sequence(st, "entmax15", 512, 512, 8, 64, 0, true); }
void BM_TopkSparse_512x8x64(benchmark::State& st) { run_sequence(st, "topk_sparse", 512, 512, 8, 64, 0, true); }
void BM_FlashV2_4096x1x64(benchmark::State& st) { run_sequence(st, "flash_v2", 4096, 4096, 1, 64); }
// The sparse case: a window of 128 over 4096 walks ~1/16 of the key blocks.
void BM_SlidingWindow_4096x1x64(benchmark::State& st) { run_sequence(st, "sliding_window", 4096, 4096, 1, 64); }

// Additive attention (Bahdanau): 512 queries over 512 keys, attention
// dimension a = 64, values of 64; queries and keys already projected (as
// ruvector_additive_attention projects them once), the per-row path with the
// kernel's vectorised tanh. Counted in tanh evaluations (L S a).
void BM_AdditiveAttention_512x64(benchmark::State& st) {
  const int L = 512, S = 512, a = 64, threads = static_cast<int>(st.range(0));
  SeqData data(L, S, a);
  std::vector<float> v = random_vec(a, 6);
  const auto& m = *rvj::ir::find_weighted_sequence_mechanism("additive");
  std::vector<double> params;
  for (const auto& p : m.params) params.push_back(p.default_value);
  auto plan = rvj::runtime::plan_sequence(m, params.data(), L, S, a, a, a);
  plan.score_vector = v.data();
  auto score = rvj::runtime::bind_sequence(plan, true);
  std::vector<float> out(static_cast<size_t>(L) * a);
  for (auto _ : st) {
    rvj::runtime::run_flash_parallel(plan, score, data.qr.data(), data.kr.data(), data.vr.data(), 0, L, out.data(),
                                     threads);
    benchmark::ClobberMemory();
  }
  st.counters["tanh/s"] = benchmark::Counter(1.0 * L * S * a, benchmark::Counter::kIsIterationInvariantRate,
                                             benchmark::Counter::kIs1000);
}

// The machine's fp32 FMA peak per core, measured: 12 independent zmm/ymm
// FMA chains, compiled for the host.
void BM_FmaPeak(benchmark::State& st) {
  // The widest vectors this build has: 12 accumulators of twice that width
  // would not fit AVX2's 16 registers and would spill.
#if defined(__AVX512F__)
  using V = float __attribute__((vector_size(64)));
#else
  using V = float __attribute__((vector_size(32)));
#endif
  constexpr int lanes = sizeof(V) / sizeof(float);
  V acc[12];
  for (auto& a : acc) a = V{} + 1.0f;
  const V x = V{} + 0.999999f, y = V{} + 1e-7f;
  for (auto _ : st) {
    for (int r = 0; r < 1000; ++r)
      for (auto& a : acc) a = a * x + y;
    benchmark::DoNotOptimize(acc);
  }
  st.counters["GFLOP/s"] = benchmark::Counter(12.0 * 1000 * lanes * 2, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

// The floor under the single-query case: reading K and V (2 MB: 8 heads of
// 512 keys x 64, twice) once, on `threads` threads each summing its share
// with 8 independent 512-bit accumulators, the same buffer every iteration
// as the single-query benchmark reads the same K and V.
void BM_ReadBandwidth(benchmark::State& st) {
  using V = float __attribute__((vector_size(64)));
  const int threads = static_cast<int>(st.range(0));
  const size_t n = 2u << 20 >> 2;  // floats in 2 MB
  std::vector<float> data = random_vec(static_cast<int>(n), 9);
  std::vector<float> sums(threads);
  for (auto _ : st) {
    rvj::runtime::parallel_for_blocks(threads, threads, [&](int t) {
      const float* x = data.data() + n * t / threads;
      const size_t m = n / threads;
      V acc[8] = {};
      for (size_t i = 0; i + 128 <= m; i += 128)
        for (int u = 0; u < 8; ++u) {
          V v;
          __builtin_memcpy(&v, x + i + 16 * u, sizeof v);
          acc[u] += v;
        }
      V total = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
      sums[t] = total[0];
    });
    benchmark::DoNotOptimize(sums.data());
  }
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(n) * sizeof(float),
                                           benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// JIT-specialised head-dim score (dims baked in) against a generic Eigen dot
// with the length known only at run time, as a generic C++ kernel has it.
__attribute__((noinline)) float eigen_generic_dot(const float* a, const float* b, int d) {
  return Eigen::Map<const Eigen::VectorXf>(a, d).dot(Eigen::Map<const Eigen::VectorXf>(b, d)) /
         std::sqrt(static_cast<float>(d));
}

void BM_HeadDimScoreJit(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto k = rvj::codegen::compile(rvj::ir::build_scaled_dot(d));
  auto a = random_vec(d * 64, 1), b = random_vec(d * 64, 2);
  double out[1];
  for (auto _ : st)
    for (int i = 0; i < 64; ++i) {
      const float* in[2] = {a.data() + i * d, b.data() + i * d};
      k.fn(in, nullptr, out);
      benchmark::DoNotOptimize(out[0]);
    }
  st.SetItemsProcessed(st.iterations() * 64);
}

void BM_HeadDimScoreEigen(benchmark::State& st) {
  int d = static_cast<int>(st.range(0));
  auto a = random_vec(d * 64, 1), b = random_vec(d * 64, 2);
  for (auto _ : st)
    for (int i = 0; i < 64; ++i) benchmark::DoNotOptimize(eigen_generic_dot(a.data() + i * d, b.data() + i * d, d));
  st.SetItemsProcessed(st.iterations() * 64);
}

// Attention at each head dimension, one head, L = S = 512: the JIT's tile
// kernel (specialised for the head and value dims and the ISA) against the
// same FlashAttention-2 loop written generically with Eigen (GEMM blocks of
// 64 x 64, Eigen's vectorised exp), which is what a C++ user would write.
void BM_HeadDimAttentionJit(benchmark::State& st) {
  const int d = static_cast<int>(st.range(0)), L = 512;
  SeqData data(L, L, d);
  const auto& m = *rvj::ir::find_sequence_mechanism("scaled_dot");
  std::vector<double> params;
  for (const auto& p : m.params) params.push_back(p.default_value);
  auto plan = rvj::runtime::plan_sequence(m, params.data(), L, L, d, d, d);
  auto score = rvj::runtime::bind_sequence(plan, true);
  std::vector<float> out(static_cast<size_t>(L) * d);
  for (auto _ : st) {
    rvj::runtime::run_flash_parallel(plan, score, data.qr.data(), data.kr.data(), data.vr.data(), 0, L, out.data(), 1);
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * L * L * d, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

void eigen_flash(const float* Q, const float* K, const float* V, int L, int S, int d, float* out) {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const M> q(Q, L, d), k(K, S, d), v(V, S, d);
  Eigen::Map<M> o_all(out, L, d);
  const int B = 64;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  M s(B, B), o(B, d);
  Eigen::VectorXf m(B), l(B), mnew(B), alpha(B);
  for (int i0 = 0; i0 < L; i0 += B) {
    const int nb = std::min(B, L - i0);
    o.setZero();
    m.setConstant(-INFINITY);
    l.setZero();
    for (int j0 = 0; j0 < S; j0 += B) {
      const int nk = std::min(B, S - j0);
      auto sb = s.topLeftCorner(nb, nk);
      sb.noalias() = scale * q.middleRows(i0, nb) * k.middleRows(j0, nk).transpose();
      for (int r = 0; r < nb; ++r) {  // per row (GCC 12 warns inside Eigen's rowwise AVX-512 reductions)
        float mx = m[r];
        for (int c = 0; c < nk; ++c) mx = std::max(mx, sb(r, c));
        mnew[r] = mx;
        alpha[r] = std::exp(m[r] - mnew[r]);
      }
      sb = (sb.colwise() - mnew.head(nb)).array().exp().matrix();
      l.head(nb) = l.head(nb).cwiseProduct(alpha.head(nb)) + sb.rowwise().sum();
      o.topRows(nb) = alpha.head(nb).asDiagonal() * o.topRows(nb);
      o.topRows(nb).noalias() += sb * v.middleRows(j0, nk);
      m.head(nb) = mnew.head(nb);
    }
    o_all.middleRows(i0, nb) = l.head(nb).cwiseInverse().asDiagonal() * o.topRows(nb);
  }
}

void BM_HeadDimAttentionEigen(benchmark::State& st) {
  const int d = static_cast<int>(st.range(0)), L = 512;
  SeqData data(L, L, d);
  std::vector<float> out(static_cast<size_t>(L) * d);
  for (auto _ : st) {
    eigen_flash(data.q.data(), data.k.data(), data.v.data(), L, L, d, out.data());
    benchmark::ClobberMemory();
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * L * L * d, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

}  // namespace

BENCHMARK(BM_SingleQuery_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SingleQuery_512x8x64_Array)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SingleQuery_512x1x64)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SelfAttention_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sigmoid_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sparsemax_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Entmax15_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopkSparse_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FlashV2_4096x1x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_SlidingWindow_4096x1x64)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AdditiveAttention_512x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FmaPeak);
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HeadDimScoreJit)->Arg(32)->Arg(64)->Arg(96)->Arg(128);
BENCHMARK(BM_HeadDimScoreEigen)->Arg(32)->Arg(64)->Arg(96)->Arg(128);
BENCHMARK(BM_HeadDimAttentionJit)->Arg(32)->Arg(64)->Arg(96)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HeadDimAttentionEigen)->Arg(32)->Arg(64)->Arg(96)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JitScaledDot)->Arg(384)->Arg(768);
BENCHMARK(BM_NativeInnerProduct)->Arg(384)->Arg(768);
BENCHMARK(BM_EigenDot)->Arg(384)->Arg(768);
BENCHMARK(BM_EigenDotCall)->Arg(384)->Arg(768);
BENCHMARK(BM_ScalarDot)->Arg(384)->Arg(768);
BENCHMARK(BM_FirstCallCompile)->Arg(384)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_FirstCallCompileTile)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_FirstCallCompilePoincare)->Arg(384)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_LoadFromDiskCache)->Arg(384)->Unit(benchmark::kMillisecond)->Iterations(50);
// Linked in here (the extension loads it as a module).
const bool codegen_registered = (rvj::runtime::register_codegen(&rvj::codegen::provider()), true);

// ruvector_linear_attend's kernel: one query of 512 dims (8 heads x 64)
// against a linear state over 512-dim values, built and packed beforehand
// (a call site packs a stored state once).
void BM_LinearAttend(benchmark::State& st) {
  const rvj::ir::SequenceMechanism& m = *rvj::ir::find_sequence_mechanism("linear");
  std::vector<double> params(m.params.size());
  rvj::ir::default_params(m.params, params.data());
  params[0] = 8;  // num_heads
  const int d = 512;
  rvj::runtime::SequencePlan p = rvj::runtime::linear_table_plan(m, params.data(), d, d);
  rvj::runtime::bind_linear(p, true);  // as SQL binds it
  std::vector<double> state(rvj::runtime::linear_state_size(p), 0.0);
  for (int j = 0; j < 64; ++j) {
    const auto k = random_vec(d, 100 + j), v = random_vec(d, 300 + j);
    rvj::runtime::linear_table_add(p, k.data(), v.data(), state.data());
  }
  const auto q = random_vec(d, 7);
  std::vector<float> out(p.out_dims()), packed(rvj::runtime::linear_query_size(p));
  rvj::runtime::linear_pack_state(p, state.data(), packed.data());
  for (auto _ : st) {
    rvj::runtime::linear_table_attend(p, packed.data(), q.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_LinearAttend)->Unit(benchmark::kMicrosecond);

// The linear schedule as ruvector_attention runs it: 4096 rows of 512 dims
// (8 heads x 64) attending to themselves, state then queries, in the SQL
// function's slices; range(0) picks the mechanism (0 linear, 1
// linear_causal, 2 cosformer, 3 performer with 128 features), range(1) the
// threads. GFLOP/s counts the state products (2 L F (d_v + 1) twice per
// head, the feature maps and FAVOR+'s W x not included).
void BM_LinearSequence(benchmark::State& st) {
  static const char* const names[] = {"linear", "linear_causal", "cosformer", "performer"};
  const char* name = names[st.range(0)];
  const int threads = static_cast<int>(st.range(1)), n = 4096, d = 512;
  const rvj::ir::SequenceMechanism& m = *rvj::ir::find_sequence_mechanism(name);
  std::vector<double> params(m.params.size());
  rvj::ir::default_params(m.params, params.data());
  for (size_t i = 0; i < m.params.size(); ++i) {
    if (std::string(m.params[i].name) == "num_heads") params[i] = 8;
    if (std::string(m.params[i].name) == "num_features") params[i] = 128;
  }
  rvj::runtime::SequencePlan p = rvj::runtime::plan_sequence(m, params.data(), n, n, d, d, d);
  std::vector<double> w(rvj::runtime::favor_weights_size(p));
  rvj::runtime::favor_weights(p, w.data());
  p.favor_w = w.data();
  rvj::runtime::bind_linear(p, true);  // as SQL binds it
  const auto x = random_vec(n * d, 21);
  std::vector<const float*> rows(n);
  for (int i = 0; i < n; ++i) rows[i] = x.data() + static_cast<size_t>(i) * d;
  std::vector<double> state(rvj::runtime::linear_state_size(p));
  std::vector<float> out(static_cast<size_t>(n) * p.out_dims()), packed(rvj::runtime::linear_query_size(p));
  const int step = rvj::runtime::linear_step_rows(p, threads);
  for (auto _ : st) {
    rvj::runtime::linear_init(p, state.data());
    if (!p.causal)
      for (int j0 = 0; j0 < n; j0 += step)
        rvj::runtime::linear_add_keys(p, rows.data(), rows.data(), j0, std::min(n, j0 + step), state.data(), threads);
    if (!p.causal) rvj::runtime::linear_pack_state(p, state.data(), packed.data());
    for (int q0 = 0; q0 < n; q0 += step) {
      float* o = out.data() + static_cast<size_t>(q0) * p.out_dims();
      if (p.causal)
        rvj::runtime::run_linear(p, p.params.eps, rows.data(), rows.data(), rows.data(), q0, std::min(n, q0 + step),
                                 state.data(), o, p.out_dims(), threads);
      else
        rvj::runtime::linear_query(p, p.params.eps, packed.data(), rows.data(), q0, std::min(n, q0 + step), o,
                                   p.out_dims(), threads);
    }
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * n * p.heads * p.feature_dim() * (p.value_dim + 1),
                                              benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_LinearSequence)
    ->ArgsProduct({{0, 1, 2, 3}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The state products alone, as BM_LinearSequence/0/1 runs them (linear,
// 4096 rows, 8 heads x 64, one thread): per head and 64-key chunk
// phi(K_c)^T [V_c | 1] (the columns form, over the chunk's keys), per head
// and 64-query block phi(Q_b) [S | z] (the rows form, over the features). The
// schedule computes a block's features and packs its values just before its
// product, into a thread's scratch, so here they are made beforehand, one
// block per head, warm in the caches (the feature maps, packing and division
// are BM_LinearSequence's). GFLOP/s counts the useful products,
// 2 L F (d_v + 1) twice per head, as BM_LinearSequence does. range(0): 0
// the generated panel kernel (as SQL runs them), 1 the hand-written
// products (the JIT off).
void BM_LinearStateProducts(benchmark::State& st) {
  rvj::runtime::SequencePlan bound{};
  if (st.range(0) == 0) rvj::runtime::bind_linear(bound, true);
  const rvj::runtime::PanelKernel k = bound.panel;
  using rvj::runtime::panel_docs;
  using rvj::runtime::query_rows;
  const int n = 4096, heads = 8, F = 64, dv = 64, chunk = rvj::runtime::kLinearChunk, W = panel_docs(dv + 1);
  const int chunks = n / chunk;
  const size_t phi_size = static_cast<size_t>(query_rows(chunk)) * F, panels = static_cast<size_t>(W) * chunk;
  const auto phi = random_vec(heads * phi_size, 31), values = random_vec(heads * panels, 32),
             state = random_vec(heads * static_cast<size_t>(W) * F, 33);
  std::vector<float> prod(static_cast<size_t>(query_rows(F)) * W), out(static_cast<size_t>(query_rows(chunk)) * W);
  for (auto _ : st) {
    for (int c = 0; c < chunks; ++c)
      for (int h = 0; h < heads; ++h)
        k.columns(phi.data() + h * phi_size, F, F, chunk, values.data() + h * panels, dv + 1, prod.data(), W);
    for (int b = 0; b < chunks; ++b)
      for (int h = 0; h < heads; ++h)
        k.rows(phi.data() + h * phi_size, chunk, F, state.data() + static_cast<size_t>(h) * W * F, dv + 1, out.data(),
               W);
    benchmark::DoNotOptimize(prod.data());
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4.0 * n * heads * F * (dv + 1), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_LinearStateProducts)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Mixture-of-experts routing: 512 vectors x 512 dims x 8 experts, top 2,
// one thread: the gate scores and the router (runtime/moe).
void BM_MoeRoute_512x512x8(benchmark::State& st) {
  const int n = 512, d = 512, experts = 8, k = 2;
  std::vector<float> w((size_t)experts * d);
  rvj::runtime::default_gate_weight(experts, d, w.data());
  rvj::runtime::OwnedGate g(w.data(), nullptr, experts, d);
  std::vector<float> x((size_t)n * d);
  for (int i = 0; i < n; ++i) {
    const auto r = random_vec(d, 1000 + i);
    std::copy(r.begin(), r.end(), x.begin() + (size_t)i * d);
  }
  std::vector<rvj::runtime::Routed> out((size_t)n * k);
  for (auto _ : st) {
    rvj::runtime::route(g.gate, x.data(), n, k, rvj::ir::Router::TopK, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * d * experts * st.iterations(), benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MoeRoute_512x512x8)->Unit(benchmark::kMicrosecond);

// One GAT layer (PyG GATConv's arithmetic, runtime/graph): 1000 nodes, 10000
// random edges plus self-loops, 64 input features, 4 heads x 16 channels.
// The projections, then per target the per-edge JIT kernels, the softmax
// and the sums; the threads split the targets.
void BM_GatLayer_1000x10000(benchmark::State& st) {
  const int threads = static_cast<int>(st.range(0));
  const int N = 1000, E = 10000, F = 64, H = 4, C = 16;
  rvj::runtime::GraphLayer l;
  l.kind = rvj::runtime::GraphKind::Gat;
  l.in_dims = F, l.heads = H, l.channels = C;
  const auto lin = random_vec(H * C * F, 1), as = random_vec(H * C, 2), ad = random_vec(H * C, 3),
             bias = random_vec(H * C, 4);
  std::vector<float> scaled(lin);
  for (float& v : scaled) v *= 0.125f;
  l.lin = scaled.data(), l.att_src = as.data(), l.att_dst = ad.data(), l.bias = bias.data();
  rvj::runtime::bind_graph_layer(l, true);
  std::vector<float> packed(rvj::runtime::graph_packed_floats(l));
  rvj::runtime::pack_graph_layer(l, packed.data());
  std::vector<float> x((size_t)N * F);
  for (int i = 0; i < N; ++i) {
    const auto r = random_vec(F, 50 + i);
    std::copy(r.begin(), r.end(), x.begin() + (size_t)i * F);
  }
  std::mt19937 gen(9);
  std::vector<std::vector<int>> in_edges(N);
  for (int e = 0; e < E; ++e) in_edges[gen() % N].push_back((int)(gen() % N));
  std::vector<float> proj((size_t)N * H * C), out((size_t)N * H * C);
  auto run = [&](int t0, int t1) {
    rvj::runtime::project_nodes(l, x.data() + (size_t)t0 * F, t1 - t0, proj.data() + (size_t)t0 * H * C);
  };
  auto attend = [&](int t0, int t1) {
    std::vector<const float*> nb;
    std::vector<double> alpha;
    for (int t = t0; t < t1; ++t) {
      nb.clear();
      for (int s : in_edges[t]) nb.push_back(proj.data() + (size_t)s * H * C);
      nb.push_back(proj.data() + (size_t)t * H * C);
      alpha.resize(nb.size() * H);
      const float* pi = proj.data() + (size_t)t * H * C;
      rvj::runtime::graph_attention(l, pi, nb.data(), (int)nb.size(), alpha.data());
      rvj::runtime::graph_aggregate(l, pi, nb.data(), (int)nb.size(), alpha.data(), out.data() + (size_t)t * H * C);
    }
  };
  auto split = [&](auto&& f) {
    if (threads == 1) return f(0, N);
    std::thread other([&] { f(N / 2, N); });
    f(0, N / 2);
    other.join();
  };
  for (auto _ : st) {
    split(run);
    split(attend);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_GatLayer_1000x10000)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
