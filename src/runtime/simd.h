// The runtime's own vector code (the kernels it compiles ahead, beside the
// JIT's): loops written once and cloned per x86 ISA with RVJ_CLONES, and
// hand-written intrinsics picked by simd_isa(). Every version computes the
// same operations in the same order (files that use these are built with
// -ffp-contract=off), so every ISA gives the same bits. The clones are whole
// x86-64 levels: in target_clones a comma separates clones, so "avx2,fma"
// would make an AVX2 clone without FMA (std::fma then a libm call).
#pragma once

#if defined(__x86_64__)
#define RVJ_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RVJ_CLONES
#endif

namespace rvj::runtime {

// Best: the widest this CPU runs. The others exist for the tests.
enum class SimdIsa { Best, Avx512, Avx2, Scalar };

// The widest version this CPU runs (never Best).
SimdIsa simd_isa();
// Whether this CPU runs `isa` (Best and Scalar: always).
bool simd_available(SimdIsa isa);
// Tests: what Best resolves to from now on, so that a whole schedule can be
// run on each ISA (Best: the widest again). Not for use while work runs.
void simd_force(SimdIsa isa);
// isa, with Best resolved (to simd_isa(), or to what simd_force set).
SimdIsa simd_resolve(SimdIsa isa);

}  // namespace rvj::runtime
