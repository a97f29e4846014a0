// CREATE INDEX: the heap scan fills the in-memory graph (runtime/hnsw_build.h)
// while it fits in maintenance_work_mem; the graph is linked on engine
// threads and written out page by page, then WAL-logged as whole pages. Past
// the budget, what was gathered is written out and the rest goes through
// the insert path, on disk, with a NOTICE.
#include "pg/index/index.h"
#include "pg/errors.h"
#include "pg/vector.h"
#include "runtime/hnsw_build.h"

#include <algorithm>

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

namespace {
struct BuildState {
  Relation heap, index;
  Shape shape;
  int dims;  // 0 until the first vector (an unconstrained column)
  hnsw::BuildGraph* graph;
  bool on_disk;
  double tuples;
  size_t budget;
  float* prepared;
  MemoryContext tmp;
  MemoryContextCallback cb;
};

void delete_graph(void* arg) {
  BuildState* s = (BuildState*)arg;
  delete s->graph;
  s->graph = nullptr;
}

Buffer new_page(Relation index) {
  Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  init_page(BufferGetPage(buf));
  return buf;
}

// Writes the linked graph after the meta page, then the meta page's entry.
void write_graph(BuildState* s) {
  const hnsw::BuildGraph& g = *s->graph;
  const int n = g.size(), m = g.m(), dims = g.dims();
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseWrite);
  // Where each node goes: pages are filled in breadth-first order from the
  // entry point over the bottom level, so that a node and its neighbours
  // tend to share pages and a search reads fewer of them.
  int* order = (int*)MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * Max(n, 1));
  bool* placed = (bool*)MemoryContextAllocHuge(CurrentMemoryContext, sizeof(bool) * Max(n, 1));
  memset(placed, 0, sizeof(bool) * Max(n, 1));
  int norder = 0;
  for (int start = g.entry(), next = 0; norder < n;) {
    if (start < 0 || placed[start]) {
      while (next < n && placed[next]) next++;  // (every node is reachable after link(); for safety)
      start = next;
    }
    placed[start] = true;
    int head = norder;
    order[norder++] = start;
    while (head < norder) {
      const int i = order[head++];
      const hnsw::BuildGraph::Slot* slots;
      const int cnt = g.neighbours(i, 0, &slots);
      for (int c = 0; c < cnt; c++)
        if (!placed[slots[c].id]) {
          placed[slots[c].id] = true;
          order[norder++] = (int)slots[c].id;
        }
    }
    start = -1;
  }
  uint64* pos = (uint64*)MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * Max(n, 1));
  BlockNumber blk = RelationGetNumberOfBlocks(s->index);
  Size room = page_room();
  OffsetNumber off = FirstOffsetNumber;
  for (int j = 0; j < n; j++) {
    const int i = order[j];
    const Size need = node_footprint(dims, m, g.level(i));
    if (need > room) {
      blk++;
      room = page_room();
      off = FirstOffsetNumber;
    }
    pos[i] = ((uint64)blk << 16) | off;
    off++;
    room -= need;
  }
  char* tuple = (char*)palloc0(BLCKSZ);
  Buffer buf = InvalidBuffer;
  for (int j = 0; j < n; j++) {
    const int i = order[j];
    const BlockNumber want = (BlockNumber)(pos[i] >> 16);
    if (!BufferIsValid(buf) || BufferGetBlockNumber(buf) != want) {
      if (BufferIsValid(buf)) {
        MarkBufferDirty(buf);
        UnlockReleaseBuffer(buf);
      }
      buf = new_page(s->index);
      if (BufferGetBlockNumber(buf) != want) elog(ERROR, "ruvector_attention build: pages out of order");
    }
    const int level = g.level(i);
    const Size size = node_size(dims, m, level);
    memset(tuple, 0, size);
    NodeHeader* h = (NodeHeader*)tuple;
    h->level = (uint8)level;
    NodeView v = node_view(tuple, dims, m);
    unpack_tid(g.item(i), &h->heaptid);
    h->aux = g.aux(i);
    memcpy(v.vec, g.vec(i), sizeof(float) * dims);
    for (int l = 0; l <= level; l++) {
      const hnsw::BuildGraph::Slot* slots;
      const int cnt = g.neighbours(i, l, &slots);
      const int base = hnsw::level_base(m, l);
      for (int c = 0; c < cnt; c++) {
        v.keys[base + c] = slots[c].d;
        unpack_tid(pos[slots[c].id], &v.nbrs[base + c]);
      }
      v.counts[l] = (uint8)cnt;
    }
    if (PageAddItem(BufferGetPage(buf), (Item)tuple, size, InvalidOffsetNumber, false, false) !=
        (OffsetNumber)(pos[i] & 0xFFFF))
      elog(ERROR, "ruvector_attention build: a node did not fit its page");
    if ((j & 1023) == 0) CHECK_FOR_INTERRUPTS();
  }
  if (BufferIsValid(buf)) {
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
  }
  Buffer mb = ReadBuffer(s->index, kMetaBlock);
  LockBuffer(mb, BUFFER_LOCK_EXCLUSIVE);
  Meta* meta = page_meta(BufferGetPage(mb));
  meta->dims = dims;
  if (g.entry() >= 0) {
    const uint64 e = pos[g.entry()];
    meta->entry_blk = (BlockNumber)(e >> 16);
    meta->entry_off = (OffsetNumber)(e & 0xFFFF);
    meta->entry_level = (int16)g.level(g.entry());
  }
  if (n > 0) meta->insert_blk = (BlockNumber)(pos[order[n - 1]] >> 16);
  MarkBufferDirty(mb);
  UnlockReleaseBuffer(mb);
  pfree(tuple);
  pfree(pos);
  pfree(order);
  pfree(placed);
}

