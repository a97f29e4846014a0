// The table scans' engine parts: dot_block against the canonical reduction
// (every ISA, the same bits), the top-k order, the head weights and the
// cross scan against a direct softmax in f64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "ir/errors.h"
#include "runtime/cross_scan.h"
#include "runtime/dot_block.h"
#include "runtime/engine.h"
#include "runtime/exp_block.h"
#include "ir/exp32.h"
#include "runtime/head_weights.h"
#include "runtime/native.h"
#include "runtime/top_k.h"

using namespace rvj::runtime;

namespace {

std::vector<float> random_rows(int n, int dims, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x((size_t)n * dims);
  for (float& v : x) v = normal(rng);
  return x;
}

}  // namespace

TEST(DotPanels, EveryIsaGivesOneFmaChainPerProduct) {
  for (int dims : {1, 7, 16, 31, 95, 96, 97, 100, 384, 768}) {
    for (int nd : {1, 13, 16, 33, 48, 64, 65, 80, 81, 100, 240}) {
      const int nq = 7;
      auto q = random_rows(nq, dims, 1 + dims);
      q.resize((size_t)query_rows(nq) * dims, 0.0f);
      const auto d = random_rows(nd, dims, 2 + dims + nd);
      std::vector<float> panels((size_t)panel_docs(nd) * dims, -1.0f);
      pack_panels(d.data(), nd, dims, panels.data());
      for (SimdIsa isa : {SimdIsa::Scalar, SimdIsa::Avx2, SimdIsa::Avx512}) {
        if (!simd_available(isa)) continue;
        const int64_t ld = panel_docs(nd);
        // A guard row past the last: nothing is written beyond the width.
        std::vector<float> out((size_t)(query_rows(nq) + 1) * ld, -1.0f), cols(out.size(), -1.0f);
        dot_panels(q.data(), nq, dims, panels.data(), nd, out.data(), ld, isa);
        // The same products with the queries as columns.
        std::vector<float> qt((size_t)dims * query_rows(nq));
        for (int i = 0; i < query_rows(nq); ++i)
          for (int t = 0; t < dims; ++t) qt[(size_t)t * query_rows(nq) + i] = q[(size_t)i * dims + t];
        dot_panels_columns(qt.data(), query_rows(nq), nq, dims, panels.data(), nd, cols.data(), ld, isa);
        for (int64_t j = query_rows(nq) * ld; j < (int64_t)out.size(); ++j) ASSERT_EQ(out[j], -1.0f) << nd;
        for (int i = 0; i < nq; ++i)
          for (int j = 0; j < nd; ++j) {
            float want = 0;  // the documented order: one fma chain, t ascending
            for (int t = 0; t < dims; ++t) want = std::fma(q[(size_t)i * dims + t], d[(size_t)j * dims + t], want);
            ASSERT_EQ(out[(size_t)i * ld + j], want) << "dims " << dims << " nd " << nd << " isa " << (int)isa;
            ASSERT_EQ(cols[(size_t)i * ld + j], want) << "columns: dims " << dims << " nd " << nd << " isa " << (int)isa;
          }
      }
    }
  }
}

TEST(ExpBlock, EveryIsaGivesExp32sBits) {
  std::vector<float> x;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-100.0f, 0.0f);
  for (int i = 0; i < 10000; ++i) x.push_back(u(rng));
  for (float v : {0.0f, -0.0f, -87.0f, -87.00001f, -1e-30f, -INFINITY, -86.99f, -0.5f, -126.0f}) x.push_back(v);
  for (SimdIsa isa : {SimdIsa::Scalar, SimdIsa::Avx2, SimdIsa::Avx512}) {
    if (!simd_available(isa)) continue;
    std::vector<float> out(x.size());
    exp32_block(x.data(), out.data(), (int)x.size(), isa);
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = rvj::ir::exp_f32::exp32(x[i]);
      ASSERT_EQ(std::memcmp(&out[i], &want, sizeof want), 0) << "x " << x[i] << " isa " << (int)isa;
    }
    EXPECT_NEAR(out[100], std::exp((double)x[100]), 2e-7 * std::exp((double)x[100]));
  }
}

