// HNSW (Malkov & Yashunin 2018), the graph behind the ruvector_attention
// index: the metric keys, the search (Algorithm 2, made resumable so that a
// filtered scan can go on past its first ef results) and the neighbour
// heuristic (Algorithm 4). One algorithm serves two graphs: the in-memory
// graph of CREATE INDEX (hnsw_build.h) and the graph in index pages
// (src/pg/index), which plugs in as the template parameter G.
//
// Every container here is plain data grown through an Alloc, with no
// destructor: the page graph may raise a PostgreSQL ERROR (an I/O error, a
// cancel) from inside G's callbacks, and that longjmp crosses these frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/native.h"

namespace rvj::runtime::hnsw {

// What a graph is built and searched with (the operator class's similarity).
enum class Metric : uint8_t { InnerProduct = 1, Cosine = 2, L2 = 3, Poincare = 4 };
const char* metric_name(Metric m);
// The engine kernel a metric's keys come from (ruvector_jit_explain shows it).
const char* metric_kernel(Metric m);

// The graph's knobs and their limits.
inline constexpr int kDefaultM = 16, kMinM = 2, kMaxM = 100;
inline constexpr int kDefaultEfConstruction = 64, kMinEfConstruction = 4, kMaxEfConstruction = 1000;
inline constexpr int kDefaultEfSearch = 48, kMaxEfSearch = 1000;
inline constexpr int kMaxLevel = 15;

// Slots of a node's neighbour list at `level`: 2m at the bottom, m above.
inline int level_capacity(int m, int level) { return level == 0 ? 2 * m : m; }
// Slots of a node of `level` over all its levels.
inline int node_slots(int m, int level) { return 2 * m + level * m; }
// The first slot of `level`.
inline int level_base(int m, int level) { return level == 0 ? 0 : 2 * m + (level - 1) * m; }

// A node's level: floor(-ln u / ln m) for u uniform in (0, 1] from splitmix64
// of `seed` (the build position, or the heap TID of a later insert), capped.
int random_level(uint64_t seed, int m, int cap = kMaxLevel);

// Vectors as the graph stores and compares them.
enum class Prepared { Ok, ZeroVector, OutsideBall };
// Copies x into out (dims floats) and sets *aux: cosine normalises (a zero
// vector has no direction: ZeroVector); poincare keeps x and sets
// aux = 1 / (1 - |x|^2) (OutsideBall unless |x| < 1); the others aux = 0.
Prepared prepare(Metric m, const float* x, int dims, float* out, float* aux);

// The kernel behind a metric's keys, resolved once.
struct Keys {
  Metric metric;
  int dims;
  NativeFn fn;
};
Keys keys_for(Metric m, int dims);

// The key the graph orders by, monotone in the metric's distance (smaller is
// nearer): -<a, b> for inner product and for cosine (on unit vectors),
// |a - b| for L2, |a - b|^2 aux_a aux_b for Poincare (d = acosh(1 + 2 key)).
inline float key(const Keys& k, const float* a, float aux_a, const float* b, float aux_b) {
  double out[4];
  k.fn(a, b, k.dims, nullptr, out);
  if (k.metric == Metric::Poincare) return static_cast<float>(out[0] * out[0] * aux_a * aux_b);
  return static_cast<float>(out[0]);
}
// The metric's distance (the SQL operator's value, up to float rounding) from a key.
double key_to_distance(Metric m, double key);

// ---------------------------------------------------------------------------
// Plain containers.
struct Alloc {
  // Returns a block of new_bytes holding the first old_bytes of p (p may be
  // null); new_bytes == 0 frees p.
  void* (*resize)(void* ctx, void* p, size_t old_bytes, size_t new_bytes);
  void* ctx;
};

struct Cand {
  float d;         // key from the query
  uint32_t live;   // 0: a deleted node, traversed but never returned or linked
  uint64_t id;     // the graph's node id
  uint64_t item;   // the graph's payload (the page graph: the heap TID)
};

struct Heap {
  Cand* v = nullptr;
  int n = 0, cap = 0;
};
void heap_push_min(Heap& h, const Cand& c, const Alloc& a);
void heap_push_max(Heap& h, const Cand& c, const Alloc& a);
Cand heap_pop_min(Heap& h);
Cand heap_pop_max(Heap& h);

// A set of node ids: open addressing, grown at half full.
struct Visited {
  uint64_t* slots = nullptr;  // id + 1; 0 is empty
  uint32_t cap = 0, n = 0;
};
// True when id was not in the set (it is now).
bool visit(Visited& s, uint64_t id, const Alloc& a);
bool contains(const Visited& s, uint64_t id);
void clear(Visited& s);

// ---------------------------------------------------------------------------
// The search. G provides:
//   int neighbours(uint64_t id, int level, uint64_t* out);   // ids, at most
//       level_capacity(m, level); 0 for a node without the level
//   void keys(const uint64_t* ids, int n, Cand* out);        // d, live, item
//   int m() const;
// and may raise from either (the page graph's ERROR), as said above.
struct Search {
  Heap candidates;  // discovered, not yet expanded (min-heap)
  Heap nearest;     // the round's ef nearest (max-heap)
  Heap pending;     // discovered live nodes not yet emitted (min-heap)
  Visited visited;
  uint64_t* ids = nullptr;   // scratch for one node's neighbours
  Cand* found = nullptr;
  int scratch = 0;
  int64_t expanded = 0;      // nodes expanded since start()
  bool stream = false;       // keep `pending` (scans); builds and inserts need only `nearest`
};

// Frees every buffer of s through a (for owners that have no memory context).
void release(Search& s, const Alloc& a);

// Starts a layer search from the entry points (their keys already computed);
// the caller clears `visited` for a new layer.
void start(Search& s, const Cand* entries, int n, const Alloc& a);

// One round of Algorithm 2 at `level`: expands the nearest unexpanded nodes
// until the round's ef nearest are all nearer than every unexpanded one. The
// first round is exactly the paper's SEARCH-LAYER; later rounds continue from
// where it stopped (a filtered scan asking for more).
template <class G>
void search_round(G& g, Search& s, int level, int ef, const Alloc& a) {
  const int cap = level_capacity(g.m(), level);
  if (s.scratch < cap) {
    s.ids = static_cast<uint64_t*>(a.resize(a.ctx, s.ids, 0, sizeof(uint64_t) * cap));
    s.found = static_cast<Cand*>(a.resize(a.ctx, s.found, 0, sizeof(Cand) * cap));
    s.scratch = cap;
  }
  s.nearest.n = 0;
  // The first round starts with the entries among the nearest.
  if (s.expanded == 0)
    for (int i = 0; i < s.candidates.n; i++) heap_push_max(s.nearest, s.candidates.v[i], a);
  while (s.candidates.n > 0) {
    const Cand c = s.candidates.v[0];
    if (s.nearest.n >= ef && c.d > s.nearest.v[0].d) break;
    heap_pop_min(s.candidates);
    s.expanded++;
    const int nn = g.neighbours(c.id, level, s.ids);
    int fresh = 0;
    for (int i = 0; i < nn; i++)
      if (visit(s.visited, s.ids[i], a)) s.ids[fresh++] = s.ids[i];
    if (fresh == 0) continue;
    g.keys(s.ids, fresh, s.found);
    for (int i = 0; i < fresh; i++) {
      const Cand& e = s.found[i];
      if (s.nearest.n < ef || e.d < s.nearest.v[0].d) {
        heap_push_min(s.candidates, e, a);
        heap_push_max(s.nearest, e, a);
        if (s.nearest.n > ef) heap_pop_max(s.nearest);
      } else {
        // Not near enough for this round; a later round may want it.
        heap_push_min(s.candidates, e, a);
      }
      if (s.stream && e.live) heap_push_min(s.pending, e, a);
    }
  }
}

// Greedy descent from the top to level `stop` + 1 with ef = 1 (the paper's
// first phase): returns the nearest node found at level stop + 1.
template <class G>
Cand descend(G& g, Search& s, Cand entry, int top, int stop, const Alloc& a) {
  for (int level = top; level > stop; level--) {
    clear(s.visited);
    start(s, &entry, 1, a);
    search_round(g, s, level, 1, a);
    entry = s.nearest.v[0];
  }
  return entry;
}

// The nearest `ef` of a finished round, ascending, into out (live or not).
int round_nearest(Search& s, Cand* out);

// HNSW's neighbour heuristic (Algorithm 4 without extension, as hnswlib):
// scanning the candidates nearest first, keeps one unless it is nearer to a
// kept one than to the base. `cands` are sorted ascending; vec(i) and aux(i)
// give candidate i's stored vector. Returns how many were kept, their
// indices in `keep`.
template <class VecOf>
int select_neighbours(const Keys& k, const Cand* cands, int n, int max_keep, VecOf vec, const float* aux,
                      int* keep) {
  int kept = 0;
  for (int i = 0; i < n && kept < max_keep; i++) {
    bool good = true;
    for (int j = 0; j < kept && good; j++) {
      const int r = keep[j];
      if (key(k, vec(i), aux[i], vec(r), aux[r]) < cands[i].d) good = false;
    }
    if (good) keep[kept++] = i;
  }
  return kept;
}

}  // namespace rvj::runtime::hnsw
