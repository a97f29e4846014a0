// ruvector_index_check(index): verifies a ruvector_attention index, raising
// index_corrupted (XX002) at the first fault:
//   - every node tuple is well formed (level, list lengths);
//   - every list entry names a node, not itself, not twice, and not a node
//     VACUUM has cleared (no dead entry survives it);
//   - every live node is reachable from the entry point;
//   - every heap tuple visible now (and indexable: not NULL, not a zero
//     vector under cosine) has a live node.
// It holds a ShareLock on the table, as amcheck's parent checks do: writers
// wait, readers do not (on a standby, which has no writers, AccessShareLock).
// ruvector_index_info(index): the index's shape and the kernel it runs.
#include "pg/index/index.h"
#include "pg/vector.h"

extern "C" {
#include "access/table.h"
#include "access/xlog.h"
#include "commands/defrem.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
}

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

namespace {
// Checks the caller's right before any lock: the table's owner (as REINDEX
// needs) for the check, SELECT on the table for the info.
Relation open_index(Oid oid, LOCKMODE heap_mode, Relation* heap, bool need_owner) {
  const Oid heap_oid = IndexGetRelation(oid, true);
  if (!OidIsValid(heap_oid))
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", get_rel_name(oid))));
  if (need_owner ? !pg_class_ownercheck(heap_oid, GetUserId())
                 : pg_class_aclcheck(heap_oid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
    aclcheck_error(need_owner ? ACLCHECK_NOT_OWNER : ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(heap_oid));
  *heap = table_open(heap_oid, heap_mode);
  Relation index = index_open(oid, AccessShareLock);
  const Oid am = get_index_am_oid("ruvector_attention", false);
  if (index->rd_rel->relam != am)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not a ruvector_attention index", RelationGetRelationName(index))));
  return index;
}

[[noreturn]] void corrupt(Relation index, const char* what, uint64 id) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("index \"%s\": %s (node at (%u,%u))", RelationGetRelationName(index), what,
                         (unsigned)(id >> 16), (unsigned)(id & 0xFFFF)),
                  errhint("REINDEX the index.")));
}

struct HeapCheck {
  Relation index;
  Metric metric;
  int dims;
  hnsw::Visited* heap_tids;
  // The heap TIDs of live nodes the entry point does not reach (id, TID
  // pairs), and their set: one whose row is visible is a fault.
  const hnsw::Visited* unreached_tids;
  const uint64* unreached;
  int64 nunreached;
  float* scratch;
  int64 tuples;
};

void heap_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg) {
  HeapCheck* c = (HeapCheck*)arg;
  if (isnull[0]) return;
  RuVector* v = DatumGetRuVector(values[0]);
  float aux;
  if (v->dim == c->dims && hnsw::prepare(c->metric, v->x, v->dim, c->scratch, &aux) == hnsw::Prepared::ZeroVector)
    return;
  c->tuples++;
  if (c->nunreached > 0 && hnsw::contains(*c->unreached_tids, pack_tid(*tid)))
    for (int64 i = 0; i < c->nunreached; i++)
      if (c->unreached[2 * i + 1] == pack_tid(*tid))
        corrupt(c->index, "a live node cannot be reached from the entry point", c->unreached[2 * i]);
  if (!hnsw::contains(*c->heap_tids, pack_tid(*tid)))
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" has no entry for heap tuple (%u,%u)", RelationGetRelationName(c->index),
                           ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid)),
                    errhint("REINDEX the index.")));
}
}  // namespace

}  // namespace rvj::pg::index

using namespace rvj::pg::index;
namespace hnsw = rvj::runtime::hnsw;