TEST(TopK, KeepsTheBestAndBreaksTiesByKey) {
  static const TopEntry offers[] = {{1.0, 5}, {3.0, 9}, {2.0, 4}, {3.0, 2}, {0.5, 1}, {2.0, 3}};
  std::vector<TopEntry> heap(8);
  int size = 0;
  for (const TopEntry& e : offers) top_k_offer(heap.data(), &size, 3, e);
  top_k_sort(heap.data(), size);
  ASSERT_EQ(size, 3);
  EXPECT_EQ(heap[0].key, 2);  // 3.0, smaller key first
  EXPECT_EQ(heap[1].key, 9);
  EXPECT_EQ(heap[2].key, 3);  // 2.0: key 3 beats key 4
}

TEST(HeadWeights, AverageOfPerHeadSoftmaxes) {
  const int dims = 12, heads = 3, n = 20;
  const auto q = random_rows(1, dims, 7), k = random_rows(n, dims, 8);
  std::vector<float> logits((size_t)n * heads);
  std::vector<double> m(heads), s(heads), lse(heads);
  // Two halves merged, as two parallel workers would.
  std::vector<double> m2(heads), s2(heads);
  lse_init(m.data(), s.data(), heads);
  lse_init(m2.data(), s2.data(), heads);
  for (int r = 0; r < n; ++r) {
    head_logits(q.data(), &k[(size_t)r * dims], dims, heads, &logits[(size_t)r * heads]);
    if (r < n / 2)
      lse_add(m.data(), s.data(), &logits[(size_t)r * heads], heads);
    else
      lse_add(m2.data(), s2.data(), &logits[(size_t)r * heads], heads);
  }
  lse_merge(m.data(), s.data(), m2.data(), s2.data(), heads);
  lse_finish(m.data(), s.data(), heads, lse.data());
  double total = 0;
  for (int r = 0; r < n; ++r) {
    double want = 0;
    for (int h = 0; h < heads; ++h) {
      double z = 0, mine = 0;
      for (int j = 0; j < n; ++j) {
        double dot = 0;
        for (int t = 0; t < dims / heads; ++t)
          dot += (double)q[h * 4 + t] * k[(size_t)j * dims + h * 4 + t];
        z += std::exp(dot / 2.0);
        if (j == r) mine = std::exp(dot / 2.0);
      }
      want += mine / z / heads;
    }
    const double got = head_average(&logits[(size_t)r * heads], lse.data(), heads);
    EXPECT_NEAR(got, want, 1e-6 * want);
    total += got;
  }
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_THROW(check_heads(12, 5), rvj::Error);
  EXPECT_THROW(check_heads(12, 0), rvj::Error);
}

// exact := false: the same weights with the normalisers over a candidate
// subset, the k best in order (the reference in f64, written out here).
TEST(HeadWeights, OverCandidatesNormaliseOverThemAlone) {
  const int dims = 12, heads = 3, n = 15, k = 4;
  const auto q = random_rows(1, dims, 17), rows = random_rows(n, dims, 18);
  std::vector<int64_t> keys(n);
  for (int i = 0; i < n; ++i) keys[i] = 100 + (i * 7) % n;
  std::vector<double> want(n, 0);
  for (int h = 0; h < heads; ++h) {
    std::vector<double> e(n);
    double z = 0;
    for (int j = 0; j < n; ++j) {
      double dot = 0;
      for (int t = 0; t < 4; ++t) dot += (double)q[h * 4 + t] * rows[(size_t)j * dims + h * 4 + t];
      z += e[j] = std::exp(dot / 2.0);
    }
    for (int j = 0; j < n; ++j) want[j] += e[j] / z / heads;
  }
  std::vector<TopEntry> best(k);
  const int got = candidate_head_weights(q.data(), rows.data(), keys.data(), n, dims, heads, k, best.data());
  ASSERT_EQ(got, k);
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return want[a] > want[b]; });
  for (int i = 0; i < k; ++i) {
    EXPECT_EQ(best[i].key, keys[order[i]]);
    EXPECT_NEAR(best[i].value, want[order[i]], 1e-6 * want[order[i]]);
  }
}