// Links what was gathered and writes it out (the whole build, or its part
// in memory before the budget ran out).
void flush(BuildState* s) {
  if (s->graph && s->graph->size() > 0) {
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseLink);
    pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, s->graph->size());
    const int threads = maintenance_threads();
    hnsw::BuildGraph* g = s->graph;
    RVJ_ENGINE(g->link(threads, [](int64_t done) {
      pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, done);
    }));
    write_graph(s);
  }
  if (RelationNeedsWAL(s->index))
    log_newpage_range(s->index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(s->index), true);
  delete s->graph;
  s->graph = nullptr;
}

void build_callback(Relation index, ItemPointer tid, Datum* values, bool* isnull, bool, void* state) {
  BuildState* s = (BuildState*)state;
  if (isnull[0]) return;
  MemoryContext old = MemoryContextSwitchTo(s->tmp);
  float aux;
  int dims;
  const bool keep = prepare_datum(index, s->shape.metric, s->dims, values[0], s->prepared, &aux, &dims);
  MemoryContextSwitchTo(old);
  MemoryContextReset(s->tmp);
  if (!keep) return;
  if (s->dims == 0) s->dims = dims;
  if (s->on_disk) {
    const Meta meta = read_meta(index);
    insert_prepared(index, meta, s->prepared, aux, tid, dims);
    s->tuples++;
    return;
  }
  if (!s->graph) {
    const Shape& sh = s->shape;
    const int max_level = max_level_for(dims, sh.m);
    hnsw::BuildGraph* g = nullptr;
    RVJ_ENGINE(g = new hnsw::BuildGraph(sh.metric, dims, sh.m, sh.ef_construction, max_level));
    s->graph = g;
  }
  if (s->graph->bytes() + s->graph->node_bytes(hnsw::kMaxLevel) > s->budget) {
    ereport(NOTICE, (errmsg("ruvector_attention graph no longer fits into maintenance_work_mem after %d tuples",
                            s->graph->size()),
                     errdetail("Building will take significantly more time."),
                     errhint("Increase maintenance_work_mem to speed up builds.")));
    flush(s);
    s->on_disk = true;
    const Meta meta = read_meta(index);
    insert_prepared(index, meta, s->prepared, aux, tid, dims);
    s->tuples++;
    return;
  }
  hnsw::BuildGraph* g = s->graph;
  const float* v = s->prepared;
  const uint64 item = pack_tid(*tid);
  RVJ_ENGINE(g->add(v, aux, item, item));
  s->tuples++;
}

