// Compiles IR to host machine code with ORC LLJIT, and renders optimised LLVM
// IR and assembly for inspection (for the host or a named ISA).
// No LLVM types cross this header.
#pragma once

#include <memory>
#include <string>

#include "codegen/abi.h"
#include "codegen/isa.h"
#include "ir/ir.h"

namespace rvj::codegen {


// Compile for the host and return a callable kernel. Thread-compatible: the
// backend is single-threaded; tests serialise through an internal mutex.
// LLVM failures (including fatal errors) become rvj::Error(CompileFailure).
Compiled compile(const ir::Function& fn);
// The same for another target of the host's architecture whose instructions
// the host has (tests run avx2 and generic code on an avx512 host).
Compiled compile(const ir::Function& fn, const Target& target);
// For the host, filling `shown` (when not null) with the optimised IR and
// the assembly of the same lowering and optimisation (explain's one compile).
Compiled compile(const ir::Function& fn, Inspection* shown);

// Links a relocatable object produced by compile() for this host (from the
// disk cache) instead of compiling. Throws rvj::Error(CompileFailure) if the
// object cannot be linked; the caller then compiles.
Compiled load_object(const ir::Function& fn, const std::string& object);

// The symbol a kernel's function has in its object file.
std::string kernel_symbol(const ir::Function& fn);

// Optimised LLVM IR text and assembly text, for the host or a named target.
std::string optimized_llvm_ir(const ir::Function& fn, const Target& target);
std::string assembly(const ir::Function& fn, const Target& target);
// Both texts from one lowering and optimisation (explain's: one compile).
Inspection inspect(const ir::Function& fn, const Target& target);
// A relocatable object file for any target (tests link NEON kernels into an
// AArch64 program and run it under emulation).
std::string object_file(const ir::Function& fn, const Target& target);

// Raises a real LLVM fatal error inside the compile guard, for the test that
// proves it becomes an rvj::Error (and poisons the JIT for this process).
void raise_llvm_fatal_error_for_testing(const char* reason);

// Libraries' versions for the kernel identity and explain output.
std::string llvm_version();

}  // namespace rvj::codegen
