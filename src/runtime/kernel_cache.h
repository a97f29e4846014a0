// The per-backend kernel cache, keyed by (mechanism, dims, ISA). The first
// call builds the IR (and compiles it when the JIT is on); later calls reuse.
// Bounded: past its capacity the least recently used kernel is dropped and its
// code freed. Results never depend on it: it only saves work.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/jit.h"
#include "ir/ir.h"
#include "ir/recipes/mechanisms.h"

namespace rvj::runtime {

struct Kernel {
  const ir::Mechanism* mechanism;
  int dims;
  std::string key;               // "mechanism/dims/isa"
  ir::Function ir;
  codegen::Compiled code;        // fn == nullptr until first compiled
  uint64_t hits = 0;             // lookups served from the cache
  uint64_t last_used = 0;        // for LRU eviction
};

enum class Source { Memory, CompiledNow };
const char* source_name(Source s);

class KernelCache {
 public:
  // Returns the kernel, building IR on a miss; compiles it when `compile`.
  // `source` (optional) says whether machine code came from memory.
  Kernel& get(const ir::Mechanism& m, int dims, bool compile, Source* source = nullptr);
  const std::vector<std::unique_ptr<Kernel>>& entries() const { return entries_; }

  // Dropping kernels invalidates Kernel pointers held elsewhere: holders
  // compare generation() with the value they saw when they bound.
  uint64_t generation() const { return generation_; }
  size_t clear();                        // returns how many were dropped
  void set_capacity(size_t kernels);     // >= 1; shrinks on the next get()
  size_t capacity() const { return capacity_; }

 private:
  std::vector<std::unique_ptr<Kernel>> entries_;  // few kernels: a scan beats hashing strings
  size_t capacity_ = 256;
  uint64_t clock_ = 0;
  uint64_t generation_ = 1;
};

// The backend's cache (intentionally leaked, like the JIT).
KernelCache& backend_cache();

std::string kernel_key(const ir::Mechanism& m, int dims, codegen::Isa isa);

}  // namespace rvj::runtime
