// INSERT, UPDATE and COPY: one new node. It searches the graph in pages
// (the same search as the build's), picks its neighbours with the
// heuristic, is written with its lists, then offered to each neighbour's
// list: appended while there is room, else it replaces the farthest entry if
// nearer (each list keeps its entries' keys, so this reads no other page).
#include "pg/index/index.h"
#include "pg/errors.h"
#include "pg/vector.h"

#include <algorithm>

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

namespace {
struct Chosen {
  uint64 id;
  float d;
};

// Finds room for a tuple of `size`: the insert page, or a new one.
OffsetNumber write_node(Relation index, const char* tuple, Size size, BlockNumber* blk_out) {
  const Meta meta = read_meta(index);
  if (meta.insert_blk != InvalidBlockNumber) {
    Buffer buf = ReadBuffer(index, meta.insert_blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    if (PageGetFreeSpace(BufferGetPage(buf)) >= MAXALIGN(size)) {
      GenericXLogState* state = GenericXLogStart(index);
      Page page = GenericXLogRegisterBuffer(state, buf, 0);
      const OffsetNumber off = PageAddItem(page, (Item)tuple, size, InvalidOffsetNumber, false, false);
      if (off == InvalidOffsetNumber) elog(ERROR, "ruvector_attention: failed to add a node to page %u", meta.insert_blk);
      GenericXLogFinish(state);
      *blk_out = BufferGetBlockNumber(buf);
      UnlockReleaseBuffer(buf);
      return off;
    }
    UnlockReleaseBuffer(buf);
  }
  LockRelationForExtension(index, ExclusiveLock);
  Buffer buf = ReadBuffer(index, P_NEW);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  UnlockRelationForExtension(index, ExclusiveLock);
  Buffer mb = ReadBuffer(index, kMetaBlock);
  LockBuffer(mb, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
  init_page(page);
  const OffsetNumber off = PageAddItem(page, (Item)tuple, size, InvalidOffsetNumber, false, false);
  if (off == InvalidOffsetNumber) elog(ERROR, "ruvector_attention: a node does not fit an empty page");
  Page mpage = GenericXLogRegisterBuffer(state, mb, 0);
  page_meta(mpage)->insert_blk = BufferGetBlockNumber(buf);
  GenericXLogFinish(state);
  *blk_out = BufferGetBlockNumber(buf);
  UnlockReleaseBuffer(mb);
  UnlockReleaseBuffer(buf);
  return off;
}

}  // namespace

bool add_link(Relation index, int dims, int m, uint64 r, int level, const ItemPointerData& from, float d, bool force,
              uint64* dropped) {
  if (dropped) *dropped = 0;
  Buffer buf = ReadBuffer(index, (BlockNumber)(r >> 16));
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  const OffsetNumber off = (OffsetNumber)(r & 0xFFFF);
  void* t = page_node(BufferGetPage(buf), off);
  bool held = false;
  if (t) {
    NodeView v = node_view(t, dims, m);
    if (!(v.h->flags & (kDeleted | kFree)) && level <= v.h->level) {
      const int base = hnsw::level_base(m, level), cap = hnsw::level_capacity(m, level), cnt = v.counts[level];
      int slot = -1, worst = -1;
      for (int i = 0; i < cnt; i++) {
        if (ItemPointerEquals(&v.nbrs[base + i], const_cast<ItemPointerData*>(&from))) held = true;
        if (worst < 0 || v.keys[base + i] > v.keys[base + worst]) worst = i;
      }
      if (!held) {
        if (cnt < cap) slot = cnt;
        else if (worst >= 0 && (d < v.keys[base + worst] || force)) slot = worst;
      }
      if (slot >= 0) {
        GenericXLogState* state = GenericXLogStart(index);
        Page page = GenericXLogRegisterBuffer(state, buf, 0);
        NodeView w = node_view(page_node(page, off), dims, m);
        if (slot < cnt && dropped) *dropped = pack_tid(v.nbrs[base + slot]) + 1;
        w.nbrs[base + slot] = from;
        w.keys[base + slot] = d;
        if (slot == cnt) w.counts[level] = (uint8)(cnt + 1);
        GenericXLogFinish(state);
        held = true;
      }
    }
  }
  UnlockReleaseBuffer(buf);
  return held;
}

namespace {
void set_dims(Relation index, int dims) {
  Buffer mb = ReadBuffer(index, kMetaBlock);
  LockBuffer(mb, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  page_meta(GenericXLogRegisterBuffer(state, mb, 0))->dims = dims;
  GenericXLogFinish(state);
  UnlockReleaseBuffer(mb);
}

// Copies the stored vectors of `ids` (n of them) into rows of `out`.
void load_vectors(Relation index, int dims, int m, const hnsw::Cand* c, int n, float* out, float* aux) {
  for (int i = 0; i < n; i++) {
    Buffer buf = ReadBuffer(index, (BlockNumber)(c[i].id >> 16));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    void* t = page_node(BufferGetPage(buf), (OffsetNumber)(c[i].id & 0xFFFF));
    if (t) {
      NodeView v = node_view(t, dims, m);
      memcpy(out + (size_t)i * dims, v.vec, sizeof(float) * dims);
      aux[i] = v.h->aux;
    }
    UnlockReleaseBuffer(buf);
  }
}
}  // namespace

void insert_prepared(Relation index, const Meta& seen, const float* vec, float aux, ItemPointer heaptid, int dims) {
  const int m = seen.m;
  const Metric metric = (Metric)seen.metric;
  const uint64 tid = pack_tid(*heaptid);
  const int level = hnsw::random_level(tid, m, max_level_for(dims, m));
  LOCKMODE mode = (seen.entry_blk == InvalidBlockNumber || level > seen.entry_level || seen.dims == 0) ? ExclusiveLock
                                                                                                      : ShareLock;
  lock_updates(index, mode);
  Meta meta = read_meta(index);
  if (mode == ShareLock && (meta.entry_blk == InvalidBlockNumber || level > meta.entry_level)) {
    unlock_updates(index, mode);
    mode = ExclusiveLock;
    lock_updates(index, mode);
    meta = read_meta(index);
  }
  if (meta.dims == 0)
    set_dims(index, dims);
  else if (meta.dims != dims)  // another first insert set them meanwhile
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", meta.dims, dims),
                    errdetail("Index \"%s\" holds vectors of %d dimensions.", RelationGetRelationName(index),
                              meta.dims)));

  rvj::runtime::hnsw::Keys kf{};
  RVJ_ENGINE(kf = hnsw::keys_for(metric, dims));
  PageGraph g{index, dims, m, kf, vec, aux, nullptr};
  const int ef = meta.ef_construction;

  // Each level's chosen neighbours.
  Chosen* chosen = (Chosen*)palloc(sizeof(Chosen) * hnsw::node_slots(m, level));
  int counts[hnsw::kMaxLevel + 1] = {};
  if (meta.entry_blk != InvalidBlockNumber) {
    hnsw::Search s{};
    uint64 eid = ((uint64)meta.entry_blk << 16) | meta.entry_off;
    hnsw::Cand e;
    g.keys(&eid, 1, &e);
    const int top = meta.entry_level;
    e = hnsw::descend(g, s, e, top, level, kPallocAlloc);
    hnsw::Cand* found = (hnsw::Cand*)palloc(sizeof(hnsw::Cand) * (ef + 1));
    hnsw::Cand* entries = (hnsw::Cand*)palloc(sizeof(hnsw::Cand) * (ef + 1));
    hnsw::Cand* live = (hnsw::Cand*)palloc(sizeof(hnsw::Cand) * (ef + 1));
    float* vecs = (float*)palloc(sizeof(float) * (size_t)(ef + 1) * dims);
    float* auxs = (float*)palloc(sizeof(float) * (ef + 1));
    int* keep = (int*)palloc(sizeof(int) * 2 * m);
    entries[0] = e;
    int nentries = 1;
    for (int l = Min(level, top); l >= 0; l--) {
      hnsw::clear(s.visited);
      hnsw::start(s, entries, nentries, kPallocAlloc);
      hnsw::search_round(g, s, l, ef, kPallocAlloc);
      const int n = hnsw::round_nearest(s, found);
      int nl = 0;
      for (int i = 0; i < n; i++)
        if (found[i].live) live[nl++] = found[i];
      load_vectors(index, dims, m, live, nl, vecs, auxs);
      const int kept = hnsw::select_neighbours(
          kf, live, nl, hnsw::level_capacity(m, l), [&](int i) { return (const float*)(vecs + (size_t)i * dims); },
          auxs, keep);
      Chosen* out = chosen + hnsw::level_base(m, l);
      for (int i = 0; i < kept; i++) out[i] = {live[keep[i]].id, live[keep[i]].d};
      counts[l] = kept;
      memcpy(entries, found, sizeof(hnsw::Cand) * n);
      nentries = n;
      CHECK_FOR_INTERRUPTS();
    }
  }

  // The node with its lists.
  const Size size = node_size(dims, m, level);
  char* tuple = (char*)palloc0(size);
  NodeHeader* h = (NodeHeader*)tuple;
  h->level = (uint8)level;
  h->heaptid = *heaptid;
  h->aux = aux;
  NodeView v = node_view(tuple, dims, m);
  memcpy(v.vec, vec, sizeof(float) * dims);
  for (int l = 0; l <= level; l++) {
    const int base = hnsw::level_base(m, l);
    for (int i = 0; i < counts[l]; i++) {
      unpack_tid(chosen[base + i].id, &v.nbrs[base + i]);
      v.keys[base + i] = chosen[base + i].d;
    }
    v.counts[l] = (uint8)counts[l];
  }
  BlockNumber blk;
  const OffsetNumber off = write_node(index, tuple, size, &blk);
  ItemPointerData self;
  ItemPointerSet(&self, blk, off);

  // The way back in: each neighbour is offered the new node. An entry a
  // list drops for it is offered the new node's own list, where there is
  // room, so that it keeps a way in.
  uint64* dropped = (uint64*)palloc(sizeof(uint64) * hnsw::node_slots(m, level));
  int ndropped[hnsw::kMaxLevel + 1] = {};
  for (int l = 0; l <= level; l++) {
    const int base = hnsw::level_base(m, l);
    const Chosen* c = chosen + base;
    bool reached = false;
    for (int i = 0; i < counts[l]; i++) {
      uint64 x;
      reached |= add_link(index, dims, m, c[i].id, l, self, c[i].d, false, &x);
      if (x) dropped[base + ndropped[l]++] = x - 1;
    }
    // At least one list must hold it, or nothing leads to it.
    if (!reached && counts[l] > 0) {
      uint64 x;
      add_link(index, dims, m, c[0].id, l, self, c[0].d, true, &x);
      if (x) dropped[base + ndropped[l]++] = x - 1;
    }
  }
  for (int l = 0; l <= level; l++) {
    const int base = hnsw::level_base(m, l);
    for (int i = 0; i < ndropped[l] && counts[l] < hnsw::level_capacity(m, l); i++) {
      hnsw::Cand c;
      g.keys(&dropped[base + i], 1, &c);
      bool have = c.id == (((uint64)blk << 16) | off);
      for (int j = 0; j < counts[l] && !have; j++) have = chosen[base + j].id == c.id;
      if (!have && c.live) chosen[base + counts[l]++] = {c.id, c.d};
    }
  }
  bool grew = false;
  for (int l = 0; l <= level; l++) grew |= counts[l] > v.counts[l];
  if (grew) {
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState* state = GenericXLogStart(index);
    NodeView w = node_view(page_node(GenericXLogRegisterBuffer(state, buf, 0), off), dims, m);
    // Other inserts may have linked to the node since it was written:
    // append what is missing where there is room, drop nothing.
    for (int l = 0; l <= level; l++) {
      const int base = hnsw::level_base(m, l), cap = hnsw::level_capacity(m, l);
      int cnt = w.counts[l];
      for (int i = v.counts[l]; i < counts[l] && cnt < cap; i++) {
        bool have = false;
        for (int j = 0; j < cnt && !have; j++) have = pack_tid(w.nbrs[base + j]) == chosen[base + i].id;
        if (have) continue;
        unpack_tid(chosen[base + i].id, &w.nbrs[base + cnt]);
        w.keys[base + cnt] = chosen[base + i].d;
        cnt++;
      }
      w.counts[l] = (uint8)cnt;
    }
    GenericXLogFinish(state);
    UnlockReleaseBuffer(buf);
  }
  if (meta.entry_blk == InvalidBlockNumber || level > meta.entry_level) set_entry(index, blk, off, level);
  unlock_updates(index, mode);
}

bool insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation, IndexUniqueCheck, bool,
            IndexInfo*) {
  if (isnull[0]) return false;  // NULLs are not indexed, as in btree's ORDER BY: they sort last anyway
  MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "ruvector_attention insert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(tmp);
  const Meta meta = read_meta(index);
  float* vec = (float*)palloc(sizeof(float) * RUVECTOR_MAX_DIM);
  float aux;
  int dims;
  if (prepare_datum(index, (Metric)meta.metric, meta.dims, values[0], vec, &aux, &dims))
    insert_prepared(index, meta, vec, aux, heap_tid, dims);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(tmp);
  return false;
}

}  // namespace rvj::pg::index
