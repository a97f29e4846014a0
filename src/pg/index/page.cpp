// The meta page, node tuples, and the page graph the search walks.
#include "pg/index/index.h"

#include <algorithm>

namespace rvj::pg::index {

namespace hnsw = rvj::runtime::hnsw;

namespace {

void* palloc_resize(void*, void* p, size_t, size_t bytes) {
  if (bytes == 0) {
    if (p) pfree(p);
    return nullptr;
  }
  return p ? repalloc_huge(p, bytes) : MemoryContextAllocHuge(CurrentMemoryContext, bytes);
}
}  // namespace

const hnsw::Alloc kPallocAlloc{palloc_resize, nullptr};

Size node_size(int dims, int m, int level) {
  const int slots = hnsw::node_slots(m, level);
  return sizeof(NodeHeader) + sizeof(float) * dims + sizeof(float) * slots + sizeof(ItemPointerData) * slots +
         (level + 1);
}

Size page_room() { return BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(PageOpaque)); }

Size node_footprint(int dims, int m, int level) { return MAXALIGN(node_size(dims, m, level)) + sizeof(ItemIdData); }

int max_dims(int m) {
  // The largest dims (a multiple of 8) whose level-0 node fits an empty page.
  int dims = (int)((page_room() - node_size(0, m, 0)) / sizeof(float)) & ~7;
  while (dims > 0 && node_footprint(dims, m, 0) > page_room()) dims -= 8;
  return dims;
}

int max_level_for(int dims, int m) {
  int level = 0;
  while (level < hnsw::kMaxLevel && node_footprint(dims, m, level + 1) <= page_room()) level++;
  return level;
}

void set_entry(Relation index, BlockNumber blk, OffsetNumber off, int level) {
  Buffer mb = ReadBuffer(index, kMetaBlock);
  LockBuffer(mb, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  Meta* meta = page_meta(GenericXLogRegisterBuffer(state, mb, 0));
  meta->entry_blk = blk;
  meta->entry_off = off;
  meta->entry_level = (int16)level;
  GenericXLogFinish(state);
  UnlockReleaseBuffer(mb);
}

NodeView node_view(void* tuple, int dims, int m) {
  NodeView v;
  v.h = (NodeHeader*)tuple;
  char* p = (char*)tuple + sizeof(NodeHeader);
  v.vec = (float*)p;
  p += sizeof(float) * dims;
  const int slots = hnsw::node_slots(m, v.h->level);
  v.keys = (float*)p;
  p += sizeof(float) * slots;
  v.nbrs = (ItemPointerData*)p;
  p += sizeof(ItemPointerData) * slots;
  v.counts = (uint8*)p;
  return v;
}

void init_page(Page page) {
  PageInit(page, BLCKSZ, sizeof(PageOpaque));
  PageOpaque* o = (PageOpaque*)PageGetSpecialPointer(page);
  o->flags = 0;
  o->page_id = kPageId;
}

void init_meta(Page page, const Shape& shape, int dims) {
  init_page(page);
  Meta* meta = (Meta*)PageGetContents(page);
  memset(meta, 0, sizeof(Meta));
  meta->magic = kMagic;
  meta->version = kVersion;
  meta->dims = dims;
  meta->metric = (uint8)shape.metric;
  meta->m = shape.m;
  meta->ef_construction = shape.ef_construction;
  meta->num_heads = shape.num_heads;
  meta->head_dim = shape.head_dim;
  meta->entry_blk = InvalidBlockNumber;
  meta->entry_off = InvalidOffsetNumber;
  meta->entry_level = -1;
  meta->insert_blk = InvalidBlockNumber;
  ((PageHeader)page)->pd_lower = ((char*)meta + sizeof(Meta)) - (char*)page;
}

Meta* page_meta(Page page) {
  Meta* meta = (Meta*)PageGetContents(page);
  if (meta->magic != kMagic || meta->version != kVersion)
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED), errmsg("ruvector_attention index has a bad meta page"),
                    errhint("REINDEX the index.")));
  return meta;
}

