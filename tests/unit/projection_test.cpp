// nn.MultiheadAttention with learned weights and biases, as
// ruvector_multi_head_attention runs it: projections through Eigen, the flash
// schedule per head, the output projection; against the torch module in
// float64 (tests/fixtures/projections.txt).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.h"
#include "ir/recipes/sequence.h"
#include "runtime/engine.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/projection.h"

using namespace rvj;

namespace {
struct MhaCase {
  int L, S, E, H;
  std::vector<float> q, k, v, w_in, b_in, w_out, b_out;
  std::vector<double> out;
};

std::vector<MhaCase> cases() {
  std::vector<MhaCase> all;
  std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/projections.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (char& ch : line)
      if (ch == '|') ch = ' ';
    std::istringstream s(line);
    MhaCase c;
    s >> c.L >> c.S >> c.E >> c.H;
    auto read = [&](auto& v, size_t n) {
      v.resize(n);
      for (auto& x : v) s >> x;
    };
    const size_t E = c.E;
    read(c.q, c.L * E), read(c.k, c.S * E), read(c.v, c.S * E), read(c.w_in, 3 * E * E), read(c.b_in, 3 * E);
    read(c.w_out, E * E), read(c.b_out, E), read(c.out, c.L * E);
    if (!s) throw std::runtime_error("malformed projections fixture");
    all.push_back(std::move(c));
  }
  return all;
}
}  // namespace

TEST(Projections, MultiHeadAttentionMatchesTheTorchModule) {
  const auto all = cases();
  ASSERT_GE(all.size(), 5u);
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism("multi_head");
  for (const auto& c : all)
    for (bool jit : {true, false}) {
      const int E = c.E;
      auto rows = [](const std::vector<float>& d, int n, int w) { return test::row_pointers(d, n, w); };
      std::vector<float> qp(c.L * E), kp(c.S * E), vp(c.S * E), att(c.L * E), out(c.L * E);
      auto win = rows(c.w_in, 3 * E, E), wout = rows(c.w_out, E, E);
      runtime::project_rows(rows(c.q, c.L, E).data(), c.L, E, win.data(), E, c.b_in.data(), qp.data());
      runtime::project_rows(rows(c.k, c.S, E).data(), c.S, E, win.data() + E, E, c.b_in.data() + E, kp.data());
      runtime::project_rows(rows(c.v, c.S, E).data(), c.S, E, win.data() + 2 * E, E, c.b_in.data() + 2 * E,
                            vp.data());
      std::vector<double> params = {static_cast<double>(c.H), 64};
      runtime::SequencePlan plan = runtime::plan_sequence(m, params.data(), c.L, c.S, E, E, E);
      runtime::Bound score = runtime::bind_sequence(plan, jit);
      runtime::run_flash_parallel(plan, score, rows(qp, c.L, E).data(), rows(kp, c.S, E).data(),
                                  rows(vp, c.S, E).data(), 0, c.L, att.data(), 1);
      runtime::project_rows(rows(att, c.L, E).data(), c.L, E, wout.data(), E, c.b_out.data(), out.data());
      for (size_t i = 0; i < out.size(); ++i)
        EXPECT_NEAR(out[i], c.out[i], std::max(1e-5 * std::fabs(c.out[i]), 1e-6))
            << "L " << c.L << " S " << c.S << " E " << c.E << " H " << c.H << (jit ? " jit" : " interpreter");
    }
}

TEST(Projections, WithoutBiasIsAPlainProduct) {
  const std::vector<float> x = {1, 2, 3, 4}, w = {1, 0, 0, 1, 2, -1};  // W: 3 rows of 2
  std::vector<float> out(6);
  auto xr = test::row_pointers(x, 2, 2), wr = test::row_pointers(w, 3, 2);
  runtime::project_rows(xr.data(), 2, 2, wr.data(), 3, nullptr, out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 2, 0, 3, 4, 2}));
}
