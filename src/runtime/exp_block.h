// exp32 (ir/exp32.h) over a block of floats, vectorised per ISA with the
// same operations in the same order, so every version gives exp32's bits.
#pragma once

namespace rvj::runtime {

enum class ExpIsa { Best, Avx512, Avx2, Scalar };

// out[j] = exp32(x[j]) for j < n; x[j] <= 0 and not NaN (a logit minus the
// running maximum).
void exp32_block(const float* x, float* out, int n, ExpIsa isa = ExpIsa::Best);

bool exp_isa_available(ExpIsa isa);

}  // namespace rvj::runtime
