// The flash tile and single-query kernels: generated code against the
// interpreter's scalar transcription of the same arithmetic (bit for bit, on
// every ISA this host can run), exp32 against libm, and the generated
// assembly per ISA. Their results against torch are in flash_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "codegen/isa.h"
#include "fixtures.h"
#include "codegen/jit.h"
#include "codegen/schedule.h"
#include "ir/errors.h"
#include "ir/exp32.h"
#include "ir/interpreter.h"
#include "ir/limits.h"
#include "ir/printer.h"
#include "ir/recipes/mechanisms.h"

using namespace rvj;

namespace {

// Score programs a tile must handle: the shipped one, one with a parameter,
// a square root and a negation, and one with three reductions (fewer keys
// per register group).
std::vector<ir::Function> score_programs(int d) {
  std::vector<ir::Function> out{ir::build_scaled_dot(d), ir::build_alibi_score(d)};
  {
    ir::Builder b("neg_l2_scaled", d);
    int q = b.input(), k = b.input(), p = b.param();
    b.output(b.mul(p, b.neg(b.sqrt(b.sq_dist(q, k)))));
    out.push_back(b.finish());
  }
  {
    ir::Builder b("cosine_plain", d);
    int q = b.input(), k = b.input();
    int qk = b.dot(q, k), qq = b.sq_norm(q), kk = b.sq_norm(k);
    b.output(b.div(qk, b.sqrt(b.max(b.mul(qq, kk), b.constant(1e-12)))));
    out.push_back(b.finish());
  }
  return out;
}

std::vector<float> random_rows(std::mt19937& gen, size_t n) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(gen);
  return v;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_tiles_match_interpreter(const codegen::Target& target, ir::TileWeights weights) {
  std::mt19937 gen(11);
  // The sigmoid's bias sits after the score's params: -1.25, or 0.7 for a
  // score without params.
  const double params[2] = {0.7, -1.25};
  for (int d : {1, 5, 16, 64, 100})
    for (int dv : {1, 7, 16, 65, ir::kMaxUnrolledHeadDim + 77})  // the last: value groups in a loop
      for (const ir::Function& score : score_programs(d)) {
        if (dv > ir::kMaxUnrolledHeadDim && d != 5) continue;
        const ir::Function fn = ir::tile_kernel(score, dv, ir::KernelKind::Tile, weights);
        const ir::TileShape shape = codegen::tile_shape(fn, target);
        const codegen::Compiled code = codegen::compile(fn, target);
        const int Q = shape.queries;
        // Three masks: holes (vis), bounds only (vis all ones), and every
        // key visible (vis null: the unmasked path; n a multiple of keys).
        for (int n : {1, 3, 37, 64})
          for (int variant = 0; variant < 3; ++variant) {
            const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
            if (variant == 2 && n != nk) continue;
            std::vector<float> qt = random_rows(gen, static_cast<size_t>(d) * Q);
            std::vector<float> keys = random_rows(gen, static_cast<size_t>(n) * d), vals = random_rows(gen, static_cast<size_t>(n) * dv);
            std::vector<const float*> k(nk), v(nk);
            for (int j = 0; j < nk; ++j) k[j] = &keys[static_cast<size_t>(std::min(j, n - 1)) * d], v[j] = &vals[static_cast<size_t>(std::min(j, n - 1)) * dv];
            std::vector<int32_t> lo(Q), hi(Q), qpos(Q), kpos(nk);
            for (int i = 0; i < Q; ++i) {  // a mix of full, partial and empty ranges
              lo[i] = i % 3 == 0 ? 0 : static_cast<int32_t>(gen() % n);
              hi[i] = i % 5 == 4 ? lo[i] : std::min<int32_t>(n, lo[i] + 1 + static_cast<int32_t>(gen() % n));
              if (variant == 2) lo[i] = 0, hi[i] = n;
              qpos[i] = 100 + 3 * i;
            }
            for (int j = 0; j < nk; ++j) kpos[j] = 90 + 2 * j;
            std::vector<uint8_t> vis(static_cast<size_t>(nk) * Q);  // holes, as general masks make
            for (auto& b : vis) b = variant == 1 || gen() % 4 != 0;
            const uint8_t* visp = variant == 2 ? nullptr : vis.data();
            // Two blocks in a row: the second merges into the first's state.
            std::vector<float> m1(Q, -INFINITY), m2(Q, -INFINITY), s1(static_cast<size_t>(nk) * Q), s2(s1.size());
            std::vector<double> l1(Q), l2(Q), o1(static_cast<size_t>(Q) * shape.o_stride), o2(o1.size());
            for (int rep = 0; rep < 2; ++rep) {
              code.tile()(qt.data(), k.data(), v.data(), lo.data(), hi.data(), visp, qpos.data(), kpos.data(),
                          params, s1.data(), m1.data(), l1.data(), o1.data(), n);
              ir::interpret_tile(fn, shape, qt.data(), k.data(), v.data(), lo.data(), hi.data(), visp,
                                 qpos.data(), kpos.data(), params, s2.data(), m2.data(), l2.data(), o2.data(), n);
              for (auto& x : keys) x *= 1.5f;  // different logits for the second block
            }
            for (int i = 0; i < Q; ++i) {
              ASSERT_TRUE(same_bits(m1[i], m2[i])) << score.name << " d " << d << " n " << n << " lane " << i
                                                   << " variant " << variant;
              ASSERT_TRUE(same_bits(l1[i], l2[i])) << score.name << " d " << d << " n " << n << " lane " << i;
              for (int c = 0; c < dv; ++c)
                ASSERT_TRUE(same_bits(o1[i * shape.o_stride + c], o2[i * shape.o_stride + c]))
                    << score.name << " d " << d << " dv " << dv << " n " << n << " lane " << i << " on "
                    << codegen::isa_name(target.isa);
            }
          }
      }
}

void expect_queries_match_interpreter(const codegen::Target& target) {
  std::mt19937 gen(12);
  for (int d : {1, 5, 64, 100, 333})  // 333: more than 4 blocks of partials, the looped reduction
    for (int dv : {1, 7, 16, 65, 200, ir::kMaxUnrolledHeadDim + 77})
      for (const ir::Function& score : score_programs(d)) {
        if (dv > ir::kMaxUnrolledHeadDim && d != 5) continue;
        const ir::Function fn = ir::tile_kernel(score, dv, ir::KernelKind::Query);
        const ir::TileShape shape = ir::query_shape(fn);
        const codegen::Compiled code = codegen::compile(fn, target);
        for (int n : {1, 2, 17, 64}) {
          const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
          std::vector<float> q = random_rows(gen, d);
          // Rows hold other heads' slices before this head's: koff 3, voff 2.
          const int koff = 3, voff = 2, kw = d + koff, vw = dv + voff;
          std::vector<float> keys = random_rows(gen, static_cast<size_t>(n) * kw), vals = random_rows(gen, static_cast<size_t>(n) * vw);
          std::vector<const float*> k(nk), v(nk);
          for (int j = 0; j < nk; ++j) k[j] = &keys[static_cast<size_t>(std::min(j, n - 1)) * kw], v[j] = &vals[static_cast<size_t>(std::min(j, n - 1)) * vw];
          // The kernel writes each key's Position into the slot after the params.
          double params1[2] = {0.7, 0}, params2[2] = {0.7, 0};
          std::vector<int32_t> kpos(nk);
          for (int j = 0; j < nk; ++j) kpos[j] = 7 * j;
          std::vector<uint8_t> vis(nk);
          for (auto& b : vis) b = gen() % 5 != 0;
          vis[0] = 1;
          float m1 = -INFINITY, m2 = -INFINITY;
          double l1 = 0, l2 = 0;
          std::vector<float> s1(nk), s2(nk);
          std::vector<double> o1(shape.o_stride), o2(shape.o_stride);
          for (int rep = 0; rep < 2; ++rep) {
            code.query()(q.data(), k.data(), v.data(), koff, voff, vis.data(), 40, kpos.data(), params1, s1.data(),
                         &m1, &l1, o1.data(), n);
            ir::interpret_query(fn, q.data(), k.data(), v.data(), koff, voff, vis.data(), 40, kpos.data(), params2,
                                s2.data(), &m2, &l2, o2.data(), n);
            for (auto& x : keys) x *= 1.5f;
          }
          ASSERT_TRUE(same_bits(m1, m2)) << score.name << " d " << d << " n " << n << " dv " << dv << " m " << m1 << " vs " << m2;
          ASSERT_TRUE(same_bits(l1, l2)) << score.name << " d " << d << " n " << n;
          for (int c = 0; c < dv; ++c)
            ASSERT_TRUE(same_bits(o1[c], o2[c])) << score.name << " d " << d << " dv " << dv << " n " << n << " c " << c
                                                 << " on " << codegen::isa_name(target.isa);
        }
      }
}

}  // namespace

