// The host as LLVM sees it: the CPU name and features the JIT's target
// machine is built for (the disk cache's key names them).
#include <llvm/ADT/StringMap.h>
#include <llvm/Support/Host.h>

#include "codegen/isa.h"

namespace rvj::codegen {

const Target& llvm_host_target() {
  static const Target host = [] {
    Target t = host_target();
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> feats;
    llvm::sys::getHostCPUFeatures(feats);
    for (const auto& f : feats) {
      if (!t.features.empty()) t.features += ",";
      t.features += f.second ? '+' : '-';
      t.features += f.first().str();
    }
    return t;
  }();
  return host;
}

}  // namespace rvj::codegen
