// The ruvector_attention index access method: an HNSW graph (runtime/hnsw.h)
// kept in index pages. One job per file:
//   handler.cpp  the IndexAmRoutine, validation, phase names
//   options.cpp  WITH (...) options and the operator class's similarity
//   page.cpp     the meta page, node tuples, the page graph the search walks
//   build.cpp    CREATE INDEX: the in-memory graph, written out page by page
//   insert.cpp   INSERT / UPDATE / COPY: one node, its links, WAL
//   scan.cpp     ORDER BY ... LIMIT: the search, resumable for filters
//   vacuum.cpp   removing dead nodes and repairing the lists that held them
//   cost.cpp     the planner's estimate
//   check.cpp    ruvector_index_check and ruvector_index_info
//   lookup.cpp   the index a table function's approximate path may use
//   order_by.cpp ORDER BY ruvector_attention_score(...) DESC, rewritten to the operator
//
// Page 0 is the meta page; every other page holds node tuples. A node holds
// its heap TID, level, flags, its prepared vector (runtime/hnsw.h: unit
// length under cosine) and, for each level, its neighbours' TIDs in the
// index with their keys. Every change is WAL-logged with generic WAL.
//
// Locks: scans take only buffer locks, one page at a time. Inserts take the
// update lock (a heavyweight lock on page 0) in share mode, or exclusive
// when they raise the entry point; VACUUM's repair takes it exclusive. A
// list is read under a share lock and changed under an exclusive lock of
// its own page only, so no two buffer locks are ever held at once.
#pragma once

#include "pg/pg.h"
#include "runtime/hnsw.h"

extern "C" {
#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
}

