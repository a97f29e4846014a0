// Module entry: the magic block and the GUCs.
#include "pg/vector.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace rvj::pg {
bool jit_enabled = true;
}

// Nothing heavy happens here: LLVM is initialised on the first kernel
// compile, so that loading the module into a backend (or the postmaster, with
// shared_preload_libraries) stays cheap and fork-safe.
void _PG_init(void) {
  DefineCustomBoolVariable(
      "ruvector_jit.enabled", "Compile attention kernels to machine code with LLVM.",
      "When off, the same kernel IR runs in the interpreter: same results within fp32 tolerance, slower.",
      &rvj::pg::jit_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("ruvector_jit");
}
