#include "codegen/isa.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Support/Host.h>
#include <llvm/ADT/Triple.h>

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
  Target t;
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> feats;
  llvm::sys::getHostCPUFeatures(feats);
  for (const auto& f : feats) {
    if (!t.features.empty()) t.features += ",";
    t.features += f.second ? '+' : '-';
    t.features += f.first().str();
  }
  auto has = [&](const char* f) { auto it = feats.find(f); return it != feats.end() && it->second; };
  llvm::Triple triple(t.triple);
  if (triple.isAArch64()) {
    t.isa = Isa::Neon;
    t.vector_bits = 128;
  } else if (has("avx512f")) {
    // 512-bit vectors: LLVM's tuning for server cores prefers 256 by default.
    t.isa = Isa::Avx512;
    t.vector_bits = 512;
  } else if (has("avx2") && has("fma")) {
    t.isa = Isa::Avx2;
    t.vector_bits = 256;
  } else {
    t.isa = Isa::Generic;
    t.vector_bits = 128;
  }
  return t;
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
