#include "codegen/provider.h"

#include "codegen/jit.h"

namespace rvj::codegen {

const Provider& provider() {
  static const Provider table{kProviderVersion, compile,           load_object,       inspect,
                              llvm_version,     llvm_host_target, share_cancel_state};
  return table;
}

}  // namespace rvj::codegen
