// Kernel-level benchmarks: the JIT score kernel against Eigen and a scalar
// loop, and first-call compile latency.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <random>
#include <vector>

#include <filesystem>
#include <stdlib.h>

#include "codegen/jit.h"
#include "runtime/disk_cache.h"
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

}  // namespace

BENCHMARK(BM_JitScaledDot)->Arg(384)->Arg(768);
BENCHMARK(BM_EigenDot)->Arg(384)->Arg(768);
BENCHMARK(BM_EigenDotCall)->Arg(384)->Arg(768);
BENCHMARK(BM_ScalarDot)->Arg(384)->Arg(768);
BENCHMARK(BM_FirstCallCompile)->Arg(384)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_FirstCallCompilePoincare)->Arg(384)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_LoadFromDiskCache)->Arg(384)->Unit(benchmark::kMillisecond)->Iterations(50);
BENCHMARK_MAIN();
