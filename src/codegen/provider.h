// The code generator as the runtime sees it: a table of plain functions.
// The LLVM part (rvj_codegen: jit.cpp, lower*.cpp) fills one (provider());
// the PostgreSQL module loads it from ruvector_jit_llvm.so on the first
// compile or disk-cache link (runtime/codegen_loader.h), as PostgreSQL loads
// llvmjit.so, so a backend that never compiles never maps libLLVM. Tools and
// tests link it in and register it directly.
#pragma once

#include <string>

#include "codegen/abi.h"
#include "codegen/isa.h"
#include "ir/cancel.h"
#include "ir/ir.h"

namespace rvj::codegen {

// Bumped whenever Provider or a type it passes changes: a module from
// another build is refused.
inline constexpr int kProviderVersion = 2;

struct Provider {
  int version;
  Compiled (*compile)(const ir::Function& fn, Inspection* shown);  // for the host; texts if shown
  Compiled (*load_object)(const ir::Function& fn, const std::string& object);  // a disk-cache object
  Inspection (*inspect)(const ir::Function& fn, const Target& target);         // explain's texts
  std::string (*llvm_version)();
  const Target& (*llvm_host)();  // the host with LLVM's CPU name and features
  // Points the module's cancel polls at the loader's probe and test delay.
  void (*share_cancel_state)(CancelState* state);
};

// The LLVM part's table.
const Provider& provider();

}  // namespace rvj::codegen