namespace {
// Weights of every document for every query, f64, straight from the
// per-row kernel: the reference the blocked scan must match.
std::vector<std::vector<double>> direct_weights(const char* type, const double* params, const std::vector<float>& q,
                                                int nq, const std::vector<float>& d, int nd, int dims) {
  const rvj::ir::Mechanism& m = row_score_mechanism(type);
  Bound b = bind(m, dims, false);
  std::copy(params, params + m.params.size(), b.params);
  std::vector<std::vector<double>> w(nq, std::vector<double>(nd));
  for (int i = 0; i < nq; ++i) {
    double mx = -INFINITY;
    for (int j = 0; j < nd; ++j) {
      w[i][j] = run(b, &q[(size_t)i * dims], &d[(size_t)j * dims]);
      mx = std::max(mx, w[i][j]);
    }
    double z = 0;
    for (double& x : w[i]) z += (x = std::exp(x - mx));
    for (double& x : w[i]) x /= z;
  }
  return w;
}
}  // namespace

TEST(CrossScan, MatchesTheDirectSoftmaxForEveryFormAndThreadCount) {
  const int dims = 40, nq = 70, nd = 333, k = 5;
  auto q = random_rows(nq, dims, 11, 0.1f), d = random_rows(nd, dims, 12, 0.1f);
  d[3 * dims + 1] = 1e-30f;  // a document row scaled to tiny values takes the per-row path
  for (int t = 0; t < dims; ++t) d[5 * dims + t] *= 1e-12f;
  struct Case {
    const char* type;
    double params[3];
  } cases[] = {{"scaled_dot", {}}, {"cosine", {2.0}}, {"poincare", {0.5, 1.5, 0.25}}};
  for (const Case& c : cases) {
    const auto want = direct_weights(c.type, c.params, q, nq, d, nd, dims);
    std::vector<std::vector<TopEntry>> first;
    for (int threads : {1, 2, 3}) {
      CrossScan scan(row_score_mechanism(c.type), c.params, dims, k, threads, false);
      scan.set_queries(q.data(), nq);
      std::vector<int64_t> keys(nd);
      for (int j = 0; j < nd; ++j) keys[j] = 1000 + j;
      // Uneven blocks.
      for (int j0 = 0; j0 < nd; j0 += 97) {
        const int n = std::min(97, nd - j0);
        scan.add_documents(&d[(size_t)j0 * dims], &keys[j0], n);
      }
      for (int i = 0; i < nq; ++i) {
        const auto top = scan.top(i);
        ASSERT_EQ((int)top.size(), k);
        std::vector<int> order(nd);
        for (int j = 0; j < nd; ++j) order[j] = j;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return want[i][a] > want[i][b]; });
        for (int r = 0; r < k; ++r) {
          EXPECT_EQ(top[r].key, 1000 + order[r]) << c.type << " query " << i << " rank " << r;
          EXPECT_NEAR(top[r].value, want[i][order[r]], 1e-6 * want[i][order[r]]) << c.type;
        }
        if (threads == 1) {
          first.push_back(top);
        } else {
          for (int r = 0; r < k; ++r) EXPECT_EQ(top[r].value, first[i][r].value);  // the same bits
        }
      }
    }
  }
}

TEST(CrossScan, DestroyedWhileScoringWaitsForItsThreads) {
  // What an ERROR during a fetch does (the memory context callback deletes
  // the scan with a block in flight): no thread may outlive the buffers.
  const int dims = 64, nq = 500, k = 3;
  const auto q = random_rows(nq, dims, 21), d = random_rows(CrossScan::kBlockDocs, dims, 22);
  for (int round = 0; round < 5; ++round) {
    auto scan = std::make_unique<CrossScan>(row_score_mechanism("scaled_dot"), nullptr, dims, k, 2, false);
    scan->set_queries(q.data(), nq);
    std::copy(d.begin(), d.end(), scan->staging(round % 2));
    for (int j = 0; j < CrossScan::kBlockDocs; ++j) scan->staging_keys(round % 2)[j] = j;
    scan->start_documents(round % 2, CrossScan::kBlockDocs);
    scan.reset();
  }
  SUCCEED();
}