TEST(TileKernel, BitIdenticalToInterpreterOnEveryRunnableIsa) {
  for (const codegen::Target& t : test::runnable_targets()) expect_tiles_match_interpreter(t, ir::TileWeights::Softmax);
}

// The sigmoid tile (FlashSigmoid): w = sigmoid32(logit + bias) per key, O
// summed unnormalised, m the max logit.
TEST(TileKernel, SigmoidBitIdenticalToInterpreterOnEveryRunnableIsa) {
  for (const codegen::Target& t : test::runnable_targets()) expect_tiles_match_interpreter(t, ir::TileWeights::Sigmoid);
}

// The sigmoid tile's weights against sigmoid in f64, and the ends exact.
TEST(Sigmoid32, CloseToLibmAndExactAtTheEdges) {
  for (float x = -120.0f; x <= 120.0f; x += 0.0371f) {
    const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    const float got = ir::exp_f32::sigmoid32(x);
    EXPECT_LE(std::fabs(got - want), 4e-7 * want + 1e-37) << x;
  }
  EXPECT_EQ(ir::exp_f32::sigmoid32(0.0f), 0.5f);
  EXPECT_EQ(ir::exp_f32::sigmoid32(-0.0f), 0.5f);
  EXPECT_EQ(ir::exp_f32::sigmoid32(INFINITY), 1.0f);
  EXPECT_EQ(ir::exp_f32::sigmoid32(-INFINITY), 0.0f);
  EXPECT_EQ(ir::exp_f32::sigmoid32(200.0f), 1.0f);
  EXPECT_TRUE(std::isnan(ir::exp_f32::sigmoid32(NAN)));
}

