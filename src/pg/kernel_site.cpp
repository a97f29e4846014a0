#include "pg/kernel_site.h"

namespace rvj::pg {

void* call_site(FunctionCallInfo fcinfo, size_t size) {
  // DirectFunctionCall has no FmgrInfo: then nothing is kept between calls.
  if (fcinfo->flinfo == nullptr) return palloc0(size);
  if (fcinfo->flinfo->fn_extra == nullptr)
    fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, size);
  return fcinfo->flinfo->fn_extra;
}

rvj::runtime::Bound& bind_site(KernelSite& site, const rvj::ir::Mechanism& m, int dims) {
  if (site.mechanism != &m || site.dims != dims || site.jit != jit_enabled || !rvj::runtime::still_valid(site.bound)) {
    site.mechanism = nullptr;  // stays unbound if binding throws
    site.bound = rvj::runtime::bind(m, dims, jit_enabled);
    site.dims = dims;
    site.jit = jit_enabled;
    site.mechanism = &m;
  }
  return site.bound;
}

rvj::runtime::Bound& bind_site(KernelSite& site, const char* kernel, int dims) {
  if (site.mechanism != nullptr && site.dims == dims && site.jit == jit_enabled &&
      rvj::runtime::still_valid(site.bound))
    return site.bound;
  return bind_site(site, rvj::runtime::kernel_mechanism(kernel), dims);
}

}  // namespace rvj::pg
