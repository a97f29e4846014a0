// The HNSW graph of the ruvector_attention index (runtime/hnsw*.h): recall
// against brute force, a graph independent of the thread count, a search that
// can go on until it has seen every node, and the plain containers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <set>
#include <vector>

#include "ir/random.h"
#include "runtime/hnsw.h"
#include "runtime/hnsw_build.h"

namespace hnsw = rvj::runtime::hnsw;

namespace {
void* heap_resize(void*, void* p, size_t, size_t bytes) {
  if (bytes == 0) {
    std::free(p);
    return nullptr;
  }
  return std::realloc(p, bytes);
}
const hnsw::Alloc kAlloc{heap_resize, nullptr};

struct Freed {
  hnsw::Search s;
  ~Freed() { hnsw::release(s, kAlloc); }
};

// Clusters of unit-ish vectors: a structure a graph index can exploit, like
// real embeddings and unlike uniform noise.
std::vector<float> clustered(int n, int dims, uint64_t seed, float radius = 1) {
  rvj::ir::Normals normal{seed};
  const int clusters = 40;
  std::vector<float> centres(static_cast<size_t>(clusters) * dims);
  for (auto& c : centres) c = static_cast<float>(normal());
  std::vector<float> x(static_cast<size_t>(n) * dims);
  uint64_t pick = seed ^ 0x5151;
  for (int i = 0; i < n; i++) {
    const int c = static_cast<int>(rvj::ir::splitmix64(pick) % clusters);
    double sq = 0;
    for (int t = 0; t < dims; t++) {
      x[static_cast<size_t>(i) * dims + t] = centres[static_cast<size_t>(c) * dims + t] + 0.6f * static_cast<float>(normal());
      sq += x[static_cast<size_t>(i) * dims + t] * x[static_cast<size_t>(i) * dims + t];
    }
    // Inside a ball of `radius` (the Poincare case needs |x| < 1).
    const double s = radius * 0.9 / std::sqrt(sq) * (0.3 + 0.7 * (i % 7) / 7.0);
    if (radius < 1.5)
      for (int t = 0; t < dims; t++) x[static_cast<size_t>(i) * dims + t] *= static_cast<float>(s);
  }
  return x;
}

// The memory graph as the search template reads it (the build's own adapter
// is private: this one reads the public accessors).
struct View {
  const hnsw::BuildGraph& g;
  hnsw::Keys k;
  const float* q;
  float q_aux;
  int m() const { return g.m(); }
  int neighbours(uint64_t id, int level, uint64_t* out) const {
    if (level > g.level(static_cast<int>(id))) return 0;
    const hnsw::BuildGraph::Slot* s;
    const int n = g.neighbours(static_cast<int>(id), level, &s);
    for (int i = 0; i < n; i++) out[i] = s[i].id;
    return n;
  }
  void keys(const uint64_t* ids, int n, hnsw::Cand* out) const {
    for (int i = 0; i < n; i++) {
      const int j = static_cast<int>(ids[i]);
      out[i] = {hnsw::key(k, q, q_aux, g.vec(j), g.aux(j)), 1, ids[i], g.item(j)};
    }
  }
};

hnsw::BuildGraph build(hnsw::Metric metric, const std::vector<float>& x, int dims, int threads) {
  hnsw::BuildGraph g(metric, dims, 16, 64);
  const int n = static_cast<int>(x.size() / dims);
  std::vector<float> p(dims);
  for (int i = 0; i < n; i++) {
    float aux;
    EXPECT_EQ(hnsw::prepare(metric, &x[static_cast<size_t>(i) * dims], dims, p.data(), &aux), hnsw::Prepared::Ok);
    g.add(p.data(), aux, static_cast<uint64_t>(i), static_cast<uint64_t>(i) * 2654435761u);
  }
  g.link(threads, nullptr);
  return g;
}

// The search of a scan: descend, then rounds of ef at the bottom level.
std::vector<hnsw::Cand> search(const hnsw::BuildGraph& g, const float* q, float q_aux, int ef, int want) {
  View v{g, hnsw::keys_for(g.metric(), g.dims()), q, q_aux};
  Freed f;
  f.s.stream = true;
  uint64_t eid = static_cast<uint64_t>(g.entry());
  hnsw::Cand e;
  v.keys(&eid, 1, &e);
  e = hnsw::descend(v, f.s, e, g.level(g.entry()), 0, kAlloc);
  hnsw::clear(f.s.visited);
  f.s.pending.n = 0;
  hnsw::start(f.s, &e, 1, kAlloc);
  std::vector<hnsw::Cand> out;
  while (static_cast<int>(out.size()) < want && (f.s.candidates.n > 0 || f.s.pending.n > 0)) {
    hnsw::search_round(v, f.s, 0, ef, kAlloc);
    for (int i = 0; i < ef && f.s.pending.n > 0; i++) out.push_back(hnsw::heap_pop_min(f.s.pending));
  }
  return out;
}

double recall_at_10(hnsw::Metric metric, const std::vector<float>& x, int dims, const hnsw::BuildGraph& g,
                    const std::vector<float>& queries, int ef) {
  const int n = static_cast<int>(x.size() / dims), nq = static_cast<int>(queries.size() / dims);
  const hnsw::Keys k = hnsw::keys_for(metric, dims);
  std::vector<float> p(dims), q(dims);
  int hits = 0;
  for (int qi = 0; qi < nq; qi++) {
    float q_aux;
    hnsw::prepare(metric, &queries[static_cast<size_t>(qi) * dims], dims, q.data(), &q_aux);
    std::vector<std::pair<float, int>> exact(n);
    for (int i = 0; i < n; i++) {
      float aux;
      hnsw::prepare(metric, &x[static_cast<size_t>(i) * dims], dims, p.data(), &aux);
      exact[i] = {hnsw::key(k, q.data(), q_aux, p.data(), aux), i};
    }
    std::partial_sort(exact.begin(), exact.begin() + 10, exact.end());
    const auto found = search(g, q.data(), q_aux, ef, 10);
    std::set<uint64_t> got;
    for (int i = 0; i < 10 && i < static_cast<int>(found.size()); i++) got.insert(found[i].item);
    for (int i = 0; i < 10; i++) hits += got.count(static_cast<uint64_t>(exact[i].second));
  }
  return hits / (10.0 * nq);
}
}  // namespace

