// The per-backend kernel cache, keyed by (mechanism, dims, ISA). The first
// call builds the IR (and compiles it when the JIT is on); later calls reuse.
// Bounded in bytes (machine code plus a fixed charge per kernel for its IR
// and LLVM's bookkeeping): past its capacity the least recently used kernels
// are dropped and their code freed. Results never depend on it: it only
// saves work.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/abi.h"
#include "codegen/isa.h"
#include "runtime/disk_cache.h"
#include "ir/ir.h"
#include "ir/recipes/mechanisms.h"

namespace rvj::runtime {

enum class Source { Memory, Disk, CompiledNow };
const char* source_name(Source s);

struct Kernel {
  const ir::Mechanism* mechanism;
  int dims;                      // 0 for Panel and Features kernels (any length)
  ir::KernelKind kind;           // Row: the mechanism's score; Tile/Query: its flash step; Panel: products
  int value_dims;                // Tile/Query only
  std::string key;               // "mechanism/dims/isa", "tile:mechanism/dims x value_dims/isa" (ir::kind_name),
                                 // "panel:mechanism/isa", "elu_features:mechanism/isa"
  ir::Function ir;
  codegen::Compiled code;        // fn == nullptr until first compiled
  uint64_t hits = 0;             // lookups served from the cache
  uint64_t last_used = 0;        // for LRU eviction
  Source origin = Source::CompiledNow;  // where the machine code came from
};


class KernelCache {
 public:
  // With a disk cache, compiled kernels are looked up there before compiling
  // and stored there after.
  explicit KernelCache(DiskCache* disk = nullptr) : disk_(disk) {}

  // Returns the kernel, building IR on a miss; compiles it when `compile`.
  // `source` (optional) says whether machine code came from memory.
  // `shown` (explain) receives the IR and assembly texts of a compile done
  // now, from the same lowering; it stays empty otherwise.
  Kernel& get(const ir::Mechanism& m, int dims, bool compile, Source* source = nullptr,
              ir::KernelKind kind = ir::KernelKind::Row, int value_dims = 0, codegen::Inspection* shown = nullptr,
              ir::TileWeights weights = ir::TileWeights::Softmax,
              ir::FeatureMap features = ir::FeatureMap::EluPlus1);
  const std::vector<std::unique_ptr<Kernel>>& entries() const { return entries_; }

  // Dropping kernels invalidates Kernel pointers held elsewhere: holders
  // compare generation() with the value they saw when they bound.
  uint64_t generation() const { return generation_; }
  size_t clear();                        // returns how many were dropped
  void set_capacity(size_t bytes);       // shrinks on the next get(); the kernel in use always stays
  size_t capacity() const { return capacity_; }
  size_t bytes() const;                  // what the kernels held are charged
  // A kernel's charge: its object's bytes plus kKernelOverhead.
  static constexpr size_t kKernelOverhead = 16 << 10;
  static size_t charge(const Kernel& k) { return k.code.object_bytes + kKernelOverhead; }

  // Warnings and log lines from the disk cache, for the caller to report.
  bool has_notices() const { return !notices_.empty(); }
  std::vector<Notice> take_notices() { return std::exchange(notices_, {}); }

 private:
  void compile(Kernel& k, Source* source, codegen::Inspection* shown);
  void evict_except(const Kernel* keep);

  DiskCache* disk_;
  std::vector<Notice> notices_;
  std::vector<std::unique_ptr<Kernel>> entries_;  // few kernels: a scan beats hashing strings
  size_t capacity_ = size_t{16} << 20;
  uint64_t clock_ = 0;
  uint64_t generation_ = 1;
};

// The backend's cache (intentionally leaked, like the JIT).
KernelCache& backend_cache();

std::string kernel_key(const ir::Mechanism& m, int dims, codegen::Isa isa, ir::KernelKind kind = ir::KernelKind::Row,
                       int value_dims = 0, ir::TileWeights weights = ir::TileWeights::Softmax,
                       ir::FeatureMap features = ir::FeatureMap::EluPlus1);

}  // namespace rvj::runtime
