#include "runtime/hnsw_build.h"

#include <algorithm>
#include <cstdlib>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "runtime/schedules/parallel.h"

namespace rvj::runtime::hnsw {

namespace {
void* heap_resize(void*, void* p, size_t, size_t bytes) {
  if (bytes == 0) {
    std::free(p);
    return nullptr;
  }
  void* q = std::realloc(p, bytes);
  if (!q) throw std::bad_alloc();
  return q;
}
const Alloc kHeapAlloc{heap_resize, nullptr};

// A Search whose buffers are freed with it (the build has no longjmp).
struct OwnedSearch {
  Search s;
  ~OwnedSearch() { release(s, kHeapAlloc); }
};

bool by_key(const Cand& x, const Cand& y) { return x.d < y.d || (x.d == y.d && x.id < y.id); }
}  // namespace

// The template's view of the graph as it stood before the batch.
struct MemoryGraph {
  const BuildGraph& g;
  const float* q;
  float q_aux;
  int m() const { return g.m_; }
  int neighbours(uint64_t id, int level, uint64_t* out) const {
    const int i = static_cast<int>(id);
    if (level > g.level_[i]) return 0;
    const int n = g.counts_[g.count_off_[i] + level];
    const auto* s = g.slots(i, level);
    for (int j = 0; j < n; j++) out[j] = s[j].id;
    return n;
  }
  void keys(const uint64_t* ids, int n, Cand* out) const {
    for (int j = 0; j < n; j++) {
      const int i = static_cast<int>(ids[j]);
      out[j] = {key(g.keys_, q, q_aux, g.vec(i), g.aux_[i]), 1, ids[j], g.item_[i]};
    }
  }
};

BuildGraph::BuildGraph(Metric metric, int dims, int m, int ef_construction, int max_level)
    : metric_(metric),
      dims_(dims),
      m_(m),
      ef_construction_(ef_construction),
      max_level_cap_(std::min(max_level, kMaxLevel)),
      keys_(keys_for(metric, dims)) {
  if (m < kMinM || m > kMaxM) throw Error(ErrorKind::InvalidArgument, "m out of range");
}

size_t BuildGraph::node_bytes(int level) const {
  return sizeof(float) * (dims_ + 1) + sizeof(uint64_t) * 3 + 1 + sizeof(Slot) * node_slots(m_, level) +
         sizeof(uint16_t) * (level + 1);
}

int BuildGraph::add(const float* prepared, float aux, uint64_t item, uint64_t seed) {
  const int level = random_level(seed, m_, max_level_cap_);
  vecs_.insert(vecs_.end(), prepared, prepared + dims_);
  aux_.push_back(aux);
  item_.push_back(item);
  level_.push_back(static_cast<uint8_t>(level));
  slot_off_.push_back(slots_.size());
  slots_.resize(slots_.size() + node_slots(m_, level));
  count_off_.push_back(counts_.size());
  counts_.resize(counts_.size() + level + 1, 0);
  bytes_ += node_bytes(level);
  return size() - 1;
}

int BuildGraph::neighbours(int i, int level, const Slot** out) const {
  *out = slots(i, level);
  return counts_[count_off_[i] + level];
}

void BuildGraph::link(int threads, const std::function<void(int64_t)>& progress) {
  const int n = size();
  if (linked_ >= n) return;
  if (entry_ < 0) {
    entry_ = linked_;
    top_ = level_[linked_];
    linked_++;
  }
  struct Found {
    std::vector<std::vector<Cand>> levels;  // index: level
  };
  std::vector<Found> found;
  struct Link {
    uint32_t target;
    uint8_t level;
    uint32_t from;
  };
  std::vector<Link> links;
  while (linked_ < n) {
    const int s = linked_;
    const int b = std::clamp(s / 16, 1, std::min(kMaxBatch, n - s));
    const int entry = entry_, top = top_;
    found.assign(b, {});

    // 1. Search the graph as it was before the batch.
    parallel_for_blocks(b, threads, [&](int j) {
      check_cancel();
      const int p = s + j;
      MemoryGraph g{*this, vec(p), aux_[p]};
      OwnedSearch os;
      Search& sr = os.s;
      uint64_t eid = static_cast<uint64_t>(entry);
      Cand e;
      g.keys(&eid, 1, &e);
      const int lp = std::min<int>(level_[p], top);
      e = descend(g, sr, e, top, lp, kHeapAlloc);
      std::vector<Cand> entries{e};
      found[j].levels.resize(lp + 1);
      for (int l = lp; l >= 0; l--) {
        clear(sr.visited);
        start(sr, entries.data(), static_cast<int>(entries.size()), kHeapAlloc);
        search_round(g, sr, l, ef_construction_, kHeapAlloc);
        std::vector<Cand>& out = found[j].levels[l];
        out.resize(sr.nearest.n);
        out.resize(round_nearest(sr, out.data()));
        entries = out;
      }
    });

    // 2. Each node picks its own neighbours (it writes only its own lists).
    parallel_for_blocks(b, threads, [&](int j) {
      check_cancel();
      const int p = s + j;
      std::vector<Cand> cands;
      std::vector<float> caux;
      std::vector<int> keep(level_capacity(m_, 0));
      for (int l = level_[p]; l >= 0; l--) {
        cands.clear();
        if (l < static_cast<int>(found[j].levels.size())) cands = found[j].levels[l];
        for (int q = s; q < p; q++)
          if (level_[q] >= l)
            cands.push_back({key(keys_, vec(p), aux_[p], vec(q), aux_[q]), 1, static_cast<uint64_t>(q), item_[q]});
        std::sort(cands.begin(), cands.end(), by_key);
        caux.resize(cands.size());
        for (size_t c = 0; c < cands.size(); c++) caux[c] = aux_[cands[c].id];
        const int kept = select_neighbours(
            keys_, cands.data(), static_cast<int>(cands.size()), level_capacity(m_, l),
            [&](int c) { return vec(static_cast<int>(cands[c].id)); }, caux.data(), keep.data());
        Slot* out = slots(p, l);
        for (int c = 0; c < kept; c++) out[c] = {static_cast<uint32_t>(cands[keep[c]].id), cands[keep[c]].d};
        count(p, l) = static_cast<uint16_t>(kept);
      }
    });

    // 3. The reverse links, in node order; the entry point.
    links.clear();
    for (int p = s; p < s + b; p++) {
      for (int l = level_[p]; l >= 0; l--) {
        const Slot* out = slots(p, l);
        for (int c = 0; c < count(p, l); c++) links.push_back({out[c].id, static_cast<uint8_t>(l), static_cast<uint32_t>(p)});
      }
      if (level_[p] > top_) {
        top_ = level_[p];
        entry_ = p;
      }
    }
    std::stable_sort(links.begin(), links.end(), [](const Link& x, const Link& y) {
      return x.target < y.target || (x.target == y.target && x.level < y.level);
    });
    std::vector<size_t> groups;
    for (size_t i = 0; i < links.size(); i++)
      if (i == 0 || links[i].target != links[i - 1].target || links[i].level != links[i - 1].level)
        groups.push_back(i);
    groups.push_back(links.size());

    // 4. Each target merges its new links, pruning past its capacity.
    const int ngroups = static_cast<int>(groups.size()) - 1;
    const int chunk = 64;
    parallel_for_blocks((ngroups + chunk - 1) / chunk, threads, [&](int blk) {
      check_cancel();
      std::vector<Cand> cands;
      std::vector<float> caux;
      std::vector<int> keep(level_capacity(m_, 0));
      for (int gi = blk * chunk; gi < std::min(ngroups, (blk + 1) * chunk); gi++) {
        const int r = static_cast<int>(links[groups[gi]].target), l = links[groups[gi]].level;
        const int cap = level_capacity(m_, l);
        Slot* list = slots(r, l);
        uint16_t& cnt = count(r, l);
        cands.clear();
        for (int c = 0; c < cnt; c++) cands.push_back({list[c].d, 1, list[c].id, 0});
        for (size_t i = groups[gi]; i < groups[gi + 1]; i++) {
          const int p = static_cast<int>(links[i].from);
          cands.push_back({key(keys_, vec(r), aux_[r], vec(p), aux_[p]), 1, static_cast<uint64_t>(p), 0});
        }
        int kept;
        if (static_cast<int>(cands.size()) <= cap) {
          kept = static_cast<int>(cands.size());
          for (int c = 0; c < kept; c++) keep[c] = c;
        } else {
          std::sort(cands.begin(), cands.end(), by_key);
          caux.resize(cands.size());
          for (size_t c = 0; c < cands.size(); c++) caux[c] = aux_[cands[c].id];
          kept = select_neighbours(
              keys_, cands.data(), static_cast<int>(cands.size()), cap,
              [&](int c) { return vec(static_cast<int>(cands[c].id)); }, caux.data(), keep.data());
        }
        for (int c = 0; c < kept; c++) list[c] = {static_cast<uint32_t>(cands[keep[c]].id), cands[keep[c]].d};
        cnt = static_cast<uint16_t>(kept);
      }
    });

    linked_ = s + b;
    if (progress) progress(linked_);
  }
  connect();
}

// Pruning can leave a node with no way in. Each such node is offered to the
// nearest reachable node among its own neighbours (the entry if none),
// replacing that list's farthest entry when it is full; a node this strands
// is found by the next pass.
void BuildGraph::connect() {
  const int n = size();
  std::vector<char> seen(n);
  std::vector<int> queue;
  // Marks what `from` leads to over the bottom level; returns how many.
  auto flood = [&](int from) {
    seen[from] = 1;
    queue.assign(1, from);
    for (size_t h = 0; h < queue.size(); h++) {
      const int i = queue[h];
      const Slot* s = slots(i, 0);
      for (int c = 0; c < counts_[count_off_[i]]; c++)
        if (!seen[s[c].id]) {
          seen[s[c].id] = 1;
          queue.push_back(static_cast<int>(s[c].id));
        }
    }
    return queue.size();
  };
  for (int pass = 0; pass < 8; pass++) {
    std::fill(seen.begin(), seen.end(), 0);
    if (static_cast<int>(flood(entry_)) == n) return;
    check_cancel();
    for (int i = 0; i < n; i++) {
      if (seen[i]) continue;
      const Slot* own = slots(i, 0);
      int via = -1;
      float d = 0;
      for (int c = 0; c < count(i, 0); c++)
        if (seen[own[c].id] && (via < 0 || own[c].d < d)) via = static_cast<int>(own[c].id), d = own[c].d;
      if (via < 0) via = entry_, d = key(keys_, vec(i), aux_[i], vec(entry_), aux_[entry_]);
      Slot* list = slots(via, 0);
      uint16_t& cnt = count(via, 0);
      if (cnt < level_capacity(m_, 0)) {
        list[cnt++] = {static_cast<uint32_t>(i), d};
      } else {
        int worst = 0;
        for (int c = 1; c < cnt; c++)
          if (list[c].d > list[worst].d) worst = c;
        list[worst] = {static_cast<uint32_t>(i), d};
      }
      flood(i);  // what i leads to is reachable now too
    }
  }
}

}  // namespace rvj::runtime::hnsw
