// Masks as data (ir/mask.h): the blocks the sparse schedule walks are exactly
// those holding a visible pair, the bounds hold, and BigBird's draws follow
// the documented rule. The masks' meaning is checked against torch through
// the pattern fixtures (flash_test.cpp).
#include <gtest/gtest.h>

#include <random>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "ir/mask.h"
#include "ir/normaliser.h"

using namespace rvj;

namespace {
std::vector<ir::Mask> masks(int S) {
  using K = ir::MaskKind;
  std::vector<ir::Mask> all;
  auto add = [&](ir::Mask m) {
    m.keys = S;
    all.push_back(m);
  };
  add({K::None});
  add({K::Causal});
  for (bool c : {true, false}) {
    ir::Mask w{K::Window, c};
    w.window = 5;
    add(w);
    ir::Mask d{K::DilatedWindow, c};
    d.window = 3, d.dilation = 4;
    add(d);
    ir::Mask s{K::Strided, c};
    s.stride = 7;
    add(s);
    ir::Mask f{K::Fixed, c};
    f.stride = 8, f.summary = 2;
    add(f);
    ir::Mask b{K::BlockLocal, c};
    b.block = 6;
    add(b);
  }
  ir::Mask l{K::Longformer};
  l.window = 3, l.global = 2;
  add(l);
  ir::Mask bb{K::BigBird};
  bb.block = 5, bb.global = 1, bb.random = 2, bb.seed = 9;
  add(bb);
  return all;
}
}  // namespace

TEST(Mask, SparseScheduleWalksExactlyTheBlocksWithVisiblePairs) {
  const int L = 70, S = 70;
  for (const ir::Mask& m : masks(S))
    for (int B : {1, 4, 16}) {
      for (int i0 = 0; i0 < L; i0 += B) {
        const int i1 = std::min(L, i0 + B);
        std::vector<int> got;
        m.key_blocks(i0, i1, B, got);
        std::vector<int> want;
        for (int k0 = 0; k0 < S; k0 += B) {
          bool any = false;
          for (int i = i0; i < i1; ++i)
            for (int j = k0; j < std::min(S, k0 + B); ++j) any |= m.visible(i, j);
          if (any) want.push_back(k0);
        }
        EXPECT_EQ(got, want) << m.describe() << " B " << B << " i0 " << i0;
      }
      for (int i = 0; i < L; ++i)
        for (int j = 0; j < S; ++j)
          if (m.visible(i, j)) {
            EXPECT_GE(j, m.first_key(i)) << m.describe();
            EXPECT_LE(j, m.last_key(i)) << m.describe();
          }
    }
}

TEST(Mask, ContiguousMasksHaveNoHoles) {
  for (const ir::Mask& m : masks(50))
    if (m.contiguous()) {
      for (int i = 0; i < 50; ++i)
        for (int j = m.first_key(i); j <= m.last_key(i); ++j) EXPECT_TRUE(m.visible(i, j)) << m.describe();
    }
}

TEST(Mask, BigBirdDrawsDistinctCandidateBlocksFromTheSeed) {
  ir::Mask m{ir::MaskKind::BigBird};
  m.block = 4, m.global = 2, m.random = 3, m.seed = 42, m.keys = 400;
  int r[ir::Mask::kMaxRandomBlocks];
  for (int I = 0; I < 100; ++I) {
    const int n = m.random_blocks(I, r);
    ASSERT_EQ(n, 3);
    std::set<int> distinct(r, r + n);
    EXPECT_EQ(distinct.size(), 3u);
    for (int J : distinct) {
      EXPECT_GT(std::abs(I - J), 1);
      EXPECT_GE(J, 2);
      EXPECT_LT(J, 100);
    }
  }
  // Another seed draws other blocks; fewer candidates than draws: all of them.
  int a[ir::Mask::kMaxRandomBlocks], b[ir::Mask::kMaxRandomBlocks];
  m.random_blocks(50, a);
  m.seed = 43;
  m.random_blocks(50, b);
  EXPECT_FALSE(std::equal(a, a + 3, b));
  m.keys = 20;  // 5 blocks: candidates of I = 2 are {4} only, of I = 0 {2, 3, 4}
  EXPECT_EQ(m.random_blocks(2, a), 1);
  EXPECT_EQ(a[0], 4);
  EXPECT_EQ(m.random_blocks(0, a), 3);
}

// The candidate count random_blocks computes (window and globals clipped)
// equals a scan: with room for every candidate, all of them come back.
TEST(Mask, BigBirdCandidatesAreCountedExactly) {
  int r[ir::Mask::kMaxRandomBlocks];
  for (int keys : {1, 7, 20, 64, 130})
    for (int global : {0, 1, 2, 5})
      for (int I = 0; I * 4 < keys + 8; ++I) {
        ir::Mask m{ir::MaskKind::BigBird};
        m.block = 4, m.global = global, m.random = ir::Mask::kMaxRandomBlocks, m.keys = keys;
        int want = 0;
        for (int J = 0; J < (keys + 3) / 4; ++J) want += std::abs(I - J) > 1 && J >= global;
        ASSERT_EQ(m.random_blocks(I, r), std::min(want, m.random)) << keys << " " << global << " " << I;
      }
}

// Cost follows the visible pairs: a long band walks a few blocks per query block.
TEST(Mask, BandAndBigBirdWalkFewBlocks) {
  ir::Mask band{ir::MaskKind::Longformer};
  band.window = 16, band.global = 1, band.keys = 16384;
  std::vector<int> blocks;
  band.key_blocks(8192, 8256, 64, blocks);
  EXPECT_LE(blocks.size(), 4u);  // key 0's block, and the band around the queries
  ir::Mask bb{ir::MaskKind::BigBird};
  bb.block = 64, bb.global = 1, bb.random = 2, bb.seed = 1, bb.keys = 16384;
  bb.key_blocks(8192, 8256, 64, blocks);
  EXPECT_EQ(blocks.size(), 6u);  // 3 window + 1 global + 2 random
}

