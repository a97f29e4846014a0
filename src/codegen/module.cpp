// ruvector_jit_llvm.so: the code generator as a module of its own, loaded
// by ruvector_jit.so on first use (runtime/codegen_loader.cpp). Its one
// export is the provider table.
#include "codegen/provider.h"

extern "C" __attribute__((visibility("default"))) const rvj::codegen::Provider* rvj_codegen_provider() {
  return &rvj::codegen::provider();
}
