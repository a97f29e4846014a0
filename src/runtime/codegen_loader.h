// The code generator, loaded on first use. The PostgreSQL module names the
// library (ruvector_jit_llvm.so in $libdir) and the first compile or
// disk-cache link dlopens it: a backend that only runs the type, the
// operators, native scores or the interpreter never maps libLLVM. Tools and
// tests link the code generator in and register it instead.
#pragma once

#include <string>

#include "codegen/provider.h"

namespace rvj::runtime {

void set_codegen_library(std::string path);
void register_codegen(const codegen::Provider* provider);

// The code generator; loads it if needed. Throws rvj::Error(CompileFailure)
// naming the library and the loader's reason when it cannot be loaded.
const codegen::Provider& code_generator();
bool code_generator_loaded();

}  // namespace rvj::runtime
