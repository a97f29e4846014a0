// The native kernels (runtime/native.cpp) built for one ISA by -march (the
// build compiles one program per ISA with RVJ_NATIVE_ONE_ISA), checked bit
// for bit against the interpreter at every length up to 300 and beyond: each
// target_clones clone of the module computes the same bits. A program whose
// ISA this machine lacks says so and passes.
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "ir/interpreter.h"
#include "ir/recipes/mechanisms.h"
#include "runtime/native.h"

using namespace rvj;

int main() {
  __builtin_cpu_init();
#if defined(__AVX512F__)
  const char* isa = "avx512f";
  const bool runnable = __builtin_cpu_supports("avx512f");
#elif defined(__AVX2__)
  const char* isa = "avx2";
  const bool runnable = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  const char* isa = "baseline x86-64";
  const bool runnable = true;
#endif
  if (!runnable) {
    std::printf("native kernels built for %s: this machine lacks it, skipped\n", isa);
    return 0;
  }
  std::mt19937 gen(5);
  std::normal_distribution<float> normal;
  long checked = 0, bad = 0;
  for (const ir::Mechanism& m : ir::mechanisms()) {
    const runtime::NativeFn fn = runtime::native_kernel(m);
    if (!fn) continue;
    for (int d = 1; d <= 4200; d += d < 300 ? 1 : 37) {
      const ir::Function f = m.build(d);
      std::vector<float> a(d), b(d);
      for (int rep = 0; rep < 3; ++rep) {
        for (int i = 0; i < d; ++i) a[i] = normal(gen) * static_cast<float>(rep + 1), b[i] = normal(gen);
        const double params[4] = {0.7, 0, 0, 0};
        double want[4], got[4];
        const float* in[2] = {a.data(), b.data()};
        ir::interpret(f, in, params, want);
        fn(a.data(), b.data(), d, params, got);
        for (int o = 0; o < f.num_outputs; ++o, ++checked)
          if (std::memcmp(&want[o], &got[o], sizeof(double)) != 0 && bad++ < 10)
            std::printf("MISMATCH %s d %d out %d: %.17g vs %.17g\n", m.name, d, o, got[o], want[o]);
      }
    }
  }
  std::printf("native kernels built for %s: %ld outputs, %ld differ from the interpreter\n", isa, checked, bad);
  return bad != 0;
}