Meta read_meta(Relation index) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Meta meta = *page_meta(BufferGetPage(buf));
  UnlockReleaseBuffer(buf);
  return meta;
}

void* page_node(Page page, OffsetNumber off) {
  if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page)) return nullptr;
  ItemId item = PageGetItemId(page, off);
  if (!ItemIdIsNormal(item)) return nullptr;
  return PageGetItem(page, item);
}

// ---------------------------------------------------------------------------
// Where each page was last seen in shared buffers, kept for the backend's
// life: ReadRecentBuffer pins a page found there again without the buffer
// mapping's hash lookup (a wrong or stale guess costs one check, then the
// normal read). A search reads hundreds of pages per query, most of them
// seen before.
namespace {
struct RecentPage {
  RelFileNode node;
  BlockNumber blk;
  Buffer buf;
};
constexpr int kRecentPages = 1 << 14;
RecentPage recent[kRecentPages];

inline uint32 recent_slot(const RelFileNode& node, BlockNumber blk) {
  return (uint32)((blk * 0x9E3779B1u) ^ (node.relNode * 0x85EBCA77u)) & (kRecentPages - 1);
}
}  // namespace

Buffer read_page(Relation index, BlockNumber blk, BufferAccessStrategy strategy) {
  // (Not for local buffers: a temporary relation's RelFileNode may equal
  // another backend's or a permanent one's.)
  if (RelationUsesLocalBuffers(index)) return ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
  RecentPage& r = recent[recent_slot(index->rd_node, blk)];
  if (!strategy && r.blk == blk && RelFileNodeEquals(r.node, index->rd_node) && BufferIsValid(r.buf) &&
      ReadRecentBuffer(index->rd_node, MAIN_FORKNUM, blk, r.buf))
    return r.buf;
  Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
  r = {index->rd_node, blk, buf};
  return buf;
}

int PageGraph::neighbours(uint64 id, int level, uint64* out) {
  const BlockNumber blk = (BlockNumber)(id >> 16);
  Buffer buf = read_page(index, blk, strategy);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  int n = 0;
  if (void* t = page_node(BufferGetPage(buf), (OffsetNumber)(id & 0xFFFF))) {
    NodeView v = node_view(t, dims, m_);
    if (!(v.h->flags & kFree) && level <= v.h->level) {
      n = v.counts[level];
      const ItemPointerData* nb = v.nbrs + hnsw::level_base(m_, level);
      for (int i = 0; i < n; i++) out[i] = pack_tid(nb[i]);
    }
  }
  UnlockReleaseBuffer(buf);
  return n;
}

void PageGraph::keys(const uint64* ids, int n, hnsw::Cand* out) {
  // Nodes of one page are read under one lock: visit the ids by page.
  int order[2 * hnsw::kMaxM + 1];
  int* ord = n <= (int)lengthof(order) ? order : (int*)palloc(sizeof(int) * n);
  for (int i = 0; i < n; i++) ord[i] = i;
  std::sort(ord, ord + n, [&](int a, int b) { return ids[a] < ids[b]; });
  Buffer buf = InvalidBuffer;
  BlockNumber held = InvalidBlockNumber;
  for (int j = 0; j < n; j++) {
    const int i = ord[j];
    const BlockNumber blk = (BlockNumber)(ids[i] >> 16);
    if (blk != held) {
      if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
      buf = read_page(index, blk, strategy);
      LockBuffer(buf, BUFFER_LOCK_SHARE);
      held = blk;
    }
    void* t = page_node(BufferGetPage(buf), (OffsetNumber)(ids[i] & 0xFFFF));
    hnsw::Cand& c = out[j];
    c.id = ids[i];
    if (!t) {
      c = {INFINITY, 0, ids[i], 0};
      continue;
    }
    NodeView v = node_view(t, dims, m_);
    c.d = hnsw::key(keys_fn, q, q_aux, v.vec, v.h->aux);
    c.live = !(v.h->flags & (kDeleted | kFree));
    c.item = pack_tid(v.h->heaptid);
  }
  if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
  if (ord != order) pfree(ord);
}

}  // namespace rvj::pg::index
