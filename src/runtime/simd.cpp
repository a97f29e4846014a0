#include "runtime/simd.h"

#include <atomic>

namespace rvj::runtime {

SimdIsa simd_isa() {
#if defined(__x86_64__)
  static const SimdIsa isa = __builtin_cpu_supports("avx512f")                                   ? SimdIsa::Avx512
                             : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? SimdIsa::Avx2
                                                                                               : SimdIsa::Scalar;
  return isa;
#else
  return SimdIsa::Scalar;
#endif
}

namespace {
std::atomic<SimdIsa> forced{SimdIsa::Best};
}

void simd_force(SimdIsa isa) { forced.store(isa); }

SimdIsa simd_resolve(SimdIsa isa) {
  if (isa != SimdIsa::Best) return isa;
  const SimdIsa f = forced.load(std::memory_order_relaxed);
  return f == SimdIsa::Best ? simd_isa() : f;
}

bool simd_available(SimdIsa isa) {
  switch (isa) {
    case SimdIsa::Best:
    case SimdIsa::Scalar: return true;
    case SimdIsa::Avx512: return simd_isa() == SimdIsa::Avx512;
    case SimdIsa::Avx2: return simd_isa() != SimdIsa::Scalar;
  }
  return false;
}

}  // namespace rvj::runtime