TEST(Hnsw, RecallAgainstBruteForceForEveryMetric) {
  const int dims = 48, n = 3000;
  for (hnsw::Metric metric : {hnsw::Metric::InnerProduct, hnsw::Metric::Cosine, hnsw::Metric::L2, hnsw::Metric::Poincare}) {
    // Norms vary (0.27 to 0.9) for every metric: inner product ranks by them.
    const auto x = clustered(n, dims, 7, metric == hnsw::Metric::L2 ? 2.0f : 1.0f);
    const auto queries = clustered(50, dims, 99, metric == hnsw::Metric::L2 ? 2.0f : 1.0f);
    const auto g = build(metric, x, dims, 2);
    const double r = recall_at_10(metric, x, dims, g, queries, 40);
    EXPECT_GE(r, 0.9) << hnsw::metric_name(metric);
  }
}

TEST(Hnsw, TheGraphDoesNotDependOnTheThreadCount) {
  const int dims = 32, n = 2500;
  const auto x = clustered(n, dims, 3);
  const auto one = build(hnsw::Metric::L2, x, dims, 1);
  const auto two = build(hnsw::Metric::L2, x, dims, 2);
  const auto four = build(hnsw::Metric::L2, x, dims, 4);
  ASSERT_EQ(one.entry(), two.entry());
  ASSERT_EQ(one.entry(), four.entry());
  for (int i = 0; i < n; i++) {
    ASSERT_EQ(one.level(i), two.level(i));
    for (int l = 0; l <= one.level(i); l++) {
      const hnsw::BuildGraph::Slot *a, *b, *c;
      const int na = one.neighbours(i, l, &a), nb = two.neighbours(i, l, &b), nc = four.neighbours(i, l, &c);
      ASSERT_EQ(na, nb) << "node " << i << " level " << l;
      ASSERT_EQ(na, nc);
      for (int j = 0; j < na; j++) {
        ASSERT_EQ(a[j].id, b[j].id);
        ASSERT_EQ(a[j].id, c[j].id);
        ASSERT_EQ(a[j].d, b[j].d);
      }
    }
  }
}

TEST(Hnsw, ListsAreWellFormedAndEveryNodeIsReachable) {
  const int dims = 24, n = 2000;
  const auto x = clustered(n, dims, 11);
  const auto g = build(hnsw::Metric::InnerProduct, x, dims, 2);
  std::vector<char> seen(n, 0);
  std::vector<int> queue{g.entry()};
  seen[g.entry()] = 1;
  for (size_t h = 0; h < queue.size(); h++) {
    const int i = queue[h];
    for (int l = 0; l <= g.level(i); l++) {
      const hnsw::BuildGraph::Slot* s;
      const int cnt = g.neighbours(i, l, &s);
      ASSERT_LE(cnt, hnsw::level_capacity(16, l));
      std::set<uint32_t> distinct;
      for (int j = 0; j < cnt; j++) {
        ASSERT_NE(static_cast<int>(s[j].id), i);
        ASSERT_GE(g.level(static_cast<int>(s[j].id)), l);
        distinct.insert(s[j].id);
        if (l == 0 && !seen[s[j].id]) {
          seen[s[j].id] = 1;
          queue.push_back(static_cast<int>(s[j].id));
        }
      }
      ASSERT_EQ(distinct.size(), static_cast<size_t>(cnt));
    }
  }
  EXPECT_EQ(static_cast<int>(queue.size()), n);
}

