#include "runtime/hnsw.h"

#include <algorithm>
#include <cmath>

#include "ir/errors.h"
#include "ir/random.h"
#include "runtime/engine.h"

namespace rvj::runtime::hnsw {

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::InnerProduct: return "inner product";
    case Metric::Cosine: return "cosine";
    case Metric::L2: return "l2";
    case Metric::Poincare: return "poincare";
  }
  return "?";
}

const char* metric_kernel(Metric m) {
  // Cosine runs on unit vectors, so its key is the inner product's.
  return (m == Metric::L2 || m == Metric::Poincare) ? "l2_distance" : "negative_inner_product";
}

int random_level(uint64_t seed, int m, int cap) {
  uint64_t state = seed;
  const double u = (static_cast<double>(ir::splitmix64(state) >> 11) + 1) * 0x1.0p-53;  // (0, 1]
  const int level = static_cast<int>(std::floor(-std::log(u) / std::log(static_cast<double>(m))));
  return std::min(level, cap);
}

Prepared prepare(Metric m, const float* x, int dims, float* out, float* aux) {
  *aux = 0;
  if (m == Metric::Cosine) {
    double sq = 0;
    for (int i = 0; i < dims; i++) sq += static_cast<double>(x[i]) * x[i];
    if (sq == 0) return Prepared::ZeroVector;
    const double inv = 1 / std::sqrt(sq);
    for (int i = 0; i < dims; i++) out[i] = static_cast<float>(x[i] * inv);
    return Prepared::Ok;
  }
  if (out != x) std::memcpy(out, x, sizeof(float) * dims);
  if (m == Metric::Poincare) {
    double sq = 0;
    for (int i = 0; i < dims; i++) sq += static_cast<double>(x[i]) * x[i];
    if (!(sq < 1)) return Prepared::OutsideBall;
    *aux = static_cast<float>(1 / (1 - sq));
  }
  return Prepared::Ok;
}

Keys keys_for(Metric m, int dims) {
  const ir::Mechanism& mech = kernel_mechanism(metric_kernel(m));
  NativeFn fn = native_kernel(mech);
  if (!fn) throw Error(ErrorKind::Internal, std::string("no native kernel for ") + metric_kernel(m));
  return {m, dims, fn};
}

double key_to_distance(Metric m, double key) {
  switch (m) {
    case Metric::InnerProduct: return key;
    case Metric::Cosine: return 1 + key;
    case Metric::L2: return key;
    case Metric::Poincare: return std::acosh(1 + 2 * key);
  }
  return key;
}

// ---------------------------------------------------------------------------
namespace {
template <typename T>
void grow(T*& v, int& cap, int need, const Alloc& a) {
  if (need <= cap) return;
  const int next = std::max(need, std::max(16, cap * 2));
  v = static_cast<T*>(a.resize(a.ctx, v, sizeof(T) * cap, sizeof(T) * next));
  cap = next;
}

// Ties break on the id, so that every order is total and every run the same.
inline bool less(const Cand& x, const Cand& y) { return x.d < y.d || (x.d == y.d && x.id < y.id); }

template <bool Max>
inline bool before(const Cand& x, const Cand& y) {
  return Max ? less(y, x) : less(x, y);
}

template <bool Max>
void push(Heap& h, const Cand& c, const Alloc& a) {
  grow(h.v, h.cap, h.n + 1, a);
  int i = h.n++;
  while (i > 0) {
    const int p = (i - 1) / 2;
    if (!before<Max>(c, h.v[p])) break;
    h.v[i] = h.v[p];
    i = p;
  }
  h.v[i] = c;
}

template <bool Max>
Cand pop(Heap& h) {
  const Cand top = h.v[0];
  const Cand last = h.v[--h.n];
  int i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= h.n) break;
    if (c + 1 < h.n && before<Max>(h.v[c + 1], h.v[c])) c++;
    if (!before<Max>(h.v[c], last)) break;
    h.v[i] = h.v[c];
    i = c;
  }
  if (h.n > 0) h.v[i] = last;
  return top;
}

inline uint32_t slot_of(uint64_t id, uint32_t cap) {
  uint64_t z = id * 0x9E3779B97F4A7C15ull;
  return static_cast<uint32_t>(z >> 32) & (cap - 1);
}
}  // namespace

void heap_push_min(Heap& h, const Cand& c, const Alloc& a) { push<false>(h, c, a); }
void heap_push_max(Heap& h, const Cand& c, const Alloc& a) { push<true>(h, c, a); }
Cand heap_pop_min(Heap& h) { return pop<false>(h); }
Cand heap_pop_max(Heap& h) { return pop<true>(h); }

bool visit(Visited& s, uint64_t id, const Alloc& a) {
  if (2 * (s.n + 1) > s.cap) {
    const uint32_t old_cap = s.cap;
    uint64_t* old = s.slots;
    const uint32_t cap = std::max<uint32_t>(256, old_cap * 2);
    uint64_t* fresh = static_cast<uint64_t*>(a.resize(a.ctx, nullptr, 0, sizeof(uint64_t) * cap));
    std::memset(fresh, 0, sizeof(uint64_t) * cap);
    for (uint32_t i = 0; i < old_cap; i++)
      if (old[i]) {
        uint32_t j = slot_of(old[i] - 1, cap);
        while (fresh[j]) j = (j + 1) & (cap - 1);
        fresh[j] = old[i];
      }
    if (old) a.resize(a.ctx, old, sizeof(uint64_t) * old_cap, 0);
    s.slots = fresh;
    s.cap = cap;
  }
  uint32_t j = slot_of(id, s.cap);
  while (s.slots[j]) {
    if (s.slots[j] == id + 1) return false;
    j = (j + 1) & (s.cap - 1);
  }
  s.slots[j] = id + 1;
  s.n++;
  return true;
}

bool contains(const Visited& s, uint64_t id) {
  if (s.n == 0) return false;
  uint32_t j = slot_of(id, s.cap);
  while (s.slots[j]) {
    if (s.slots[j] == id + 1) return true;
    j = (j + 1) & (s.cap - 1);
  }
  return false;
}

void clear(Visited& s) {
  if (s.slots) std::memset(s.slots, 0, sizeof(uint64_t) * s.cap);
  s.n = 0;
}

void release(Search& s, const Alloc& a) {
  void* buffers[] = {s.candidates.v, s.nearest.v, s.pending.v, s.visited.slots, s.ids, s.found};
  for (void* p : buffers)
    if (p) a.resize(a.ctx, p, 0, 0);
  s = Search{};
}

void start(Search& s, const Cand* entries, int n, const Alloc& a) {
  s.expanded = 0;
  s.candidates.n = 0;
  s.nearest.n = 0;
  for (int i = 0; i < n; i++) {
    if (!visit(s.visited, entries[i].id, a)) continue;
    heap_push_min(s.candidates, entries[i], a);
    if (s.stream && entries[i].live) heap_push_min(s.pending, entries[i], a);
  }
}

int round_nearest(Search& s, Cand* out) {
  const int n = s.nearest.n;
  for (int i = n - 1; i >= 0; i--) out[i] = heap_pop_max(s.nearest);
  return n;
}

}  // namespace rvj::runtime::hnsw
