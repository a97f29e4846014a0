// exp32 (ir/exp32.h) over a block of floats, vectorised per ISA with the
// same operations in the same order, so every version gives exp32's bits.
#pragma once

#include "runtime/simd.h"

namespace rvj::runtime {

// out[j] = exp32(x[j]) for j < n; x[j] <= 0 and not NaN (a logit minus the
// running maximum).
void exp32_block(const float* x, float* out, int n, SimdIsa isa = SimdIsa::Best);

}  // namespace rvj::runtime