// The coordinator's merge of sharded scans (ruvector_cross_attention over a
// table sharded with postgres_fdw): each shard's partial() (m, s, k best
// logits), merged by lse_merge and top_k_offer, gives the single scan's
// exact weights over all documents.
TEST(CrossScan, ShardsMergeToTheDirectSoftmax) {
  const int dims = 24, nq = 9, nd = 301, k = 4, shards = 3;
  const auto q = random_rows(nq, dims, 31, 0.2f), d = random_rows(nd, dims, 32, 0.2f);
  const double cosine[1] = {3.0};
  const auto want = direct_weights("cosine", cosine, q, nq, d, nd, dims);
  std::vector<std::unique_ptr<CrossScan>> scans;
  for (int s = 0; s < shards; ++s) {
    scans.push_back(std::make_unique<CrossScan>(row_score_mechanism("cosine"), cosine, dims, k, 1, false));
    scans.back()->set_queries(q.data(), nq);
    // Shard s holds documents j with j % shards == s (one hashed partition).
    std::vector<float> rows;
    std::vector<int64_t> keys;
    for (int j = s; j < nd; j += shards) {
      rows.insert(rows.end(), &d[(size_t)j * dims], &d[(size_t)(j + 1) * dims]);
      keys.push_back(j);
    }
    for (size_t j0 = 0; j0 < keys.size(); j0 += CrossScan::kBlockDocs) {
      const int n = (int)std::min<size_t>(CrossScan::kBlockDocs, keys.size() - j0);
      scans.back()->add_documents(&rows[j0 * dims], &keys[j0], n);
    }
  }
  for (int i = 0; i < nq; ++i) {
    double m = -INFINITY, s = 0;
    std::vector<TopEntry> best(k);
    int count = 0;
    for (const auto& scan : scans) {
      double ms, ss;
      for (const TopEntry& e : scan->partial(i, &ms, &ss)) top_k_offer(best.data(), &count, k, e);
      lse_merge(&m, &s, &ms, &ss, 1);
    }
    top_k_sort(best.data(), count);
    ASSERT_EQ(count, k);
    std::vector<int> order(nd);
    for (int j = 0; j < nd; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return want[i][a] > want[i][b]; });
    for (int r = 0; r < k; ++r) {
      EXPECT_EQ(best[r].key, order[r]) << "query " << i << " rank " << r;
      const double w = std::exp(best[r].value - (m + std::log(s)));
      EXPECT_NEAR(w, want[i][order[r]], 1e-6 * want[i][order[r]]);
    }
  }
}

// ruvector_mha_search's first pass over shards: each shard's per-head
// log-sum-exp, merged as a running sum (lse, 1), equals the log-sum-exp
// over all rows.
TEST(HeadWeights, ShardLogSumExpsMergeExactly) {
  const int dims = 16, heads = 4, n = 50, shards = 3;
  const auto q = random_rows(1, dims, 41, 2.0f), k = random_rows(n, dims, 42, 2.0f);
  std::vector<float> logits(heads);
  std::vector<double> m(heads), s(heads), all(heads);
  lse_init(m.data(), s.data(), heads);
  std::vector<double> gm(heads), gs(heads);
  lse_init(gm.data(), gs.data(), heads);
  for (int sh = 0; sh < shards; ++sh) {
    std::vector<double> sm(heads), ss(heads), lse(heads);
    lse_init(sm.data(), ss.data(), heads);
    for (int r = sh; r < n; r += shards) {
      head_logits(q.data(), &k[(size_t)r * dims], dims, heads, logits.data());
      lse_add(sm.data(), ss.data(), logits.data(), heads);
      lse_add(m.data(), s.data(), logits.data(), heads);
    }
    lse_finish(sm.data(), ss.data(), heads, lse.data());
    const std::vector<double> one(heads, 1.0);
    lse_merge(gm.data(), gs.data(), lse.data(), one.data(), heads);
  }
  std::vector<double> merged(heads);
  lse_finish(gm.data(), gs.data(), heads, merged.data());
  lse_finish(m.data(), s.data(), heads, all.data());
  for (int h = 0; h < heads; ++h) EXPECT_NEAR(merged[h], all[h], 1e-12 * std::abs(all[h]) + 1e-12);
}
