// The host's ISA without LLVM (the module detects it before any compile, and
// a backend that never compiles never loads LLVM): CPUID through the
// compiler's builtins, which also check that the OS saves the vector state.
// codegen/host.cpp asks LLVM for the CPU name and features it compiles for;
// a unit test checks both agree on the ISA.
#include "codegen/isa.h"

#include "ir/errors.h"

namespace rvj::codegen {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Neon: return "neon";
    case Isa::Generic: return "generic";
  }
  return "generic";
}

namespace {
Target detect_host() {
#if defined(__aarch64__)
  return {Isa::Neon, "aarch64-unknown-linux-gnu", "", "", 128};
#elif defined(__x86_64__)
  __builtin_cpu_init();
  // 512-bit vectors: LLVM's tuning for server cores prefers 256 by default.
  if (__builtin_cpu_supports("avx512f")) return {Isa::Avx512, "x86_64-pc-linux-gnu", "", "", 512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {Isa::Avx2, "x86_64-pc-linux-gnu", "", "", 256};
  return {Isa::Generic, "x86_64-pc-linux-gnu", "", "", 128};
#else
#error "ruvector_jit targets x86-64 and AArch64"
#endif
}
}  // namespace

const Target& host_target() {
  static const Target host = detect_host();
  return host;
}

Target named_target(std::string_view isa) {
  if (isa == "avx512") return {Isa::Avx512, "x86_64-pc-linux-gnu", "x86-64-v4", "", 512};
  if (isa == "avx2") return {Isa::Avx2, "x86_64-pc-linux-gnu", "x86-64-v3", "", 256};
  if (isa == "neon") return {Isa::Neon, "aarch64-unknown-linux-gnu", "generic", "+neon", 128};
  if (isa == "generic") return {Isa::Generic, "x86_64-pc-linux-gnu", "x86-64", "", 128};
  throw Error(ErrorKind::InvalidArgument, "unknown ISA \"" + std::string(isa) + "\"",
              "Valid ISAs are: avx512, avx2, neon, generic.");
}

}  // namespace rvj::codegen
