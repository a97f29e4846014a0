// Which machine code we generate. The ISA name is part of a kernel's identity.
#pragma once

#include <string>
#include <string_view>

namespace rvj::codegen {

enum class Isa { Avx512, Avx2, Neon, Generic };

struct Target {
  Isa isa;
  std::string triple;
  std::string cpu;           // "" for the host: LLVM's own detection (llvm_host_target)
  std::string features;      // LLVM "+a,+b,-c" form ("" for the host, as cpu)
  int vector_bits;           // width of the vector registers the kernels use
};

const char* isa_name(Isa isa);
// The machine this process runs on (detected once, without LLVM).
const Target& host_target();
// The same with LLVM's CPU name and feature list (codegen/host.cpp, in the
// LLVM part only): what the JIT compiles for and the disk cache keys on.
const Target& llvm_host_target();
// A named target for cross-compiled inspection: "avx512", "avx2", "neon",
// "generic". Throws rvj::Error(InvalidArgument) for any other name.
Target named_target(std::string_view isa);

}  // namespace rvj::codegen
