// A kernel bound to one SQL call site, kept in fn_extra: the first row
// resolves (and compiles) it, later rows call it directly.
#pragma once

#include "pg/vector.h"

namespace rvj::pg {

struct KernelSite {
  const rvj::ir::Mechanism* mechanism;  // null until bound
  int dims;
  bool jit;
  rvj::runtime::Bound bound;
};

// PostgreSQL side: the call site's state of `size` bytes (a struct that
// starts with a KernelSite), zeroed on first use. May ERROR: call it before
// entering the engine.
void* call_site(FunctionCallInfo fcinfo, size_t size);
inline KernelSite* kernel_site(FunctionCallInfo fcinfo) {
  return static_cast<KernelSite*>(call_site(fcinfo, sizeof(KernelSite)));
}

// Engine side (inside RVJ_ENGINE): the kernel of `m` for `dims`, rebound
// when the mechanism, the dims or ruvector_jit.enabled changed.
rvj::runtime::Bound& bind_site(KernelSite& site, const rvj::ir::Mechanism& m, int dims);
// The same for a kernel named by the C entry point (a fixed name per site).
rvj::runtime::Bound& bind_site(KernelSite& site, const char* kernel, int dims);

}  // namespace rvj::pg