namespace rvj::pg::index {

using rvj::runtime::hnsw::Metric;

inline constexpr uint32 kMagic = 0x52564a41;  // "RVJA"
inline constexpr uint32 kVersion = 1;
inline constexpr BlockNumber kMetaBlock = 0;
inline constexpr uint16 kPageId = 0xA77E;     // in each page's special space
// Space for items on an empty index page, and what a node takes of it (its
// aligned tuple and its line pointer).
Size page_room();
Size node_footprint(int dims, int m, int level);
// The largest dims the index takes: a node of level 0 must fit one page.
int max_dims(int m);

// WITH (...) options, as amoptions stores them.
struct Options {
  int32 vl_len_;
  int attention_type;  // offset of the string, 0 when not given
  int num_heads;       // 0: not given
  int head_dim;        // 0: not given
  int m;
  int ef_construction;
};
void init_options();  // from _PG_init
bytea* options(Datum reloptions, bool validate);

// What an index is: its similarity (from the operator class), its knobs.
struct Shape {
  Metric metric;
  int m;
  int ef_construction;
  int num_heads, head_dim;
  char attention_type[NAMEDATALEN];
};
// Reads and checks the options against the operator class (ERROR on a
// mismatch, naming what is allowed).
Shape index_shape(Relation index);
// The similarity an operator class's distance function ranks by.
Metric metric_of(Relation index);

// ---------------------------------------------------------------------------
// Pages.
struct PageOpaque {
  uint16 flags;
  uint16 page_id;  // kPageId
};

struct Meta {
  uint32 magic;
  uint32 version;
  int32 dims;  // 0 until the first vector
  uint8 metric;
  uint8 unused[3];
  int32 m;
  int32 ef_construction;
  int32 num_heads;
  int32 head_dim;
  BlockNumber entry_blk;  // InvalidBlockNumber: empty
  OffsetNumber entry_off;
  int16 entry_level;
  BlockNumber insert_blk;  // the last page, where new nodes go
};

enum NodeFlags : uint8 { kDeleted = 1, kFree = 2 };

// A node tuple: NodeHeader, float vec[dims], float keys[S],
// ItemPointerData neighbours[S], uint8 count[level + 1], with
// S = hnsw::node_slots(m, level).
struct NodeHeader {
  ItemPointerData heaptid;
  uint8 level;
  uint8 flags;
  float aux;
};
Size node_size(int dims, int m, int level);
struct NodeView {
  NodeHeader* h;
  float* vec;
  float* keys;
  ItemPointerData* nbrs;
  uint8* counts;
};
NodeView node_view(void* tuple, int dims, int m);

inline uint64 pack_tid(const ItemPointerData& t) {
  return ((uint64)ItemPointerGetBlockNumberNoCheck(&t) << 16) | ItemPointerGetOffsetNumberNoCheck(&t);
}
inline void unpack_tid(uint64 id, ItemPointerData* t) {
  ItemPointerSet(t, (BlockNumber)(id >> 16), (OffsetNumber)(id & 0xFFFF));
}

// The highest level a node of `dims` may have: every level's lists must fit
// one page with it.
int max_level_for(int dims, int m);
// The meta page's entry point (InvalidBlockNumber, InvalidOffsetNumber, -1:
// none), WAL-logged.
void set_entry(Relation index, BlockNumber blk, OffsetNumber off, int level);

void init_page(Page page);
void init_meta(Page page, const Shape& shape, int dims);
Meta* page_meta(Page page);
// A copy of the meta page (share lock held only while copying).
Meta read_meta(Relation index);
// The node at `id`, or null if the slot holds none (a stale id after VACUUM).
void* page_node(Page page, OffsetNumber off);

// ReadBuffer of an index page, through a backend-wide guess of where it
// last was in shared buffers (ReadRecentBuffer).
Buffer read_page(Relation index, BlockNumber blk, BufferAccessStrategy strategy);

// The graph in pages, as the search template reads it: a prepared query and
// its keys against stored nodes. Buffer locks are taken and dropped inside.
struct PageGraph {
  Relation index;
  int dims;
  int m_;
  rvj::runtime::hnsw::Keys keys_fn;
  const float* q;
  float q_aux;
  BufferAccessStrategy strategy;
  int m() const { return m_; }
  int neighbours(uint64 id, int level, uint64* out);
  void keys(const uint64* ids, int n, rvj::runtime::hnsw::Cand* out);
};

// palloc in CurrentMemoryContext, for the search's containers.
extern const rvj::runtime::hnsw::Alloc kPallocAlloc;

// The update lock.
inline void lock_updates(Relation index, LOCKMODE mode) { LockPage(index, kMetaBlock, mode); }
inline void unlock_updates(Relation index, LOCKMODE mode) { UnlockPage(index, kMetaBlock, mode); }

// Offers node `from` (key d) to r's list at `level`; returns whether the list
// holds it afterwards. A full list replaces its farthest entry if d is nearer,
// or always with `force`; *dropped (if given) is then that entry's id + 1.
bool add_link(Relation index, int dims, int m, uint64 r, int level, const ItemPointerData& from, float d, bool force,
              uint64* dropped);
// Inserts one prepared vector of `dims` (build's overflow and aminsert).
void insert_prepared(Relation index, const Meta& meta, const float* vec, float aux, ItemPointer heaptid, int dims);
// Prepares a datum for the index: false to skip it (zero vector under
// cosine); ERROR for a vector the index cannot hold.
bool prepare_datum(Relation index, Metric metric, int dims_expected, Datum value, float* out, float* aux,
                   int* dims_out);

// A valid ruvector_attention index of relid on its column attnum ranking by
// `metric` (lookup.cpp), with its shape; InvalidOid when there is none.
Oid find_index(Oid relid, AttrNumber attnum, Metric metric, Shape* shape);

// Installs the planner hook that lets the plan's ORDER BY
// ruvector_attention_score(...) DESC form use an index (order_by.cpp).
void init_order_by();

// The GUCs.
extern int ef_search;
extern int max_scan_tuples;
void init_settings();

// AM callbacks.
IndexBuildResult* build(Relation heap, Relation index, IndexInfo* info);
void build_empty(Relation index);
bool insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
            IndexUniqueCheck check, bool indexUnchanged, IndexInfo* info);
IndexScanDesc begin_scan(Relation index, int nkeys, int norderbys);
void rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool get_tuple(IndexScanDesc scan, ScanDirection dir);
void end_scan(IndexScanDesc scan);
IndexBulkDeleteResult* bulk_delete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                   IndexBulkDeleteCallback callback, void* state);
IndexBulkDeleteResult* vacuum_cleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
void cost_estimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup, Cost* total,
                   Selectivity* selectivity, double* correlation, double* pages);

// Build phases (pg_stat_progress_create_index.phase).
inline constexpr int kPhaseLoad = 2, kPhaseLink = 3, kPhaseWrite = 4;

}  // namespace rvj::pg::index