TEST(Normaliser, WeightsHaveTheirDefiningProperties) {
  const double z[6] = {1.0, 3.0, 2.9, -4.0, 0.5, 3.0};
  double w[6];
  for (ir::Normaliser n : {ir::Normaliser::Softmax, ir::Normaliser::Sparsemax, ir::Normaliser::Entmax15,
                           ir::Normaliser::TopK}) {
    ir::normalise(n, z, 6, w, 0, 2);
    double sum = 0;
    for (double x : w) {
      sum += x;
      EXPECT_GE(x, 0);
    }
    EXPECT_NEAR(sum, 1.0, 1e-12) << ir::normaliser_name(n);
  }
  ir::normalise(ir::Normaliser::Sparsemax, z, 6, w, 0, 0);
  EXPECT_EQ(w[3], 0.0);  // exact zeros
  ir::normalise(ir::Normaliser::TopK, z, 6, w, 0, 2);
  EXPECT_GT(w[1], 0);  // the tie 3.0, 3.0: both kept, 2.9 not
  EXPECT_GT(w[5], 0);
  EXPECT_EQ(w[2], 0.0);
  ir::normalise(ir::Normaliser::Sigmoid, z, 6, w, -1.0, 0);
  EXPECT_DOUBLE_EQ(w[1], 1 / (1 + std::exp(-2.0)));  // sigma(3 - 1), not normalised
}

namespace {
// entmax 1.3's sort-based thresholds (sparsemax.py, entmax.py), transcribed
// here on their own: the sort, the running sums, the support count, tau.
std::vector<double> sorted_sparsemax(const std::vector<double>& z) {
  const double m = *std::max_element(z.begin(), z.end());
  std::vector<double> s;
  for (double v : z) s.push_back(v - m);
  std::sort(s.begin(), s.end(), std::greater<double>());
  double cum = 0, tau = 0;
  for (size_t k = 1; k <= s.size(); ++k) {
    cum += s[k - 1];
    if (k * s[k - 1] > cum - 1) tau = (cum - 1) / k;
  }
  std::vector<double> w;
  for (double v : z) w.push_back(std::max(v - m - tau, 0.0));
  return w;
}
std::vector<double> sorted_entmax15(const std::vector<double>& z) {
  const double m = *std::max_element(z.begin(), z.end());
  std::vector<double> s;
  for (double v : z) s.push_back((v - m) / 2);
  std::sort(s.begin(), s.end(), std::greater<double>());
  double sum = 0, sq = 0, tau = 0;
  for (size_t k = 1; k <= s.size(); ++k) {
    sum += s[k - 1], sq += s[k - 1] * s[k - 1];
    const double mean = sum / k, ss = k * (sq / k - mean * mean);
    const double t = mean - std::sqrt(std::max((1 - ss) / k, 0.0));
    if (t <= s[k - 1]) tau = t;
  }
  std::vector<double> w;
  for (double v : z) w.push_back(std::pow(std::max((v - m) / 2 - tau, 0.0), 2));
  return w;
}
}  // namespace

// The thresholds found without a sort (Michelot's passes for sparsemax,
// Newton steps from below for entmax15) against the sorted algorithms:
// narrow and wide spreads, ties, one entry, many; and top-k's selection
// against a stable sort.
TEST(Normaliser, SparseThresholdsWithoutASortMatchTheSortedOnes) {
  std::mt19937 rng(17);
  int cases = 0;
  for (int n : {1, 2, 3, 7, 64, 512, 2000})
    for (double spread : {0.01, 0.3, 1.0, 4.0, 30.0})
      for (int rep = 0; rep < 6; ++rep) {
        std::normal_distribution<double> g(0, spread);
        std::vector<double> z(n), w(n);
        for (double& v : z) v = rep == 5 ? std::round(g(rng)) : g(rng);  // rep 5: many ties
        const std::vector<double> sp = sorted_sparsemax(z), en = sorted_entmax15(z);
        ir::normalise(ir::Normaliser::Sparsemax, z.data(), n, w.data(), 0, 0);
        for (int j = 0; j < n; ++j) {
          EXPECT_EQ(w[j] == 0, sp[j] == 0) << "sparsemax support, n " << n << " spread " << spread;
          EXPECT_NEAR(w[j], sp[j], 1e-12) << "sparsemax n " << n << " spread " << spread;
        }
        // top-k: the first k of a stable sort by logit (ties to the lower
        // index), softmax over them.
        for (int k : {1, 3, 32}) {
          if (k >= n) continue;
          std::vector<int> idx(n);
          for (int j = 0; j < n; ++j) idx[j] = j;
          std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return z[a] > z[b]; });
          std::vector<bool> kept(n, false);
          for (int t = 0; t < k; ++t) kept[idx[t]] = true;
          ir::normalise(ir::Normaliser::TopK, z.data(), n, w.data(), 0, k);
          for (int j = 0; j < n; ++j) EXPECT_EQ(w[j] > 0, kept[j]) << "top " << k << " of " << n << " spread " << spread;
        }
        ir::normalise(ir::Normaliser::Entmax15, z.data(), n, w.data(), 0, 0);
        for (int j = 0; j < n; ++j) {
          EXPECT_EQ(w[j] == 0, en[j] == 0) << "entmax15 support, n " << n << " spread " << spread;
          EXPECT_NEAR(w[j], en[j], 1e-12) << "entmax15 n " << n << " spread " << spread;
        }
        ++cases;
      }
  EXPECT_EQ(cases, 7 * 5 * 6);
}
