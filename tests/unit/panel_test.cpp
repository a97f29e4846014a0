// The linear schedule's generated kernels. The panel product kernel
// (codegen's Panel kind): generated code on every ISA this host runs against
// the documented arithmetic (one f32 fma chain per product, elements
// ascending), in both operand layouts, and against runtime/dot_block's
// hand-written products; which programs it accepts. The feature map kernels
// (Features kind) against ir::feature_map32, and that against the maps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codegen/isa.h"
#include "fixtures.h"
#include "codegen/jit.h"
#include "codegen/schedule.h"
#include "ir/errors.h"
#include "ir/feature_map.h"
#include "ir/printer.h"
#include "ir/recipes/mechanisms.h"
#include "runtime/dot_block.h"

using namespace rvj;

namespace {

std::vector<float> random_rows(int n, int dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n) * dims);
  for (float& v : x) v = normal(rng);
  return x;
}

ir::Function panel_ir() { return ir::panel_kernel(ir::find_mechanism("feature_dot")->build(1)); }

}  // namespace

TEST(PanelKernel, OneFmaChainPerProductOnEveryRunnableIsa) {
  const ir::Function fn = panel_ir();
  for (const codegen::Target& target : test::runnable_targets()) {
    const codegen::Compiled code = codegen::compile(fn, target);
    const codegen::PanelFn panel = code.panel();
    // Lengths across a pass (kPanelChunk), widths across every block width
    // and the single-row tails, rows across the row blocks.
    for (int n : {1, 7, 64, 95, 96, 97, 200}) {
      for (int nd : {1, 8, 13, 16, 33, 65, 80, 81, 129, 240}) {
        for (int nq : {1, 3, 4, 5, 9}) {
          const auto q = random_rows(nq, n, 1 + n + nq);
          const auto d = random_rows(nd, n, 2 + n + nd);
          const int64_t width = runtime::panel_docs(nd), ld = width + 3;
          std::vector<float> panels(static_cast<size_t>(width) * n);
          runtime::pack_panels(d.data(), nd, n, panels.data());
          std::vector<float> qt(static_cast<size_t>(n) * nq);  // the rows as columns
          for (int i = 0; i < nq; ++i)
            for (int t = 0; t < n; ++t) qt[static_cast<size_t>(t) * nq + i] = q[static_cast<size_t>(i) * n + t];
          // One guard row past the last and guard columns past the width.
          std::vector<float> out(static_cast<size_t>(nq + 1) * ld, -1.0f), cols(out.size(), -1.0f);
          panel(q.data(), n, 1, nq, panels.data(), nd, out.data(), ld, n);
          panel(qt.data(), 1, nq, nq, panels.data(), nd, cols.data(), ld, n);
          const std::string where = std::string(codegen::isa_name(target.isa)) + " n " + std::to_string(n) +
                                    " nd " + std::to_string(nd) + " nq " + std::to_string(nq);
          for (int i = 0; i <= nq; ++i)
            for (int64_t j = i == nq ? 0 : width; j < ld; ++j) {
              ASSERT_EQ(out[static_cast<size_t>(i) * ld + j], -1.0f) << "written outside: " << where;
              ASSERT_EQ(cols[static_cast<size_t>(i) * ld + j], -1.0f) << "written outside: " << where;
            }
          for (int i = 0; i < nq; ++i)
            for (int j = 0; j < nd; ++j) {
              float want = 0;
              for (int t = 0; t < n; ++t)
                want = std::fma(q[static_cast<size_t>(i) * n + t], d[static_cast<size_t>(j) * n + t], want);
              ASSERT_EQ(out[static_cast<size_t>(i) * ld + j], want) << where;
              ASSERT_EQ(cols[static_cast<size_t>(i) * ld + j], want) << "columns: " << where;
            }
        }
      }
    }
  }
}

// The runtime's two paths (the generated kernel, the hand-written products
// without the JIT) write the same bits.
TEST(PanelKernel, GeneratedEqualsHandWritten) {
  const codegen::Compiled code = codegen::compile(panel_ir());
  const runtime::PanelKernel jit{code.panel()}, hand{};
  const int nq = 11, n = 130, nd = 70;
  auto q = random_rows(runtime::query_rows(nq), n, 3);
  const auto d = random_rows(nd, n, 4);
  std::vector<float> panels(static_cast<size_t>(runtime::panel_docs(nd)) * n);
  runtime::pack_panels(d.data(), nd, n, panels.data());
  const int64_t ld = runtime::panel_docs(nd);
  std::vector<float> a(static_cast<size_t>(runtime::query_rows(nq)) * ld), b(a.size());
  jit.rows(q.data(), nq, n, panels.data(), nd, a.data(), ld);
  hand.rows(q.data(), nq, n, panels.data(), nd, b.data(), ld);
  for (int i = 0; i < nq; ++i)
    for (int j = 0; j < nd; ++j) ASSERT_EQ(a[static_cast<size_t>(i) * ld + j], b[static_cast<size_t>(i) * ld + j]);
}

