#include "runtime/schedules/linear.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ir/cancel.h"
#include "ir/feature_map.h"
#include "runtime/simd.h"

namespace rvj::runtime {

namespace {

// The state's f64 arithmetic as fused multiply-add chains in a fixed
// order, vectorised along d_v: every clone gives the same bits.
// The rank-1 updates of n keys (phiT: F rows of the n keys' features,
// value rows v[b]), in key order: S[f][c] = fma(phiT[f][b], v[b][c],
// S[f][c]) for b ascending, z[f] += phiT[f][b]. A row of S stays in L1
// while the block's keys pass, so S is read from memory once per block.
RVJ_CLONES void rank_updates(const double* phiT, const float* const* v, int n, int F, int dv, double* S, double* z) {
  for (int f = 0; f < F; ++f) {
    double* row = S + (size_t)f * dv;
    const double* x = phiT + (size_t)f * n;
    for (int b = 0; b < n; ++b) {
      const float* vb = v[b];
      const double a = x[b];
      for (int c = 0; c < dv; ++c) row[c] = std::fma(a, static_cast<double>(vb[c]), row[c]);
      z[f] += a;
    }
  }
}

// acc[c] = sum over f ascending of phi[f] S[f][c] (one chain per output).
// Blocks of B outputs stay in registers while the rows of S stream past;
// the block size changes no chain.
template <int B>
__attribute__((always_inline)) inline int product_blocks(const double* phi, const double* S, int F, int dv, int c0, double* acc) {
  for (; c0 + B <= dv; c0 += B) {
    double a[B] = {};
    for (int f = 0; f < F; ++f) {
      const double x = phi[f];
      const double* row = S + (size_t)f * dv + c0;
      for (int b = 0; b < B; ++b) a[b] = std::fma(x, row[b], a[b]);
    }
    for (int b = 0; b < B; ++b) acc[c0 + b] = a[b];
  }
  return c0;
}

RVJ_CLONES void state_product(const double* phi, const double* S, int F, int dv, double* acc) {
  int c0 = product_blocks<64>(phi, S, F, dv, 0, acc);
  c0 = product_blocks<16>(phi, S, F, dv, c0, acc);
  for (int c = c0; c < dv; ++c) {
    double a = 0;
    for (int f = 0; f < F; ++f) a = std::fma(phi[f], S[(size_t)f * dv + c], a);
    acc[c] = a;
  }
}

// d[h] = sum over f ascending of phi[h][f] z_h[f], the heads' chains
// interleaved (z_h at stride `step` in the state).
RVJ_CLONES void denominators(const double* phi, const double* z, size_t step, int heads, int F, double* d) {
  for (int h = 0; h < heads; ++h) d[h] = 0;
  for (int f = 0; f < F; ++f)
    for (int h = 0; h < heads; ++h) d[h] = std::fma(phi[(size_t)h * F + f], z[h * step + f], d[h]);
}

size_t head_state(const SequencePlan& p) {
  const size_t F = p.feature_dim();
  return F * p.value_dim + F;
}

// phi of row `pos` of x, head h. cosFormer's M is max(L, S).
void phi(const SequencePlan& p, const float* row, int h, int pos, double* out) {
  ir::feature_map(p.features, row + static_cast<size_t>(h) * p.head_dim, p.head_dim, pos, std::max(p.L, p.S),
                  p.favor_w, p.params.num_features, out);
}
}  // namespace

size_t linear_state_size(const SequencePlan& p) { return head_state(p) * p.heads; }

void linear_init(const SequencePlan& p, double* state) {
  std::fill(state, state + linear_state_size(p), 0.0);
}

size_t favor_weights_size(const SequencePlan& p) {
  return p.features == ir::FeatureMap::Favor ? static_cast<size_t>(p.params.num_features) * p.head_dim : 0;
}

void favor_weights(const SequencePlan& p, double* W) {
  if (p.features == ir::FeatureMap::Favor) ir::favor_weights(p.params.num_features, p.head_dim, static_cast<uint64_t>(p.params.seed), W);
}

void linear_add_keys(const SequencePlan& p, const float* const* k, const float* const* v, int j0, int j1,
                     double* state) {
  // Keys in blocks: the features of a block, then its updates per head.
  constexpr int kBlock = 64;
  const int F = p.feature_dim();
  thread_local std::vector<double> fk, fkT;
  thread_local std::vector<const float*> vh;
  fk.resize(F);
  fkT.resize((size_t)kBlock * F);
  vh.resize(kBlock);
  for (int b0 = j0; b0 < j1; b0 += kBlock) {
    check_cancel();
    const int n = std::min(kBlock, j1 - b0);
    for (int h = 0; h < p.heads; ++h) {
      double* st = state + head_state(p) * h;
      for (int b = 0; b < n; ++b) {
        phi(p, k[b0 + b], h, b0 + b, fk.data());
        for (int f = 0; f < F; ++f) fkT[(size_t)f * n + b] = fk[f];
        vh[b] = v[b0 + b] + static_cast<size_t>(h) * p.value_dim;
      }
      rank_updates(fkT.data(), vh.data(), n, F, p.value_dim, st, st + static_cast<size_t>(F) * p.value_dim);
    }
  }
}

void run_linear(const SequencePlan& p, double eps, const float* const* q, const float* const* k,
                const float* const* v, int q0, int q1, double* state, float* out) {
  const int F = p.feature_dim();
  thread_local std::vector<double> fq, acc, denom;
  fq.resize((size_t)p.heads * F);
  acc.resize(p.value_dim);
  denom.resize(p.heads);
  const size_t step = head_state(p);
  for (int i = q0; i < q1; ++i) {
    check_cancel();
    if (p.causal && i < p.S) linear_add_keys(p, k, v, i, i + 1, state);
    for (int h = 0; h < p.heads; ++h) phi(p, q[i], h, i, &fq[(size_t)h * F]);
    denominators(fq.data(), state + static_cast<size_t>(F) * p.value_dim, step, p.heads, F, denom.data());
    for (int h = 0; h < p.heads; ++h) {
      state_product(&fq[(size_t)h * F], state + step * h, F, p.value_dim, acc.data());
      float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * p.value_dim;
      const double d = denom[h] + eps;
      for (int c = 0; c < p.value_dim; ++c) o[c] = static_cast<float>(acc[c] / d);
    }
  }
}

}  // namespace rvj::runtime
