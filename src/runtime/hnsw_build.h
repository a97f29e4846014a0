// The in-memory HNSW graph of CREATE INDEX. Vectors are added as the heap
// scan delivers them, then link() connects them all; src/pg/index writes the
// result into pages.
//
// link() inserts in batches and is deterministic: the graph depends only on
// the vectors, their order and their items, never on the thread count. Each
// batch runs in four phases:
//   1. each new node searches the graph as it was before the batch (parallel);
//   2. each picks its neighbours from what it found plus the batch's earlier
//      nodes (parallel: reads only);
//   3. the reverse links are listed, in node order (serial, cheap);
//   4. each node that gained links merges and, past its capacity, prunes them
//      with the heuristic (parallel: one task owns one list).
// A batch is one node while the graph is small and at most kMaxBatch later,
// a function of the graph's size alone. Last, every node left without a way
// in (pruning can strand one) gets one.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/hnsw.h"

namespace rvj::runtime::hnsw {

class BuildGraph {
 public:
  static constexpr int kMaxBatch = 256;

  BuildGraph(Metric metric, int dims, int m, int ef_construction, int max_level = kMaxLevel);

  // Bytes a node of `level` takes here (for maintenance_work_mem).
  size_t node_bytes(int level) const;
  size_t bytes() const { return bytes_; }

  // Adds a prepared vector (hnsw::prepare) with its payload; its level comes
  // from random_level(seed). Returns its index.
  int add(const float* prepared, float aux, uint64_t item, uint64_t seed);

  // Links every node added since the last call. `progress(done)` runs on the
  // caller's thread between batches; check_cancel() is polled in every phase.
  void link(int threads, const std::function<void(int64_t)>& progress);

  int size() const { return static_cast<int>(level_.size()); }
  int level(int i) const { return level_[i]; }
  const float* vec(int i) const { return &vecs_[static_cast<size_t>(i) * dims_]; }
  float aux(int i) const { return aux_[i]; }
  uint64_t item(int i) const { return item_[i]; }
  // Node i's neighbours at `level`: their indices and keys from i.
  struct Slot {
    uint32_t id;
    float d;
  };
  int neighbours(int i, int level, const Slot** out) const;
  int entry() const { return entry_; }  // -1 when empty
  int m() const { return m_; }
  int dims() const { return dims_; }
  Metric metric() const { return metric_; }

 private:
  Slot* slots(int i, int level) { return &slots_[slot_off_[i] + level_base(m_, level)]; }
  const Slot* slots(int i, int level) const { return &slots_[slot_off_[i] + level_base(m_, level)]; }
  uint16_t& count(int i, int level) { return counts_[count_off_[i] + level]; }

  void connect();
  friend struct MemoryGraph;
  Metric metric_;
  int dims_, m_, ef_construction_, max_level_cap_;
  Keys keys_;
  std::vector<float> vecs_, aux_;
  std::vector<uint64_t> item_;
  std::vector<uint8_t> level_;
  std::vector<uint64_t> slot_off_;
  std::vector<uint64_t> count_off_;
  std::vector<Slot> slots_;
  std::vector<uint16_t> counts_;
  int linked_ = 0;
  int entry_ = -1;
  int top_ = -1;  // the entry's level
  size_t bytes_ = 0;
};

}  // namespace rvj::runtime::hnsw