RVJ_FUNCTION(ruvector_index_check) {
  Relation heap;
  const LOCKMODE heap_lock = RecoveryInProgress() ? AccessShareLock : ShareLock;
  Relation index = open_index(PG_GETARG_OID(0), heap_lock, &heap, true);
  const Meta meta = read_meta(index);
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  const int m = meta.m, dims = meta.dims;
  hnsw::Visited all{}, freed{}, heap_tids{};
  int64 nodes = 0, live = 0, marked = 0, cleared = 0;
  int top = -1;

  // Every node: well formed; sets of ids and of heap TIDs.
  for (BlockNumber blk = 1; blk < nblocks && dims > 0; blk++) {
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    // An all-zero page: the relation grew but a crash came before the
    // page's first WAL record was flushed. It holds nothing and nothing
    // points to it (the meta page moves with that record).
    if (PageIsNew(page)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    if (((PageOpaque*)PageGetSpecialPointer(page))->page_id != kPageId) corrupt(index, "a page has a foreign special space", (uint64)blk << 16);
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); off++) {
      void* t = page_node(page, off);
      if (!t) continue;
      const uint64 id = ((uint64)blk << 16) | off;
      NodeView v = node_view(t, dims, m);
      if (v.h->level > max_level_for(dims, m)) corrupt(index, "a node's level is out of range", id);
      if (ItemIdGetLength(PageGetItemId(page, off)) != node_size(dims, m, v.h->level))
        corrupt(index, "a node's size does not match its level", id);
      nodes++;
      hnsw::visit(all, id, kPallocAlloc);
      if (v.h->flags & kFree) {
        cleared++;
        hnsw::visit(freed, id, kPallocAlloc);
        continue;
      }
      if (v.h->flags & kDeleted) {
        marked++;
        continue;
      }
      live++;
      top = Max(top, (int)v.h->level);
      if (!hnsw::visit(heap_tids, pack_tid(v.h->heaptid), kPallocAlloc)) corrupt(index, "two nodes hold one heap tuple", id);
    }
    UnlockReleaseBuffer(buf);
    CHECK_FOR_INTERRUPTS();
  }

  // Every list; reachability from the entry over the bottom level.
  uint64* queue = (uint64*)palloc(sizeof(uint64) * Max(nodes, 1));
  int64 head = 0, tail = 0, reached_live = 0;
  hnsw::Visited reached{};
  if (meta.entry_blk != InvalidBlockNumber) {
    const uint64 entry = ((uint64)meta.entry_blk << 16) | meta.entry_off;
    if (!hnsw::contains(all, entry) || hnsw::contains(freed, entry)) corrupt(index, "the entry point is not a node", entry);
    if (meta.entry_level < top) corrupt(index, "a node is above the entry point's level", entry);
    hnsw::visit(reached, entry, kPallocAlloc);
    queue[tail++] = entry;
  } else if (live > 0) {
    corrupt(index, "live nodes but no entry point", 0);
  }
  while (head < tail) {
    const uint64 id = queue[head++];
    Buffer buf = ReadBuffer(index, (BlockNumber)(id >> 16));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    NodeView v = node_view(page_node(BufferGetPage(buf), (OffsetNumber)(id & 0xFFFF)), dims, m);
    if (!(v.h->flags & (kDeleted | kFree))) reached_live++;
    for (int l = 0; l <= v.h->level; l++) {
      const int base = hnsw::level_base(m, l), cnt = v.counts[l];
      if (cnt > hnsw::level_capacity(m, l)) corrupt(index, "a neighbour list is longer than its capacity", id);
      for (int i = 0; i < cnt; i++) {
        const uint64 n = pack_tid(v.nbrs[base + i]);
        if (n == id) corrupt(index, "a node lists itself", id);
        if (!hnsw::contains(all, n)) corrupt(index, "a list names no node", id);
        if (hnsw::contains(freed, n)) corrupt(index, "a list names a node VACUUM cleared", id);
        for (int j = 0; j < i; j++)
          if (pack_tid(v.nbrs[base + j]) == n) corrupt(index, "a list names a node twice", id);
        if (l == 0 && hnsw::visit(reached, n, kPallocAlloc)) queue[tail++] = n;
      }
    }
    UnlockReleaseBuffer(buf);
    if ((head & 255) == 0) CHECK_FOR_INTERRUPTS();
  }
  // Live nodes that cannot be reached (live - reached_live of them): ids
  // and heap TIDs, judged by the heap scan below.
  const int64 nunreached = live - reached_live;
  uint64* unreached = (uint64*)palloc(sizeof(uint64) * 2 * Max(nunreached, 1));
  int64 found = 0;
  hnsw::Visited unreached_tids{};
  for (BlockNumber blk = 1; blk < nblocks && nunreached > 0; blk++) {
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page) && found < nunreached; off++) {
      NodeHeader* h = (NodeHeader*)page_node(page, off);
      const uint64 id = ((uint64)blk << 16) | off;
      if (h && !(h->flags & (kDeleted | kFree)) && !hnsw::contains(reached, id)) {
        unreached[2 * found] = id;
        unreached[2 * found + 1] = pack_tid(h->heaptid);
        hnsw::visit(unreached_tids, unreached[2 * found + 1], kPallocAlloc);
        found++;
      }
    }
    UnlockReleaseBuffer(buf);
  }

  // Every visible heap tuple has a node.
  // (A node whose row never committed, an insert a crash cut short between
  // writing the node and linking it, may be unreachable: VACUUM clears it.)
  HeapCheck hc{index, (Metric)meta.metric, dims, &heap_tids, &unreached_tids, unreached, found,
               (float*)palloc(sizeof(float) * RUVECTOR_MAX_DIM), 0};
  IndexInfo* ii = BuildIndexInfo(index);
  ii->ii_Concurrent = true;
  Snapshot snap = RegisterSnapshot(GetTransactionSnapshot());
  TableScanDesc scan = table_beginscan_strat(heap, snap, 0, nullptr, true, true);
  table_index_build_scan(heap, index, ii, true, false, heap_callback, &hc, scan);
  UnregisterSnapshot(snap);

  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) elog(ERROR, "return type must be a row type");
  desc = BlessTupleDesc(desc);
  Datum values[6] = {Int64GetDatum(live), Int64GetDatum(marked), Int64GetDatum(cleared), Int32GetDatum(top),
                     Int64GetDatum(reached_live), Int64GetDatum(hc.tuples)};
  bool nulls[6] = {};
  index_close(index, AccessShareLock);
  table_close(heap, heap_lock);
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

RVJ_FUNCTION(ruvector_index_info) {
  Relation heap;
  Relation index = open_index(PG_GETARG_OID(0), AccessShareLock, &heap, false);
  const Meta meta = read_meta(index);
  const Shape shape = index_shape(index);
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  StringInfoData s;
  initStringInfo(&s);
  const Metric metric = (Metric)meta.metric;
  appendStringInfo(&s, "{\"attention_type\": \"%s\", \"similarity\": \"%s\", \"dims\": %d, \"m\": %d, "
                   "\"ef_construction\": %d, ",
                   shape.attention_type, hnsw::metric_name(metric), meta.dims, meta.m, meta.ef_construction);
  if (meta.num_heads > 0) appendStringInfo(&s, "\"num_heads\": %d, \"head_dim\": %d, ", meta.num_heads, meta.head_dim);
  appendStringInfo(&s, "\"entry_level\": %d, \"pages\": %u, \"max_dims\": %d, ", meta.entry_level, nblocks,
                   max_dims(meta.m));
  appendStringInfo(&s, "\"kernel\": \"%s\", \"explain\": \"SELECT * FROM ruvector_jit_explain('%s', %d)\"}",
                   hnsw::metric_kernel(metric), hnsw::metric_kernel(metric), Max(meta.dims, 1));
  index_close(index, AccessShareLock);
  table_close(heap, AccessShareLock);
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}
