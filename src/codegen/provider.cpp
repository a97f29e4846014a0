#include "codegen/provider.h"

#include "codegen/jit.h"

namespace rvj::codegen {

namespace {
Compiled compile_host(const ir::Function& fn) { return compile(fn); }
}  // namespace

const Provider& provider() {
  static const Provider table{kProviderVersion, compile_host,      load_object,       inspect,
                              llvm_version,     llvm_host_target, share_cancel_state};
  return table;
}

}  // namespace rvj::codegen
