// VACUUM in three passes over the index pages:
//   1. mark the nodes whose heap tuples are dead (no scan returns them from
//      here on: their heap TIDs may be reused once VACUUM is done);
//   2. under the update lock, repair every list that held a marked node:
//      the other entries stay, and the freed places go to the nearest of the
//      marked nodes' own neighbours (two hops), so paths through them survive;
//   3. clear the marked nodes: no list points to them any more.
// A new entry point (the highest live node) replaces a marked one.
#include "pg/index/index.h"
#include "pg/errors.h"

#include <algorithm>

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

namespace {
struct Vacuum {
  Relation index;
  BufferAccessStrategy strategy;
  int dims, m;
  hnsw::Keys kf;
  hnsw::Visited dead;
};

Buffer read(const Vacuum& v, BlockNumber blk, int mode) {
  Buffer buf = ReadBufferExtended(v.index, MAIN_FORKNUM, blk, RBM_NORMAL, v.strategy);
  LockBuffer(buf, mode);
  return buf;
}

// Pass 2 for one node: new lists for the levels that held marked nodes.
void repair_node(Vacuum& v, BlockNumber blk, OffsetNumber off) {
  // A copy of the node, taken under a share lock.
  Buffer buf = read(v, blk, BUFFER_LOCK_SHARE);
  void* t = page_node(BufferGetPage(buf), off);
  if (!t || (((NodeHeader*)t)->flags & (kDeleted | kFree))) {
    UnlockReleaseBuffer(buf);
    return;
  }
  const Size size = node_size(v.dims, v.m, ((NodeHeader*)t)->level);
  char* copy = (char*)palloc(size);
  memcpy(copy, t, size);
  UnlockReleaseBuffer(buf);
  NodeView n = node_view(copy, v.dims, v.m);
  const uint64 self = ((uint64)blk << 16) | off;

  bool changed = false;
  const int cap0 = hnsw::level_capacity(v.m, 0);
  uint64* ids = (uint64*)palloc(sizeof(uint64) * cap0 * (cap0 + 1));
  hnsw::Cand* cands = (hnsw::Cand*)palloc(sizeof(hnsw::Cand) * cap0 * (cap0 + 1));
  uint64* hop = (uint64*)palloc(sizeof(uint64) * cap0);
  PageGraph g{v.index, v.dims, v.m, v.kf, n.vec, n.h->aux, v.strategy};
  for (int l = 0; l <= n.h->level; l++) {
    const int base = hnsw::level_base(v.m, l), cap = hnsw::level_capacity(v.m, l), cnt = n.counts[l];
    bool any = false;
    for (int i = 0; i < cnt && !any; i++) any = hnsw::contains(v.dead, pack_tid(n.nbrs[base + i]));
    if (!any) continue;
    // Keep the live entries (their keys are known); gather two-hop candidates.
    int nc = 0, nids = 0;
    for (int i = 0; i < cnt; i++) {
      const uint64 id = pack_tid(n.nbrs[base + i]);
      if (!hnsw::contains(v.dead, id)) cands[nc++] = {n.keys[base + i], 1, id, 0};
    }
    const int survivors = nc;
    for (int i = 0; i < cnt; i++) {
      const uint64 id = pack_tid(n.nbrs[base + i]);
      if (!hnsw::contains(v.dead, id)) continue;
      const int nh = g.neighbours(id, l, hop);
      for (int j = 0; j < nh; j++) {
        const uint64 h = hop[j];
        if (h == self || hnsw::contains(v.dead, h)) continue;
        bool dup = false;
        for (int k = 0; k < nc && !dup; k++) dup = cands[k].id == h;
        for (int k = 0; k < nids && !dup; k++) dup = ids[k] == h;
        if (!dup) ids[nids++] = h;
      }
    }
    if (nids > 0) {
      g.keys(ids, nids, cands + nc);
      int w = nc;
      for (int k = 0; k < nids; k++)
        if (cands[nc + k].live) cands[w++] = cands[nc + k];
      nc = w;
    }
    // The survivors stay (the heuristic chose them for their spread); the
    // freed slots go to the nearest two-hop candidates.
    std::sort(cands + survivors, cands + nc, [](const hnsw::Cand& a, const hnsw::Cand& b) {
      return a.d < b.d || (a.d == b.d && a.id < b.id);
    });
    const int keep = Min(nc, cap);
    for (int i = 0; i < keep; i++) {
      unpack_tid(cands[i].id, &n.nbrs[base + i]);
      n.keys[base + i] = cands[i].d;
    }
    n.counts[l] = (uint8)keep;
    changed = true;
  }
  if (changed) {
    buf = read(v, blk, BUFFER_LOCK_EXCLUSIVE);
    void* now = page_node(BufferGetPage(buf), off);
    // Inserts wait on the update lock, so the node is as copied.
    if (now && !(((NodeHeader*)now)->flags & (kDeleted | kFree))) {
      GenericXLogState* state = GenericXLogStart(v.index);
      Page page = GenericXLogRegisterBuffer(state, buf, 0);
      memcpy(page_node(page, off), copy, size);
      GenericXLogFinish(state);
    }
    UnlockReleaseBuffer(buf);
  }
  pfree(ids);
  pfree(cands);
  pfree(hop);
  pfree(copy);
}
// Marks everything reachable from `from` over the bottom level.
void flood(Vacuum& v, PageGraph& g, uint64 from, hnsw::Visited& reached, uint64* queue, uint64* nbrs) {
  int64 head = 0, tail = 0;
  queue[tail++] = from;
  while (head < tail) {
    const int n = g.neighbours(queue[head++], 0, nbrs);
    for (int i = 0; i < n; i++)
      if (hnsw::visit(reached, nbrs[i], kPallocAlloc)) queue[tail++] = nbrs[i];
    if ((head & 255) == 0) vacuum_delay_point();
  }
  (void)v;
}

// Pass 4: a live node that lost every way in (its last one ran through a
// cleared node) is linked from its nearest reachable neighbour, or from the
// entry point. A list this makes drop an entry may strand that one: a few
// passes settle it.
void reconnect(Vacuum& v, BlockNumber nblocks) {
  const int64 per_page = BLCKSZ / (MAXALIGN(node_size(v.dims, v.m, 0)) + sizeof(ItemIdData)) + 1;
  for (int pass = 0; pass < 4; pass++) {
    const Meta meta = read_meta(v.index);
    if (meta.entry_blk == InvalidBlockNumber) return;
    const uint64 entry = ((uint64)meta.entry_blk << 16) | meta.entry_off;
    hnsw::Visited reached{};
    uint64* queue = (uint64*)MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * (nblocks * per_page + 1));
    uint64* nbrs = (uint64*)palloc(sizeof(uint64) * hnsw::level_capacity(v.m, 0));
    PageGraph g{v.index, v.dims, v.m, v.kf, nullptr, 0, v.strategy};
    hnsw::visit(reached, entry, kPallocAlloc);
    flood(v, g, entry, reached, queue, nbrs);
    int64 fixed = 0;
    for (BlockNumber blk = 1; blk < nblocks; blk++) {
      Buffer buf = read(v, blk, BUFFER_LOCK_SHARE);
      Page page = BufferGetPage(buf);
      const OffsetNumber max = PageGetMaxOffsetNumber(page);
      for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) {
        void* t = page_node(page, off);
        const uint64 id = ((uint64)blk << 16) | off;
        if (!t || (((NodeHeader*)t)->flags & (kDeleted | kFree)) || hnsw::contains(reached, id)) continue;
        // Copy what is needed and let the page go before touching others.
        NodeView n = node_view(t, v.dims, v.m);
        uint64 via = entry;
        float d = 0;
        bool found = false;
        for (int i = 0; i < n.counts[0]; i++) {
          const uint64 c = pack_tid(n.nbrs[i]);
          if (hnsw::contains(reached, c) && (!found || n.keys[i] < d)) via = c, d = n.keys[i], found = true;
        }
        float* vec = (float*)palloc(sizeof(float) * v.dims);
        memcpy(vec, n.vec, sizeof(float) * v.dims);
        const float aux = n.h->aux;
        ItemPointerData me;
        ItemPointerSet(&me, blk, off);
        UnlockReleaseBuffer(buf);
        if (!found) {
          PageGraph kg{v.index, v.dims, v.m, v.kf, vec, aux, v.strategy};
          hnsw::Cand c;
          kg.keys(&entry, 1, &c);
          d = c.d;
        }
        add_link(v.index, v.dims, v.m, via, 0, me, d, true, nullptr);
        hnsw::visit(reached, id, kPallocAlloc);
        flood(v, g, id, reached, queue, nbrs);
        pfree(vec);
        fixed++;
        buf = read(v, blk, BUFFER_LOCK_SHARE);
        page = BufferGetPage(buf);
      }
      UnlockReleaseBuffer(buf);
    }
    if (fixed == 0) return;
  }
}
}  // namespace