TEST(TileKernel, SigmoidWeightsNeedTheTileKind) {
  EXPECT_THROW(ir::tile_kernel(ir::build_scaled_dot(8), 8, ir::KernelKind::Query, ir::TileWeights::Sigmoid), Error);
  const ir::Function fn = ir::tile_kernel(ir::build_scaled_dot(8), 8, ir::KernelKind::Tile, ir::TileWeights::Sigmoid);
  EXPECT_NE(fn.hash(), ir::tile_kernel(ir::build_scaled_dot(8), 8).hash());
  EXPECT_EQ(codegen::kernel_symbol(fn), "rvj_sigmoid_tile_scaled_dot_8x8");
}

TEST(QueryKernel, BitIdenticalToInterpreterOnEveryRunnableIsa) {
  for (const codegen::Target& t : test::runnable_targets()) expect_queries_match_interpreter(t);
}

// The one-query kernel scores exactly as the per-row kernel does.
// Past kMaxUnrolledHeadDim value dims the P.V groups loop: the code (and the
// compile) stays small however wide the head (16000 unrolled was 359 kB of
// code and 5 s of compile).
TEST(TileKernel, WideHeadsLoopInsteadOfUnrolling) {
  const ir::Function wide = ir::tile_kernel(ir::build_scaled_dot(64), ir::kMaxDims);
  const ir::Function narrow = ir::tile_kernel(ir::build_scaled_dot(64), ir::kMaxUnrolledHeadDim + 77);
  const size_t wide_bytes = codegen::compile(wide).object_bytes, narrow_bytes = codegen::compile(narrow).object_bytes;
  EXPECT_LT(wide_bytes, 2 * narrow_bytes) << wide_bytes << " vs " << narrow_bytes;
  const ir::Function wide_query = ir::tile_kernel(ir::build_scaled_dot(64), ir::kMaxDims, ir::KernelKind::Query);
  EXPECT_LT(codegen::compile(wide_query).object_bytes, 64u << 10);
}

