// ORDER BY col <op> q LIMIT k: the search descends from the entry point,
// then searches the bottom level with ef = ruvector_jit.ef_search and hands
// back its ef nearest, nearest first. Asked for more (a WHERE clause threw
// some away), it goes on where it stopped, ef more at a time, up to
// ruvector_jit.max_scan_tuples rows. Rows always come nearest first: a row
// a later round finds nearer than one already returned is skipped.
#include "pg/index/index.h"
#include "pg/errors.h"
#include "pg/vector.h"

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

int ef_search = hnsw::kDefaultEfSearch;
int max_scan_tuples = 20000;

void init_settings() {
  DefineCustomIntVariable("ruvector_jit.ef_search",
                          "Candidates a ruvector_attention index scan keeps (recall against speed).",
                          "Higher finds more of the true nearest rows, more slowly. A scan that a WHERE clause "
                          "thins out continues past the first ef candidates.",
                          &ef_search, hnsw::kDefaultEfSearch, 1, hnsw::kMaxEfSearch, PGC_USERSET, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("ruvector_jit.max_scan_tuples",
                          "The most rows one ruvector_attention index scan returns.",
                          "A filtered scan stops there even if the filter has kept fewer than LIMIT rows.",
                          &max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

namespace {
enum class Mode { Search, All, Done };

struct ScanState {
  MemoryContext ctx;
  bool started;
  Mode mode;
  Meta meta;
  float* q;
  PageGraph g;
  hnsw::Search s;
  hnsw::Cand* batch;
  int ef;  // ef_search when the scan started
  int nbatch, pos;
  int64 returned;
  float last;  // the key of the last row returned
  BlockNumber all_blk;  // Mode::All: the next node in physical order
  OffsetNumber all_off;
};

void start(IndexScanDesc scan, ScanState* st) {
  Relation index = scan->indexRelation;
  st->meta = read_meta(index);
  const Meta& meta = st->meta;
  st->pos = st->nbatch = 0;
  st->returned = 0;
  if (meta.entry_blk == InvalidBlockNumber) {
    st->mode = Mode::Done;
    return;
  }
  // A NULL query: every distance is NULL, so any order is right.
  if (scan->orderByData == nullptr || (scan->orderByData[0].sk_flags & SK_ISNULL)) {
    st->mode = Mode::All;
    st->all_blk = 1;
    st->all_off = FirstOffsetNumber;
    return;
  }
  RuVector* v = DatumGetRuVector(scan->orderByData[0].sk_argument);
  if (v->dim != meta.dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different vector dimensions %d and %d", meta.dims, v->dim)));
  const Metric metric = (Metric)meta.metric;
  st->q = (float*)palloc(sizeof(float) * meta.dims);
  float aux;
  switch (hnsw::prepare(metric, v->x, v->dim, st->q, &aux)) {
    case hnsw::Prepared::Ok: break;
    case hnsw::Prepared::ZeroVector:
      // The cosine distance to a zero vector is NaN for every row.
      st->mode = Mode::All;
      st->all_blk = 1;
      st->all_off = FirstOffsetNumber;
      return;
    case hnsw::Prepared::OutsideBall:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("the query point is outside the Poincare ball"),
                      errdetail("The Poincare distance needs |x| < 1.")));
  }
  rvj::runtime::hnsw::Keys kf{};
  RVJ_ENGINE(kf = hnsw::keys_for(metric, meta.dims));
  st->g = PageGraph{index, meta.dims, meta.m, kf, st->q, aux, nullptr};
  st->s = hnsw::Search{};
  st->s.stream = true;
  uint64 eid = ((uint64)meta.entry_blk << 16) | meta.entry_off;
  hnsw::Cand e;
  st->g.keys(&eid, 1, &e);
  e = hnsw::descend(st->g, st->s, e, meta.entry_level, 0, kPallocAlloc);
  hnsw::clear(st->s.visited);
  st->s.pending.n = 0;
  hnsw::start(st->s, &e, 1, kPallocAlloc);
  st->ef = ef_search;
  st->batch = (hnsw::Cand*)palloc(sizeof(hnsw::Cand) * st->ef);
  st->mode = Mode::Search;
}

// The next ef nearest not yet returned.
bool next_batch(ScanState* st) {
  hnsw::Search& s = st->s;
  if (s.candidates.n == 0 && s.pending.n == 0) return false;
  hnsw::search_round(st->g, s, 0, st->ef, kPallocAlloc);
  st->nbatch = 0;
  while (st->nbatch < st->ef && s.pending.n > 0) st->batch[st->nbatch++] = hnsw::heap_pop_min(s.pending);
  st->pos = 0;
  return st->nbatch > 0;
}

// Mode::All: the next live node in physical order.
bool next_physical(IndexScanDesc scan, ScanState* st) {
  Relation index = scan->indexRelation;
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  while (st->all_blk < nblocks) {
    Buffer buf = ReadBuffer(index, st->all_blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    const OffsetNumber max = PageGetMaxOffsetNumber(page);
    while (st->all_off <= max) {
      void* t = page_node(page, st->all_off++);
      if (!t) continue;
      const NodeHeader* h = (const NodeHeader*)t;
      if (h->flags & (kDeleted | kFree)) continue;
      scan->xs_heaptid = h->heaptid;
      UnlockReleaseBuffer(buf);
      return true;
    }
    UnlockReleaseBuffer(buf);
    st->all_blk++;
    st->all_off = FirstOffsetNumber;
    CHECK_FOR_INTERRUPTS();
  }
  return false;
}
}  // namespace

IndexScanDesc begin_scan(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  ScanState* st = (ScanState*)palloc0(sizeof(ScanState));
  st->ctx = AllocSetContextCreate(CurrentMemoryContext, "ruvector_attention scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = st;
  return scan;
}

void rescan(IndexScanDesc scan, ScanKey keys, int, ScanKey orderbys, int) {
  ScanState* st = (ScanState*)scan->opaque;
  st->started = false;
  MemoryContextReset(st->ctx);
  if (keys && scan->numberOfKeys > 0) memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
  if (orderbys && scan->numberOfOrderBys > 0)
    memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

bool get_tuple(IndexScanDesc scan, ScanDirection dir) {
  ScanState* st = (ScanState*)scan->opaque;
  if (!ScanDirectionIsForward(dir))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("ruvector_attention index scans go forward only")));
  MemoryContext old = MemoryContextSwitchTo(st->ctx);
  if (!st->started) {
    pgstat_count_index_scan(scan->indexRelation);  // pg_stat_user_indexes.idx_scan, as btree counts
    start(scan, st);
    st->started = true;
  }
  bool found = false;
  if (st->mode == Mode::All) {
    found = next_physical(scan, st);
  } else if (st->mode == Mode::Search) {
    while (!found && st->mode == Mode::Search && st->returned < max_scan_tuples) {
      if (st->pos >= st->nbatch && !next_batch(st)) {
        st->mode = Mode::Done;
        break;
      }
      const hnsw::Cand& c = st->batch[st->pos++];
      // Rows come in order: one a later round finds nearer than a row
      // already returned is too late for its place, and is skipped.
      if (st->returned > 0 && c.d < st->last) continue;
      st->last = c.d;
      unpack_tid(c.item, &scan->xs_heaptid);
      st->returned++;
      found = true;
    }
  }
  MemoryContextSwitchTo(old);
  scan->xs_recheck = false;
  scan->xs_recheckorderby = false;
  return found;
}

void end_scan(IndexScanDesc scan) {
  ScanState* st = (ScanState*)scan->opaque;
  MemoryContextDelete(st->ctx);
  pfree(st);
  scan->opaque = nullptr;
}

}  // namespace rvj::pg::index