TEST(Hnsw, AResumedSearchReachesEveryNodeOnce) {
  const int dims = 16, n = 1500;
  const auto x = clustered(n, dims, 5);
  const auto g = build(hnsw::Metric::L2, x, dims, 1);
  std::vector<float> q(dims, 0.1f);
  const auto all = search(g, q.data(), 0, 40, n + 100);
  std::set<uint64_t> items;
  for (const auto& c : all) items.insert(c.item);
  EXPECT_EQ(items.size(), all.size());                  // never twice
  EXPECT_EQ(static_cast<int>(items.size()), n);         // and, going on, everything
  // The first batch is the nearest: nondecreasing within it.
  for (int i = 1; i < 40; i++) EXPECT_LE(all[i - 1].d, all[i].d);
}

TEST(Hnsw, PreparedVectors) {
  float out[3], aux;
  const float zero[3] = {0, 0, 0}, far[3] = {0.8f, 0.7f, 0}, v[3] = {3, 4, 0};
  EXPECT_EQ(hnsw::prepare(hnsw::Metric::Cosine, zero, 3, out, &aux), hnsw::Prepared::ZeroVector);
  EXPECT_EQ(hnsw::prepare(hnsw::Metric::Poincare, far, 3, out, &aux), hnsw::Prepared::OutsideBall);
  ASSERT_EQ(hnsw::prepare(hnsw::Metric::Cosine, v, 3, out, &aux), hnsw::Prepared::Ok);
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  // Poincare: the key maps back to the distance acosh(1 + 2|x-y|^2 / ((1-|x|^2)(1-|y|^2))).
  const float a[2] = {0.1f, 0.2f}, b[2] = {-0.3f, 0.4f};
  float pa[2], pb[2], xa, xb;
  hnsw::prepare(hnsw::Metric::Poincare, a, 2, pa, &xa);
  hnsw::prepare(hnsw::Metric::Poincare, b, 2, pb, &xb);
  const double key = hnsw::key(hnsw::keys_for(hnsw::Metric::Poincare, 2), pa, xa, pb, xb);
  const double sq = 0.16 + 0.04, na = 0.05, nb = 0.25;
  EXPECT_NEAR(hnsw::key_to_distance(hnsw::Metric::Poincare, key), std::acosh(1 + 2 * sq / ((1 - na) * (1 - nb))), 1e-6);
}

TEST(Hnsw, HeapsAndVisited) {
  hnsw::Heap mn, mx;
  hnsw::Visited seen;
  uint64_t state = 1;
  std::vector<float> ds;
  for (int i = 0; i < 500; i++) {
    const float d = static_cast<float>(rvj::ir::splitmix64(state) % 1000);
    ds.push_back(d);
    hnsw::heap_push_min(mn, {d, 1, static_cast<uint64_t>(i), 0}, kAlloc);
    hnsw::heap_push_max(mx, {d, 1, static_cast<uint64_t>(i), 0}, kAlloc);
    EXPECT_TRUE(hnsw::visit(seen, static_cast<uint64_t>(i) * 7919, kAlloc));
  }
  std::sort(ds.begin(), ds.end());
  for (int i = 0; i < 500; i++) {
    EXPECT_EQ(hnsw::heap_pop_min(mn).d, ds[i]);
    EXPECT_EQ(hnsw::heap_pop_max(mx).d, ds[499 - i]);
    EXPECT_FALSE(hnsw::visit(seen, static_cast<uint64_t>(i) * 7919, kAlloc));
    EXPECT_TRUE(hnsw::contains(seen, static_cast<uint64_t>(i) * 7919));
  }
  EXPECT_FALSE(hnsw::contains(seen, 3));
  std::free(mn.v);
  std::free(mx.v);
  std::free(seen.slots);
}

TEST(Hnsw, LevelsFollowTheGeometricLaw) {
  // P(level >= 1) = 1/m.
  int above = 0;
  for (uint64_t i = 0; i < 100000; i++) above += hnsw::random_level(i * 0x9E3779B97F4A7C15ull + 1, 16) >= 1;
  EXPECT_NEAR(above / 100000.0, 1 / 16.0, 0.004);
  EXPECT_LE(hnsw::random_level(12345, 16, 2), 2);
}