TEST(QueryKernel, ScoresAreThePerRowScores) {
  const int d = 37, n = 5;
  std::mt19937 gen(5);
  std::vector<float> q = random_rows(gen, d), keys = random_rows(gen, n * d), vals = random_rows(gen, n);
  const ir::Function row = ir::build_scaled_dot(d);
  const ir::Function fn = ir::tile_kernel(row, 1, ir::KernelKind::Query);
  std::vector<const float*> k(16), v(16);
  for (int j = 0; j < 16; ++j) k[j] = &keys[std::min(j, n - 1) * d], v[j] = &vals[std::min(j, n - 1)];
  std::vector<float> s(16);
  std::vector<uint8_t> vis(16, 1);
  std::vector<int32_t> kpos(16);
  float m = -INFINITY;
  double l = 0, o[16] = {}, prm[1] = {};
  codegen::compile(fn).query()(q.data(), k.data(), v.data(), 0, 0, vis.data(), 0, kpos.data(), prm, s.data(), &m, &l,
                               o, n);
  float best = -INFINITY;
  for (int j = 0; j < n; ++j) {
    const float* in[2] = {q.data(), k[j]};
    double out;
    ir::interpret(row, in, nullptr, &out);
    best = std::max(best, static_cast<float>(out));
  }
  EXPECT_TRUE(same_bits(m, best));
}

// Cephes' expf as written in ir/exp32.h: within 2 ulp of libm on [-87, 0].
TEST(Exp32, CloseToLibmAndExactAtTheEdges) {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -87.0f * static_cast<float>(i) / 200000.0f;
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(ir::exp32(x) - want) / want);
  }
  EXPECT_LE(worst, 2.5e-7);
  EXPECT_EQ(ir::exp32(0.0f), 1.0f);
  EXPECT_EQ(ir::exp32(-INFINITY), 0.0f);
  EXPECT_EQ(ir::exp32(-100.0f), 0.0f);
  EXPECT_TRUE(std::isnan(ir::exp32(NAN)));
}

TEST(TileKernel, ScoresThatCannotBeTiledAreNamed) {
  EXPECT_NE(ir::tile_error(ir::build_poincare(8)), "");
  EXPECT_NE(ir::tile_error(ir::build_cosine(8)), "");  // auxiliary outputs for its zero-vector check
  EXPECT_EQ(ir::tile_error(ir::build_scaled_dot(8)), "");
  ir::Builder b("wide", 8);
  int q = b.input(), k = b.input();
  b.output(b.dot(q, k, ir::Precision::F64));
  try {
    ir::tile_kernel(b.finish(), 8);
    ADD_FAILURE() << "an f64 sum tiled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f64"), std::string::npos) << e.what();
  }
}

TEST(TileKernel, AssemblyPerIsa) {
  const ir::Function tile = ir::tile_kernel(ir::build_scaled_dot(64), 64);
  std::string avx512 = codegen::assembly(tile, codegen::named_target("avx512"));
  EXPECT_NE(avx512.find("vfmadd231ps"), std::string::npos);
  EXPECT_NE(avx512.find("zmm"), std::string::npos);
  std::string avx2 = codegen::assembly(tile, codegen::named_target("avx2"));
  EXPECT_NE(avx2.find("ymm"), std::string::npos);
  EXPECT_EQ(avx2.find("zmm"), std::string::npos);
  std::string neon = codegen::assembly(tile, codegen::named_target("neon"));
  EXPECT_NE(neon.find("fmla\tv"), std::string::npos) << neon.substr(0, 2000);
  std::string query = codegen::assembly(ir::tile_kernel(ir::build_scaled_dot(64), 64, ir::KernelKind::Query),
                                        codegen::named_target("avx512"));
  EXPECT_NE(query.find("zmm"), std::string::npos);
  // The per-row score is inlined: no call left in the key loop.
  EXPECT_EQ(query.find("call"), std::string::npos) << query.substr(0, 3000);
}

TEST(TileKernel, ShapesFollowTheTarget) {
  const ir::Function tile = ir::tile_kernel(ir::build_scaled_dot(64), 65);
  const ir::TileShape a512 = codegen::tile_shape(tile, codegen::named_target("avx512"));
  const ir::TileShape a2 = codegen::tile_shape(tile, codegen::named_target("avx2"));
  EXPECT_EQ(a512.queries, 32);
  EXPECT_EQ(a2.queries, 16);
  EXPECT_EQ(a512.o_stride, 80);
  EXPECT_EQ(a2.o_stride, 72);
  EXPECT_EQ(ir::print(tile).rfind("tile kernel scaled_dot", 0), 0u);
  EXPECT_NE(tile.hash(), ir::build_scaled_dot(64).hash());
}
