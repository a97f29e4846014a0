// Module entry: the magic block and the settings. Who may set what:
// enabled and threads are the user's; max_threads and cache_size (memory the
// server pays for, outside PostgreSQL's accounting) the superuser's; the
// disk cache's directory and size only the server's configuration
// (PGC_SIGHUP: the cache holds code every backend runs).
#include "pg/errors.h"
#include "pg/vector.h"
#include "pg/index/index.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace rvj::pg {
bool jit_enabled = true;
namespace {
int cache_size_kb = 16 * 1024;
int threads = 1;
int max_threads = 4;
char* cache_dir = nullptr;
int cache_dir_size_mb = 256;
int test_poll_delay_us = 0;
}  // namespace

int call_threads() { return Min(threads, max_threads); }
int maintenance_threads() { return Max(1, Min(max_parallel_maintenance_workers + 1, max_threads)); }
}  // namespace rvj::pg

static void assign_cache_dir(const char* value, void*) {
  // Assign hooks must not fail: a bad_alloc leaves the old directory in place.
  try {
    rvj::runtime::backend_disk_cache().set_dir(value ? value : "");
  } catch (...) {
  }
}

static void assign_cache_dir_size(int value, void*) {
  rvj::runtime::backend_disk_cache().set_limit((uint64_t)value << 20);
}

static void assign_cache_size(int value, void*) {
  rvj::runtime::backend_cache().set_capacity((size_t)value << 10);
}

static void assign_test_poll_delay(int value, void*) { rvj::set_poll_delay_for_testing(value); }

// Nothing heavy happens here: LLVM is loaded and initialised on the first
// kernel compile, so that loading the module into a backend (or the
// postmaster, with shared_preload_libraries) stays cheap and fork-safe.
void _PG_init(void) {
  rvj::set_interrupt_probe(rvj::pg::interrupt_probe);
  // The code generator is a module of its own, loaded by the first compile
  // or disk-cache link: a backend that never compiles never maps libLLVM.
  char llvm_module[MAXPGPATH];
  snprintf(llvm_module, sizeof llvm_module, "%s/ruvector_jit_llvm.so", pkglib_path);
  try {
    rvj::runtime::set_codegen_library(llvm_module);
  } catch (...) {  // out of memory at load: the first compile says so
  }
  DefineCustomBoolVariable(
      "ruvector_jit.enabled", "Compile attention kernels to machine code with LLVM.",
      "When off, the same kernel IR runs in the interpreter: the same results, bit for bit, slower.",
      &rvj::pg::jit_enabled, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.cache_size", "Memory for compiled kernels in each backend.",
      "Past it the least recently used kernels are dropped and their machine code freed. Each kernel is charged "
      "its code plus 16 kB.",
      &rvj::pg::cache_size_kb, 16 * 1024, 64, 1024 * 1024, PGC_SUSET, GUC_UNIT_KB, nullptr, assign_cache_size,
      nullptr);
  DefineCustomStringVariable(
      "ruvector_jit.cache_dir", "Directory of the persistent kernel cache, shared by all backends.",
      "Relative paths are under the data directory; an empty string turns the disk cache off. It must be owned "
      "by the server's user and not writable by group or others. scripts/prewarm fills it offline.",
      &rvj::pg::cache_dir, "ruvector_jit_cache", PGC_SIGHUP, 0, nullptr, assign_cache_dir, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.cache_dir_size", "Most space the persistent kernel cache may use.",
      "Past it the least recently used kernel files are removed.", &rvj::pg::cache_dir_size_mb, 256, 1, INT_MAX,
      PGC_SIGHUP, GUC_UNIT_MB, nullptr, assign_cache_dir_size, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.threads", "Threads one call may use (oneTBB), at most ruvector_jit.max_threads.",
      "1 keeps one core per backend, as the executor does: a server runs many backends, and each with a "
      "full pool would oversubscribe the cores. Raise it for a few long sequence calls.",
      &rvj::pg::threads, 1, 1, rvj::ir::kMaxThreads, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.max_threads", "The most threads any call may use, whatever ruvector_jit.threads says.", nullptr,
      &rvj::pg::max_threads, 4, 1, rvj::ir::kMaxThreads, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ruvector_jit.test_poll_delay", "For tests: microseconds to sleep at every cancel check of the engine.",
      "Makes short calls long enough to cancel; 0 in production.", &rvj::pg::test_poll_delay_us, 0, 0, 1000000,
      PGC_SUSET, GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, nullptr, assign_test_poll_delay,
      nullptr);
  rvj::pg::index::init_settings();
  rvj::pg::index::init_options();
  rvj::pg::index::init_order_by();
  MarkGUCPrefixReserved("ruvector_jit");
}
