// Module entry: the magic block and the GUCs.
#include "pg/errors.h"
#include "pg/vector.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace rvj::pg {
bool jit_enabled = true;
int cache_size = 256;
int threads = 1;
char* cache_dir = nullptr;
}

static void assign_cache_dir(const char* value, void*) {
  // Assign hooks must not fail: a bad_alloc leaves the old directory in place.
  try {
    rvj::runtime::backend_disk_cache().set_dir(value ? value : "");
  } catch (...) {
  }
}

static void assign_cache_size(int value, void*) { rvj::runtime::backend_cache().set_capacity((size_t)value); }

// Nothing heavy happens here: LLVM is initialised on the first kernel
// compile, so that loading the module into a backend (or the postmaster, with
// shared_preload_libraries) stays cheap and fork-safe.
void _PG_init(void) {
  rvj::set_interrupt_probe(rvj::pg::interrupt_probe);
  DefineCustomBoolVariable(
      "ruvector_jit.enabled", "Compile attention kernels to machine code with LLVM.",
      "When off, the same kernel IR runs in the interpreter: the same results, bit for bit, slower.",
      &rvj::pg::jit_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.cache_size", "Kernels kept compiled in each backend's memory.",
      "Past it the least recently used kernel is dropped and its machine code freed.", &rvj::pg::cache_size, 256, 1,
      100000, PGC_USERSET, 0, nullptr, assign_cache_size, nullptr);
  DefineCustomStringVariable(
      "ruvector_jit.cache_dir", "Directory of the persistent kernel cache, shared by all backends.",
      "Relative paths are under the data directory; an empty string turns the disk cache off. "
      "scripts/prewarm fills it offline.",
      &rvj::pg::cache_dir, "ruvector_jit_cache", PGC_SUSET, 0, nullptr, assign_cache_dir, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.threads", "Threads one ruvector_attention() call may use (oneTBB).",
      "1 keeps one core per backend, as the executor does: a server runs many backends, and each with a "
      "full pool would oversubscribe the cores. Raise it for a few long sequence calls.",
      &rvj::pg::threads, 1, 1, 64, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("ruvector_jit");
}