TEST(PanelKernel, OnlyABareDotProduct) {
  EXPECT_EQ(ir::panel_error(ir::find_mechanism("feature_dot")->build(8)), "");
  for (const char* other : {"scaled_dot", "cosine", "l2_distance", "negative_inner_product"})
    EXPECT_THROW(ir::panel_kernel(ir::find_mechanism(other)->build(8)), Error) << other;
  const ir::Function fn = panel_ir();
  EXPECT_EQ(fn.dims, 0);
  EXPECT_NE(ir::print(fn).find("panel kernel feature_dot"), std::string::npos);
  EXPECT_EQ(codegen::kernel_symbol(fn), "rvj_panel_feature_dot");
}

// The blocks explain describes are the ones the assembly has: on AVX2, a
// block's 12 fmas per element on ymm registers.
TEST(PanelKernel, Avx2AssemblyHasTheRegisterBlock) {
  const std::string s = codegen::assembly(panel_ir(), codegen::named_target("avx2"));
  EXPECT_NE(s.find("vfmadd231ps\t%ymm"), std::string::npos);
  EXPECT_NE(s.find("vbroadcastss"), std::string::npos);
  EXPECT_NE(codegen::describe_panel(codegen::named_target("avx2")).find("4 rows x 24 columns"), std::string::npos);
  EXPECT_NE(codegen::describe_panel(codegen::named_target("avx512")).find("4 rows x 80 columns"), std::string::npos);
}

// The feature map kernels (codegen's Features kind) on every runnable ISA
// against ir::feature_map32, bit for bit, at lengths with and without a
// vector tail and at the maps' edges (0, -0, exp32's floor, FAVOR+'s 44
// and 88 splits, past e^88: infinite).
TEST(FeatureKernel, Feature_map32sBitsOnEveryRunnableIsa) {
  const ir::Function dot = ir::find_mechanism("feature_dot")->build(1);
  std::vector<float> x = random_rows(1, 300, 9);
  for (float& v : x) v *= 30.0f;
  const float edges[] = {0.0f, -0.0f, -87.0f, -87.5f, -200.0f, 43.9f, 44.0f, 44.1f, 88.0f, 88.1f, 1e-30f, -1e-30f};
  std::copy(std::begin(edges), std::end(edges), x.begin() + 3);
  for (const codegen::Target& target : test::runnable_targets())
    for (ir::FeatureMap f : {ir::FeatureMap::EluPlus1, ir::FeatureMap::CosFormer, ir::FeatureMap::Favor}) {
      const codegen::Compiled code = codegen::compile(ir::feature_kernel(dot, f), target);
      const float c[2] = {f == ir::FeatureMap::Favor ? 0.125f : 0.3f, 0.95f};
      for (int n : {1, 5, 16, 17, 64, 100, 300}) {
        std::vector<float> got(2 * static_cast<size_t>(n) + 1, -1.0f), want(got.size(), -1.0f);
        code.features()(x.data(), n, got.data(), c);
        ir::feature_map32(f, x.data(), n, want.data(), c);
        const size_t written = f == ir::FeatureMap::CosFormer ? 2 * static_cast<size_t>(n) : n;
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
              << codegen::isa_name(target.isa) << " " << ir::feature_map_name(f) << " n " << n << " element " << i
              << (i < written ? "" : " (past the row)") << ": " << got[i] << " vs " << want[i];
      }
    }
}

// feature_map32 against the maps' definitions in f64 (libm's exp).
TEST(FeatureKernel, Feature_map32IsTheMap) {
  std::vector<float> x = random_rows(1, 2000, 10);
  for (float& v : x) v *= 20.0f;
  std::vector<float> out(2 * x.size());
  ir::feature_map32(ir::FeatureMap::EluPlus1, x.data(), static_cast<int64_t>(x.size()), out.data(), nullptr);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = x[i] > 0 ? x[i] + 1.0 : std::exp(static_cast<double>(x[i]));
    ASSERT_NEAR(out[i], want, 2e-7 * std::max(1.0, want)) << x[i];
  }
  const float c[1] = {0.5f};
  ir::feature_map32(ir::FeatureMap::Favor, x.data(), static_cast<int64_t>(x.size()), out.data(), c);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = 0.5 * std::exp(static_cast<double>(x[i]));
    // x - t rounds to f32 (half an ulp of up to 88: 4e-6 of the argument)
    if (x[i] > -85) {
      ASSERT_NEAR(out[i] / want, 1.0, 5e-6) << x[i];
    }
  }
  const float cs[2] = {0.6f, 0.8f};
  ir::feature_map32(ir::FeatureMap::CosFormer, x.data(), 10, out.data(), cs);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(out[i], std::max(x[i], 0.0f) * 0.6f);
    EXPECT_EQ(out[10 + i], std::max(x[i], 0.0f) * 0.8f);
  }
}
