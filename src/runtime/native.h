// Native kernels: the distance family and the simplest scores compiled ahead
// of time into the module, for the per-row paths that run millions of times
// (the operators, ruvector_norm, ruvector_attention_score). Each computes
// exactly its recipe's IR in the canonical reduction order (ir.h: P partials
// fed by fused multiply-adds, folded by halving), so it gives the
// interpreter's and the JIT's bits on every ISA (tests/unit/native_test.cpp)
// without LLVM: a backend that only uses the type and its operators never
// loads it.
#pragma once

#include "ir/recipes/mechanisms.h"

namespace rvj::runtime {

// Writes the kernel's outputs (out[0], and the auxiliary outputs its recipe
// declares) for vectors of `dims` floats; params as the recipe's.
using NativeFn = void (*)(const float* a, const float* b, int dims, const double* params, double* out);

// The native form of `m`, or null when it has none.
NativeFn native_kernel(const ir::Mechanism& m);

// Runs a native kernel as run() runs a bound one: the underflow rescue, then
// the recipe's input checks. Returns out[0].
double run_native(const ir::Mechanism& m, NativeFn fn, const float* a, const float* b, int dims,
                  const double* params);

// The canonical reductions the kernels above are built from, for callers
// that combine them (per-head logits, cosine from a dot block): the dot
// product with 64 partials and with 32, and the squared norm with 32.
float canonical_dot64(const float* a, const float* b, int n);
float canonical_dot32(const float* a, const float* b, int n);
float canonical_sq_norm32(const float* a, int n);

}  // namespace rvj::runtime