IndexBulkDeleteResult* bulk_delete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                   IndexBulkDeleteCallback callback, void* cb_state) {
  if (!stats) stats = (IndexBulkDeleteResult*)palloc0(sizeof(IndexBulkDeleteResult));
  Relation index = info->index;
  const Meta meta = read_meta(index);
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  stats->num_pages = nblocks;
  if (meta.dims == 0) return stats;

  MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "ruvector_attention vacuum", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(tmp);
  Vacuum v{index, info->strategy, meta.dims, meta.m, {}, {}};
  RVJ_ENGINE(v.kf = hnsw::keys_for((Metric)meta.metric, meta.dims));

  // 1. Mark.
  double live = 0;
  OffsetNumber* marks = (OffsetNumber*)palloc(sizeof(OffsetNumber) * MaxOffsetNumber);
  for (BlockNumber blk = 1; blk < nblocks; blk++) {
    vacuum_delay_point();
    Buffer buf = read(v, blk, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    int nmarks = 0;
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++) {
      NodeHeader* h = (NodeHeader*)page_node(page, off);
      if (!h || (h->flags & kFree)) continue;
      const uint64 id = ((uint64)blk << 16) | off;
      if ((h->flags & kDeleted) || callback(&h->heaptid, cb_state)) {
        if (!(h->flags & kDeleted)) marks[nmarks++] = off;
        hnsw::visit(v.dead, id, kPallocAlloc);
        continue;
      }
      live++;
    }
    if (nmarks > 0) {
      GenericXLogState* state = GenericXLogStart(index);
      Page p = GenericXLogRegisterBuffer(state, buf, 0);
      for (int i = 0; i < nmarks; i++) ((NodeHeader*)page_node(p, marks[i]))->flags |= kDeleted;
      GenericXLogFinish(state);
      stats->tuples_removed += nmarks;
    }
    UnlockReleaseBuffer(buf);
  }
  stats->num_index_tuples = live;

  if (v.dead.n > 0) {
    lock_updates(index, ExclusiveLock);
    // 2. Repair. (Nodes inserted since pass 1 are repaired too: they are
    // live, and may point to a marked node they saw before it was marked.)
    const BlockNumber now_blocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber blk = 1; blk < now_blocks; blk++) {
      vacuum_delay_point();
      Buffer buf = read(v, blk, BUFFER_LOCK_SHARE);
      const OffsetNumber max = PageGetMaxOffsetNumber(BufferGetPage(buf));
      UnlockReleaseBuffer(buf);
      for (OffsetNumber off = FirstOffsetNumber; off <= max; off++) repair_node(v, blk, off);
    }
    // The entry point: if it was marked, the highest live node now (inserts
    // since pass 1 count; they wait on the lock from here on).
    const Meta now = read_meta(index);
    const uint64 entry = ((uint64)now.entry_blk << 16) | now.entry_off;
    if (now.entry_blk != InvalidBlockNumber && hnsw::contains(v.dead, entry)) {
      uint64 best = 0;
      int best_level = -1;
      for (BlockNumber blk = 1; blk < now_blocks; blk++) {
        Buffer buf = read(v, blk, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++) {
          const NodeHeader* h = (const NodeHeader*)page_node(page, off);
          if (h && !(h->flags & (kDeleted | kFree)) && h->level > best_level) {
            best_level = h->level;
            best = ((uint64)blk << 16) | off;
          }
        }
        UnlockReleaseBuffer(buf);
      }
      if (best_level >= 0)
        set_entry(index, (BlockNumber)(best >> 16), (OffsetNumber)(best & 0xFFFF), best_level);
      else
        set_entry(index, InvalidBlockNumber, InvalidOffsetNumber, -1);
    }
    // 3. Clear the marked nodes.
    for (BlockNumber blk = 1; blk < nblocks; blk++) {
      vacuum_delay_point();
      Buffer buf = read(v, blk, BUFFER_LOCK_EXCLUSIVE);
      Page page = BufferGetPage(buf);
      int nmarks = 0;
      for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++) {
        NodeHeader* h = (NodeHeader*)page_node(page, off);
        if (h && (h->flags & kDeleted)) marks[nmarks++] = off;
      }
      if (nmarks > 0) {
        GenericXLogState* state = GenericXLogStart(index);
        Page p = GenericXLogRegisterBuffer(state, buf, 0);
        for (int i = 0; i < nmarks; i++) {
          NodeView n = node_view(page_node(p, marks[i]), v.dims, v.m);
          n.h->flags = kFree;
          ItemPointerSetInvalid(&n.h->heaptid);
          memset(n.counts, 0, n.h->level + 1);
        }
        GenericXLogFinish(state);
      }
      UnlockReleaseBuffer(buf);
    }
    // 4. Every live node reachable again.
    reconnect(v, RelationGetNumberOfBlocks(index));
    unlock_updates(index, ExclusiveLock);
  }
  MemoryContextSwitchTo(old);
  MemoryContextDelete(tmp);
  return stats;
}

IndexBulkDeleteResult* vacuum_cleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  if (info->analyze_only) return stats;
  if (!stats) {
    // Nothing was deleted: the heap's count stands for ours.
    stats = (IndexBulkDeleteResult*)palloc0(sizeof(IndexBulkDeleteResult));
    stats->num_index_tuples = info->num_heap_tuples;
    stats->estimated_count = info->estimated_count;
  }
  stats->num_pages = RelationGetNumberOfBlocks(info->index);
  return stats;
}

}  // namespace rvj::pg::index