void check_dims_option(const Shape& sh, int dims) {
  if (dims > max_dims(sh.m))
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("column cannot have more than %d dimensions for a ruvector_attention index with m = %d",
                           max_dims(sh.m), sh.m),
                    errhint("A node of level 0 must fit one %d-byte page; a smaller m leaves room for more.", BLCKSZ)));
  if (sh.num_heads > 0 && dims > 0 && sh.num_heads * sh.head_dim != dims)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("num_heads * head_dim (%d * %d = %d) must equal the column's dims, %d", sh.num_heads,
                           sh.head_dim, sh.num_heads * sh.head_dim, dims)));
}
}  // namespace

bool prepare_datum(Relation index, Metric metric, int dims_expected, Datum value, float* out, float* aux,
                   int* dims_out) {
  RuVector* v = DatumGetRuVector(value);
  if (dims_expected > 0 && v->dim != dims_expected)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("expected %d dimensions, not %d", dims_expected, v->dim),
                    errdetail("Index \"%s\" holds vectors of %d dimensions.", RelationGetRelationName(index),
                              dims_expected)));
  *dims_out = v->dim;
  if (dims_expected == 0) {
    Shape sh = index_shape(index);
    check_dims_option(sh, v->dim);
  }
  switch (hnsw::prepare(metric, v->x, v->dim, out, aux)) {
    case hnsw::Prepared::Ok: return true;
    case hnsw::Prepared::ZeroVector: return false;  // no direction: cosine skips it, as pgvector does
    case hnsw::Prepared::OutsideBall:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("a point outside the Poincare ball cannot be indexed"),
                      errdetail("A ruvector_poincare_ops index needs |x| < 1."),
                      errhint("Map points into the ball with ruvector_poincare_expmap0, or rescale them.")));
  }
  return false;
}

static int typmod_dims(Relation index) {
  const int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
  return typmod > 0 ? typmod : 0;
}

IndexBuildResult* build(Relation heap, Relation index, IndexInfo* info) {
  if (RelationGetNumberOfBlocks(index) != 0)
    elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
  BuildState* s = (BuildState*)palloc0(sizeof(BuildState));
  s->heap = heap;
  s->index = index;
  s->shape = index_shape(index);
  s->dims = typmod_dims(index);
  if (s->dims > 0) check_dims_option(s->shape, s->dims);
  s->budget = (size_t)maintenance_work_mem * 1024;
  s->prepared = (float*)palloc(sizeof(float) * RUVECTOR_MAX_DIM);
  s->tmp = AllocSetContextCreate(CurrentMemoryContext, "ruvector_attention build tuple", ALLOCSET_DEFAULT_SIZES);
  s->cb.func = delete_graph;
  s->cb.arg = s;
  MemoryContextRegisterResetCallback(CurrentMemoryContext, &s->cb);

  Buffer mb = new_page(index);
  init_meta(BufferGetPage(mb), s->shape, s->dims);
  MarkBufferDirty(mb);
  UnlockReleaseBuffer(mb);

  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseLoad);
  // From the table's first page (allow_sync = false): a synchronized scan
  // starts where another scan of the table is, and the graph, which
  // depends on the insertion order, would differ from build to build.
  const double reltuples = table_index_build_scan(heap, index, info, false, true, build_callback, s, nullptr);
  if (!s->on_disk) flush(s);

  IndexBuildResult* r = (IndexBuildResult*)palloc(sizeof(IndexBuildResult));
  r->heap_tuples = reltuples;
  r->index_tuples = s->tuples;
  return r;
}

void build_empty(Relation index) {
  const Shape shape = index_shape(index);
  Buffer buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  START_CRIT_SECTION();
  init_meta(BufferGetPage(buf), shape, typmod_dims(index));
  MarkBufferDirty(buf);
  log_newpage_buffer(buf, true);
  END_CRIT_SECTION();
  UnlockReleaseBuffer(buf);
}

}  // namespace rvj::pg::index
