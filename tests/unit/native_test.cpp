// The native kernels give their recipes' bits: the interpreter's and the
// JIT's, for every length (the canonical order's tails included).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "ir/interpreter.h"
#include "ir/recipes/mechanisms.h"
#include "runtime/engine.h"
#include "runtime/native.h"

using namespace rvj;

namespace {
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

TEST(Native, BitIdenticalToTheInterpreterAndTheJit) {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal;
  std::vector<int> lengths;
  for (int d = 1; d <= 130; ++d) lengths.push_back(d);
  for (int d : {255, 384, 768, 1000, 1536, 4097, 16000}) lengths.push_back(d);
  int kernels = 0;
  for (const ir::Mechanism& m : ir::mechanisms()) {
    const runtime::NativeFn fn = runtime::native_kernel(m);
    if (!fn) continue;
    ++kernels;
    for (int d : lengths) {
      std::vector<float> a(d), b(d);
      for (int i = 0; i < d; ++i) a[i] = normal(gen) * 3, b[i] = normal(gen);
      const runtime::Bound interp = runtime::bind(m, d, false), jit = runtime::bind(m, d, true);
      double want[4], got[4], compiled[4];
      const float* in[2] = {a.data(), b.data()};
      ir::interpret(interp.kernel->ir, in, interp.params, want);
      jit.kernel->code.fn(in, jit.params, compiled);
      fn(a.data(), b.data(), d, interp.params, got);
      for (int o = 0; o < interp.kernel->ir.num_outputs; ++o) {
        ASSERT_TRUE(same_bits(got[o], want[o])) << m.name << " d " << d << " out " << o << ": " << got[o] << " vs "
                                                << want[o];
        ASSERT_TRUE(same_bits(compiled[o], want[o])) << m.name << " d " << d << " out " << o;
      }
      EXPECT_TRUE(same_bits(runtime::run_native(m, fn, a.data(), b.data(), d, interp.params),
                            runtime::run(interp, a.data(), b.data())));
    }
  }
  EXPECT_EQ(kernels, 6);
}
