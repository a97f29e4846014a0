// The engine side of ruvector_cross_attention: every query of a block
// against a stream of document blocks, keeping per query a running
// log-sum-exp and its k best logits. For one query the ranking by weight is
// the ranking by logit, so after the last document the weights
// exp(logit - lse) of the kept ones are exact, with memory
// O(queries x (dims + k) + one document block), never queries x documents.
//
// scaled_dot and cosine take their dot products from dot_panels (a
// register-blocked matrix product, one fma chain per product: the same bits
// on every ISA, within float rounding of ruvector_attention_score's);
// a pair with a tiny or zero vector, and every other per-row attention
// type, runs the per-row kernel. Queries split across threads.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/recipes/mechanisms.h"
#include "runtime/engine.h"
#include "runtime/schedules/parallel.h"
#include "runtime/top_k.h"

namespace rvj::runtime {

class CrossScan {
 public:
  // m: a per-row score (row_score_mechanism); params: its values, checked.
  CrossScan(const ir::Mechanism& m, const double* params, int dims, int k, int threads, bool jit);
  ~CrossScan();

  // Bytes a scan of nq queries with blocks of `docs` documents allocates.
  static size_t memory(int nq, int dims, int k, int docs, int threads);
  // Documents per add_documents. Fixed, so that every query's running
  // sums see the same blocks (and round alike) whatever the query block,
  // the thread count or work_mem.
  static constexpr int kBlockDocs = 240;

  // Starts a block of nq queries (copied; nq x dims floats, row-major).
  void set_queries(const float* q, int nq);
  // One step: nd <= kBlockDocs documents (row-major, dims floats each)
  // with their keys.
  void add_documents(const float* d, const int64_t* keys, int nd);
  // The same in two halves, so the caller can fetch the next block while
  // this one is scored: fill staging(slot) and staging_keys(slot) (kBlockDocs
  // rows), start_documents(slot, nd), fetch into the other slot, then
  // finish_documents() (which rethrows what the scoring threw). On one
  // thread (or for per-row types) start_documents does all the work.
  float* staging(int slot) { return staging_[slot].data(); }
  int64_t* staging_keys(int slot) { return staging_keys_[slot].data(); }
  void start_documents(int slot, int nd);
  void finish_documents();
  // After finish_documents: entered()[j] is 1 when document j is now among
  // some query's k best (a caller keeping ids beside keys records those).
  const std::vector<uint8_t>& entered() const { return entered_; }
  // The keys among some query's k best now, sorted.
  std::vector<int64_t> live_keys() const;

  // Query i's kept documents, best first: value = the exact weight.
  std::vector<TopEntry> top(int i) const;
  // What top(i) is made of, for a caller merging scans of several tables
  // (the shards of one): query i's running log-sum-exp (*m the largest
  // logit, *s the sum of exp(logit - *m)) and its kept documents, best
  // first, value = the logit.
  std::vector<TopEntry> partial(int i, double* m, double* s) const;

 private:
  struct Query;
  enum class Form { Dot, Cosine, PerRow };
  void score_rows(int q0, int q1, const float* d, int nd, double* logits) const;
  void run_part(int part, const float* d, const int64_t* keys, int nd);

  const ir::Mechanism& m_;
  double params_[ir::kMaxParams] = {};
  int dims_, k_, threads_;
  Form form_;
  Bound bound_;
  bool jit_;
  int nq_ = 0;
  std::vector<float> q_;          // query_rows(nq) x dims, zero-padded
  std::vector<float> qnorm_;      // cosine: squared norms (32 partials)
  std::vector<uint8_t> qplain_;   // fast path allowed for this query
  std::vector<float> panels_;     // the document block, packed (dot_block.h)
  std::vector<float> dnorm_;
  std::vector<uint8_t> dplain_;
  bool all_plain_ = true;
  std::vector<Query> states_;
  std::vector<std::vector<uint8_t>> part_entered_;
  std::vector<uint8_t> entered_;
  std::vector<float> staging_[2];
  std::vector<int64_t> staging_keys_[2];
  int started_docs_ = 0;
  BackgroundBlocks background_;  // last: destroyed (waited for) first
};

}  // namespace rvj::runtime
