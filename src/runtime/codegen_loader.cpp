#include "runtime/codegen_loader.h"

#include <dlfcn.h>

#include "ir/errors.h"

namespace rvj::runtime {

namespace {
const codegen::Provider* loaded = nullptr;
std::string library;
}  // namespace

void set_codegen_library(std::string path) { library = std::move(path); }

void register_codegen(const codegen::Provider* provider) { loaded = provider; }

bool code_generator_loaded() { return loaded != nullptr; }

const codegen::Provider& code_generator() {
  if (loaded) return *loaded;
  if (library.empty())
    throw Error(ErrorKind::CompileFailure, "no code generator is available in this process",
                "SET ruvector_jit.enabled = off to run the interpreter.");
  // Never closed: compiled kernels' code belongs to it.
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw Error(ErrorKind::CompileFailure, "cannot load the code generator " + library + ": " + (why ? why : "?"),
                "Reinstall the extension (both ruvector_jit.so and ruvector_jit_llvm.so), or SET "
                "ruvector_jit.enabled = off to run the interpreter.");
  }
  using Entry = const codegen::Provider* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "rvj_codegen_provider"));
  const codegen::Provider* p = entry ? entry() : nullptr;
  if (!p || p->version != codegen::kProviderVersion)
    throw Error(ErrorKind::CompileFailure, library + " is not the code generator of this build of ruvector_jit",
                "Reinstall the extension: ruvector_jit.so and ruvector_jit_llvm.so come from one build.");
  p->share_cancel_state(cancel_state());
  loaded = p;
  return *p;
}

}  // namespace rvj::runtime
