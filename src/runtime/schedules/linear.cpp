#include "runtime/schedules/linear.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/cancel.h"
#include "ir/feature_map.h"
#include "runtime/dot_block.h"
#include "runtime/exp_block.h"
#include "runtime/schedules/parallel.h"
#include "runtime/simd.h"

namespace rvj::runtime {

namespace {

// Columns of a head's products: the value_dim values, then a column of ones,
// whose products are z's sums and the denominators.
int out_width(const SequencePlan& p) { return static_cast<int>(panel_docs(p.value_dim + 1)); }
size_t head_state(const SequencePlan& p) {
  const size_t F = p.feature_dim();
  return F * p.value_dim + F;
}
int kv_head(const SequencePlan& p, int h) { return h / (p.heads / p.kv_heads); }

// A thread's buffers, kept between calls.
struct Scratch {
  std::vector<float> phi, xh, wx, u, e, sq, t, values, prod, a, inter, intra;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// exp(u) for any u: exp32(u - t) * e^t with t in {0, 44, 88}, so that
// exp32's argument stays in (-44, 0] for u > 0; past 88 it is infinite,
// which the callers' finiteness checks report. Selects of constants only,
// so the loops vectorise.
RVJ_CLONES void split_exponent(const float* __restrict u, int n, float* __restrict w, float* __restrict k) {
  const float e44 = ir::kExp44, e88 = ir::kExp88, inf = std::numeric_limits<float>::infinity();
  for (int j = 0; j < n; ++j) {
    // Two-way selects, one per statement: nested ones become branches.
    const float x = u[j];
    const float t = (x > 0.0f ? 44.0f : 0.0f) + (x > 44.0f ? 44.0f : 0.0f);  // 0, 44 or 88, exactly
    const float r = x - t;
    w[j] = r > 0.0f ? 0.0f : r;  // NaN stays NaN (exp32 keeps it)
    const float k0 = x > 0.0f ? e44 : 1.0f;
    const float k1 = x > 44.0f ? e88 : k0;
    k[j] = x > 88.0f ? inf : k1;
  }
}
RVJ_CLONES void join_exponent(const float* __restrict e, const float* __restrict k, int n, float scale,
                              float* __restrict out) {
  for (int j = 0; j < n; ++j) out[j] = scale * (e[j] * k[j]);
}
// sq[t] = |x_t|^2 for rows of d floats: one fma chain per row, eight rows'
// chains interleaved (rows: a multiple of 8).
RVJ_CLONES void row_squares(const float* __restrict x, int rows, int d, float* __restrict sq) {
  for (int t0 = 0; t0 < rows; t0 += 8) {
    float acc[8] = {};
    const float* xt = x + static_cast<size_t>(t0) * d;
    for (int i = 0; i < d; ++i)
      for (int r = 0; r < 8; ++r) acc[r] = std::fma(xt[r * d + i], xt[r * d + i], acc[r]);
    for (int r = 0; r < 8; ++r) sq[t0 + r] = acc[r];
  }
}
RVJ_CLONES void negative_part(const float* __restrict x, int n, float* __restrict out) {
  for (int i = 0; i < n; ++i) out[i] = x[i] < 0.0f ? x[i] : 0.0f;
}
// elu(x) + 1: x + 1 where x > 0, else exp(x) (e: exp32 of the negative part).
// As max(x, 0) + (x > 0 ? 1 : e), the same bits: selects of loaded values,
// which vectorise, where a branch on the sign of the features mispredicts
// half the time (GCC will not speculate the add under -ftrapping-math).
RVJ_CLONES void elu_plus_one(const float* __restrict x, const float* __restrict e, int n, float* __restrict out) {
  for (int i = 0; i < n; ++i) {
    const float pos = x[i] > 0.0f ? x[i] : 0.0f, base = x[i] > 0.0f ? 1.0f : e[i];
    out[i] = pos + base;
  }
}
RVJ_CLONES void relu_pair(const float* __restrict x, int d, float c, float sn, float* __restrict out) {
  for (int i = 0; i < d; ++i) {
    const float r = x[i] > 0.0f ? x[i] : 0.0f;
    out[i] = r * c;
    out[d + i] = r * sn;
  }
}

// out[j] = scale * exp(u[j]) in f32, the same bits on every ISA; past
// exp(88) it is infinite, which the callers' finiteness checks report.
void scaled_exp(const float* u, int n, float scale, Scratch& s, float* out) {
  s.e.resize(n);
  s.t.resize(n);
  split_exponent(u, n, s.e.data(), s.t.data());
  exp32_block(s.e.data(), s.e.data(), n);
  join_exponent(s.e.data(), s.t.data(), n, scale, out);
}

// FAVOR+'s phi of rows x[0..n) (head h) into out[t * F + f], f32:
// m^-1/2 exp(W x^ - |x^|^2 / 2), x^ = x d^-1/4, W x^ on the panels wp
// (favor_panels).
void favor_rows(const SequencePlan& p, const float* const* x, int n, int h, const float* wp, Scratch& s, float* out) {
  const int d = p.head_dim, F = p.feature_dim();
  const size_t off = static_cast<size_t>(h) * d;
  const int m = p.params.num_features, wm = static_cast<int>(panel_docs(m));
  const float scale = static_cast<float>(std::pow(static_cast<double>(d), -0.25));
  const float norm = static_cast<float>(1 / std::sqrt(static_cast<double>(m)));
  s.xh.assign(static_cast<size_t>(std::max<int64_t>(query_rows(n), (n + 7) / 8 * 8)) * d, 0.0f);
  s.wx.resize(static_cast<size_t>(query_rows(n)) * wm);
  s.u.resize(m);
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < d; ++i) s.xh[static_cast<size_t>(t) * d + i] = x[t][off + i] * scale;
  p.panel.rows(s.xh.data(), n, d, wp, m, s.wx.data(), wm);
  s.sq.resize(static_cast<size_t>(n) + 8);
  row_squares(s.xh.data(), (n + 7) / 8 * 8, d, s.sq.data());
  for (int t = 0; t < n; ++t) {
    const float half = 0.5f * s.sq[t];
    const float* wt = s.wx.data() + static_cast<size_t>(t) * wm;
    for (int r = 0; r < m; ++r) s.u[r] = wt[r] - half;
    if (p.feature_map)
      p.feature_map(s.u.data(), m, out + static_cast<size_t>(t) * F, &norm);
    else
      scaled_exp(s.u.data(), m, norm, s, out + static_cast<size_t>(t) * F);
  }
}

// Floats past a block of features that the products may read (a block's
// query rows are padded to multiples of kQueryRows).
constexpr int kPad = kQueryRows;

// Rows of features for a block of n rows: query_rows(n) rows of F, padded.
size_t phi_block(const SequencePlan& p, int n) {
  return static_cast<size_t>(query_rows(n)) * p.feature_dim() + kPad;
}

// phi of rows x[0..n) for heads [h0, h1): head h's block (phi_block) at
// out + (h - h0) * phi_block(p, n), zero past row n, f32, as
// ir::feature_map32 (the generated feature kernel, or the hand-written
// loops: without it, elu + 1 takes exp32 of the row's negative part in one
// pass for all the heads); cosFormer's cos and sin depend on the row's
// position (pos0 + t) only.
void phi_heads(const SequencePlan& p, const float* const* x, int pos0, int n, int h0, int h1, const float* wp,
               Scratch& s, float* out) {
  const size_t stride = phi_block(p, n), rows = static_cast<size_t>(n) * p.feature_dim();
  for (int h = h0; h < h1; ++h) std::fill(out + stride * (h - h0) + rows, out + stride * (h - h0 + 1), 0.0f);
  if (p.features == ir::FeatureMap::Favor) {
    for (int h = h0; h < h1; ++h) favor_rows(p, x, n, h, wp, s, out + stride * (h - h0));
    return;
  }
  const int F = p.feature_dim(), d = p.head_dim, span = (h1 - h0) * d;
  const size_t first = static_cast<size_t>(h0) * d;
  const double M = std::max(p.L, p.S);
  s.u.resize(span);
  s.e.resize(span);
  for (int t = 0; t < n; ++t) {
    if (t + 4 < n)  // the rows lie far apart: fetch four rows ahead
      for (int e = 0; e < span; e += 16) __builtin_prefetch(x[t + 4] + first + e);
    const float* xs = x[t] + first;
    float* o = out + static_cast<size_t>(t) * F;
    if (p.features == ir::FeatureMap::EluPlus1 && p.feature_map) {  // one fused pass per head
      for (int g = 0; g < h1 - h0; ++g) p.feature_map(xs + g * d, d, o + stride * g, nullptr);
    } else if (p.features == ir::FeatureMap::EluPlus1) {
      negative_part(xs, span, s.u.data());
      exp32_block(s.u.data(), s.e.data(), span);
      for (int g = 0; g < h1 - h0; ++g) elu_plus_one(xs + g * d, s.e.data() + g * d, d, o + stride * g);
    } else {  // CosFormer
      const double a = M_PI * (pos0 + t) / (2.0 * M);
      const float c[2] = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
      for (int g = 0; g < h1 - h0; ++g) {
        if (p.feature_map)
          p.feature_map(xs + g * d, d, o + stride * g, c);
        else
          relu_pair(xs + g * d, d, c[0], c[1], o + stride * g);
      }
    }
  }
}

// Heads per work item: all of them when the row blocks alone keep the
// threads busy (each row is then read once, whole), fewer otherwise.
int heads_per_item(const SequencePlan& p, int blocks, int threads) {
  if (threads <= 1 || blocks >= 2 * threads) return p.heads;
  const int groups = std::min(p.heads, (2 * threads + blocks - 1) / blocks);
  return (p.heads + groups - 1) / groups;
}

// FAVOR+'s W (p.favor_w, f64) rounded to f32 and packed as m documents of
// head_dim (nothing for the other maps).
size_t favor_panels_size(const SequencePlan& p) {
  return p.features == ir::FeatureMap::Favor ? static_cast<size_t>(panel_docs(p.params.num_features)) * p.head_dim
                                             : 0;
}
void pack_favor(const SequencePlan& p, float* panels) {
  if (p.features != ir::FeatureMap::Favor) return;
  const int m = p.params.num_features, d = p.head_dim;
  std::vector<float> w(static_cast<size_t>(m) * d);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(p.favor_w[i]);
  pack_panels(w.data(), m, d, panels);
}
std::vector<float> favor_panels(const SequencePlan& p) {
  std::vector<float> panels(favor_panels_size(p));
  pack_favor(p, panels.data());
  return panels;
}

// [V | 1] of keys j0..j0+n, head h, packed as documents over `rows` >= n
// key rows (the rows past n zero): V's columns, then the ones column.
void pack_values(const SequencePlan& p, const float* const* v, int j0, int n, int rows, int h, float* out) {
  const int dv = p.value_dim;
  const size_t packed = static_cast<size_t>(panel_docs(dv)) * rows, all = static_cast<size_t>(out_width(p)) * rows;
  pack_row_columns(v + j0, static_cast<size_t>(kv_head(p, h)) * dv, n, dv, rows, out);
  std::fill(out + packed, out + all, 0.0f);  // the ones column's panel, when it is a panel of its own
  float* ones = out + static_cast<size_t>(dv / kPanel) * rows * kPanel + dv % kPanel;
  for (int t = 0; t < n; ++t) ones[static_cast<size_t>(t) * kPanel] = 1.0f;
}

// prod (F rows of out_width) = phi(K)^T [V | 1] for the n keys from j0 whose
// features are phi (n rows of F, then kPad readable floats): one f32 chain
// per element, keys ascending; phi's columns are the products' rows.
void chunk_product(const SequencePlan& p, const float* phi, const float* const* v, int j0, int n, int h, Scratch& s,
                   float* prod) {
  const int F = p.feature_dim(), W = out_width(p);
  s.values.resize(static_cast<size_t>(W) * n);
  pack_values(p, v, j0, n, n, h, s.values.data());
  p.panel.columns(phi, F, F, n, s.values.data(), p.value_dim + 1, prod, W);
}

// The state of head h += a chunk's product, in f64.
RVJ_CLONES void add_row(const float* __restrict r, int n, double* __restrict row) {
  for (int c = 0; c < n; ++c) row[c] += static_cast<double>(r[c]);
}

void add_product(const SequencePlan& p, const float* prod, int h, double* state) {
  const int F = p.feature_dim(), dv = p.value_dim, W = out_width(p);
  double* S = state + head_state(p) * h;
  double* z = S + static_cast<size_t>(F) * dv;
  for (int f = 0; f < F; ++f) {
    const float* r = prod + static_cast<size_t>(f) * W;
    add_row(r, dv, S + static_cast<size_t>(f) * dv);
    z[f] += r[dv];
  }
}

// Head h's (S | z) rounded to f32, packed as out_width documents over F.
void pack_head(const SequencePlan& p, const double* state, int h, float* out) {
  const int F = p.feature_dim(), dv = p.value_dim, W = out_width(p);
  const double* S = state + head_state(p) * h;
  const double* z = S + static_cast<size_t>(F) * dv;
  for (int c0 = 0; c0 < W; c0 += kPanel) {
    float* panel = out + static_cast<size_t>(c0 / kPanel) * F * kPanel;
    const int have = std::clamp(dv - c0, 0, kPanel);  // S's columns in this panel
    for (int f = 0; f < F; ++f) {
      float* r = panel + static_cast<size_t>(f) * kPanel;
      const double* row = S + static_cast<size_t>(f) * dv + c0;
      for (int l = 0; l < have; ++l) r[l] = static_cast<float>(row[l]);
      for (int l = have; l < kPanel; ++l) r[l] = 0.0f;
      if (dv >= c0 && dv < c0 + kPanel) r[dv - c0] = static_cast<float>(z[f]);
    }
  }
}

// o[c] = (r[c] (+ x[c])) * (1 / den) in f64, rounded once to f32.
RVJ_CLONES void divide_row(const float* __restrict r, int dv, double inv, float* __restrict o) {
  for (int c = 0; c < dv; ++c) o[c] = static_cast<float>(static_cast<double>(r[c]) * inv);
}
RVJ_CLONES void divide_rows(const float* __restrict r, const float* __restrict x, int dv, double inv,
                            float* __restrict o) {
  for (int c = 0; c < dv; ++c) o[c] = static_cast<float>((static_cast<double>(r[c]) + static_cast<double>(x[c])) * inv);
}

// out row i (out + i * ld), head h = num / (den + eps), from the product
// columns (f64).
void finish_rows(const SequencePlan& p, double eps, const float* num, const float* extra, int n, int h, float* out,
                 int64_t ld) {
  const int dv = p.value_dim, W = out_width(p);
  for (int i = 0; i < n; ++i) {
    const float* r = num + static_cast<size_t>(i) * W;
    const float* x = extra ? extra + static_cast<size_t>(i) * W : nullptr;
    const double den = static_cast<double>(r[dv]) + (x ? static_cast<double>(x[dv]) : 0.0) + eps;
    float* o = out + static_cast<size_t>(i) * ld + static_cast<size_t>(h) * dv;
    if (x)
      divide_rows(r, x, dv, 1 / den, o);
    else
      divide_row(r, dv, 1 / den, o);
  }
}

size_t packed_head(const SequencePlan& p) { return static_cast<size_t>(out_width(p)) * p.feature_dim(); }

// Queries q[0..n) (n <= kLinearChunk; positions pos0 + i), heads [h0, h1),
// against the packed state (packed_head floats per head).
void query_group(const SequencePlan& p, double eps, const float* packed, const float* wp, const float* const* q,
                 int pos0, int n, int h0, int h1, float* out, int64_t ld) {
  Scratch& s = scratch();
  const int F = p.feature_dim(), W = out_width(p);
  s.phi.resize(phi_block(p, n) * (h1 - h0));
  phi_heads(p, q, pos0, n, h0, h1, wp, s, s.phi.data());
  s.inter.resize(static_cast<size_t>(query_rows(n)) * W);
  for (int h = h0; h < h1; ++h) {
    p.panel.rows(s.phi.data() + phi_block(p, n) * (h - h0), n, F, packed + packed_head(p) * h, p.value_dim + 1,
               s.inter.data(), W);
    finish_rows(p, eps, s.inter.data(), nullptr, n, h, out, ld);
  }
}

// The causal form, heads [h0, h1), queries [q0, q1) in chunks: each chunk's
// queries see the state of the keys before it (one product) and, within the
// chunk, the keys up to their own position (the masked product times
// [V | 1]); then the chunk's keys join the state.
void causal_group(const SequencePlan& p, double eps, const float* wp, const float* const* q, const float* const* k,
                  const float* const* v, int q0, int q1, int h0, int h1, double* state, float* out, int64_t ld) {
  Scratch& s = scratch();
  const int F = p.feature_dim(), W = out_width(p);
  std::vector<float> phik, panels_k, packed(packed_head(p));
  for (int c0 = q0; c0 < q1; c0 += kLinearChunk) {
    check_cancel();
    const int n = std::min(kLinearChunk, q1 - c0), nk = std::clamp(std::min(c0 + n, p.S) - c0, 0, n);
    s.phi.resize(phi_block(p, n) * (h1 - h0));
    phi_heads(p, q + c0, c0, n, h0, h1, wp, s, s.phi.data());
    if (nk > 0) {
      phik.resize(phi_block(p, nk) * (h1 - h0));
      phi_heads(p, k + c0, c0, nk, h0, h1, wp, s, phik.data());
    }
    float* o = out + static_cast<size_t>(c0 - q0) * ld;
    for (int h = h0; h < h1; ++h) {
      const float* phq = s.phi.data() + phi_block(p, n) * (h - h0);
      pack_head(p, state, h, packed.data());
      s.inter.resize(static_cast<size_t>(query_rows(n)) * W);
      p.panel.rows(phq, n, F, packed.data(), p.value_dim + 1, s.inter.data(), W);
      if (nk == 0) {
        finish_rows(p, eps, s.inter.data(), nullptr, n, h, o, ld);
        continue;
      }
      const float* phk = phik.data() + phi_block(p, nk) * (h - h0);
      const int WK = static_cast<int>(panel_docs(nk));
      panels_k.resize(static_cast<size_t>(WK) * F);
      pack_panels(phk, nk, F, panels_k.data());
      // A = phi(Q_c) phi(K_c)^T, keys past each query's position zeroed
      // (and the columns past nk, which the products leave as scratch).
      s.a.resize(static_cast<size_t>(query_rows(n)) * WK);
      p.panel.rows(phq, n, F, panels_k.data(), nk, s.a.data(), WK);
      for (int i = 0; i < n; ++i)
        for (int j = std::min(i + 1, nk); j < WK; ++j) s.a[static_cast<size_t>(i) * WK + j] = 0.0f;
      s.values.resize(static_cast<size_t>(W) * WK);
      pack_values(p, v, c0, nk, WK, h, s.values.data());
      s.intra.resize(static_cast<size_t>(query_rows(n)) * W);
      p.panel.rows(s.a.data(), n, WK, s.values.data(), p.value_dim + 1, s.intra.data(), W);
      finish_rows(p, eps, s.inter.data(), s.intra.data(), n, h, o, ld);
      s.prod.resize(static_cast<size_t>(query_rows(F)) * W);
      if (nk == WK)  // the values packed above are the chunk product's
        p.panel.columns(phk, F, F, nk, s.values.data(), p.value_dim + 1, s.prod.data(), W);
      else
        chunk_product(p, phk, v, c0, nk, h, s, s.prod.data());
      add_product(p, s.prod.data(), h, state);
    }
  }
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

int linear_step_rows(const SequencePlan& p, int threads) {
  // Per row: its features (FAVOR+: a product over head_dim) and its share
  // of the products with the state, for every head.
  const int64_t F = p.feature_dim();
  const int64_t per_row = static_cast<int64_t>(p.heads) *
                          (F * (out_width(p) + (p.features == ir::FeatureMap::Favor ? p.head_dim : 1)) +
                           (p.causal ? 2 * kLinearChunk * (F + out_width(p)) : 0));
  const int64_t chunks = std::clamp<int64_t>(ir::kStepWork / std::max<int64_t>(per_row * kLinearChunk, 1), 1, 1 << 12);
  return static_cast<int>(std::min<int64_t>(chunks * kLinearChunk * std::max(threads, 1), ir::kMaxLength / 2));
}

// Chunks whose products linear_add_keys keeps at a time.
int product_chunks(int threads) { return 16 * std::max(threads, 1); }

size_t linear_work_memory(const SequencePlan& p, int threads) {
  const size_t F = p.feature_dim(), W = out_width(p);
  const size_t C = std::min(kLinearChunk, std::max(std::max(p.L, p.S), 1)), Cp = query_rows(C), Fp = query_rows(F);
  const size_t m = p.features == ir::FeatureMap::Favor ? p.params.num_features : 0;
  const size_t mp = m ? panel_docs(m) : 0;
  const size_t heads = p.heads;
  // Per thread: a block's features for its heads (and the keys', causal),
  // FAVOR+'s x^, W x^ and exponents, values, a chunk's products; the causal
  // form adds its masked block, keys' panels, partial outputs and a packed
  // head.
  const size_t blocks = p.causal ? 2 : 1, P = panel_docs(C);
  size_t per_thread = blocks * heads * (Cp * F + kPad) + (Cp + 8) * p.head_dim + Cp * mp + 3 * mp + W * P + Fp * W +
                      Cp * W;
  if (p.causal) per_thread += Cp * P + P * F + Cp * W + F * W;
  // Shared: W's panels, the packed state, the chunk products kept at a time
  // (only with fewer heads than threads: linear_add_keys).
  const size_t chunks = p.heads >= threads ? 0
                        : std::min<size_t>(product_chunks(threads), (std::max(p.S, 1) + kLinearChunk - 1) / kLinearChunk);
  const size_t shared = mp * p.head_dim + heads * F * W + chunks * heads * Fp * W;
  return sizeof(float) * (per_thread * std::max(threads, 1) + shared);
}

void linear_add_keys(const SequencePlan& p, const float* const* k, const float* const* v, int j0, int j1,
                     double* state, int threads) {
  if (j1 <= j0) return;
  const std::vector<float> wp = favor_panels(p);
  const int F = p.feature_dim(), W = out_width(p);
  const size_t prod_size = static_cast<size_t>(query_rows(F)) * W;
  if (p.heads >= threads) {
    // A thread per group of heads, through the chunks in order: each
    // chunk's product goes into the state while it is warm.
    const int groups = std::max(1, std::min(p.heads, threads)), hg = (p.heads + groups - 1) / groups;
    parallel_for_blocks(groups, threads, [&](int g) {
      const int h0 = g * hg, h1 = std::min(p.heads, h0 + hg);
      Scratch& s = scratch();
      s.prod.resize(prod_size);
      for (int c0 = j0; c0 < j1 && h0 < h1; c0 += kLinearChunk) {
        check_cancel();
        const int n = std::min(kLinearChunk, j1 - c0);
        s.phi.resize(phi_block(p, n) * (h1 - h0));
        phi_heads(p, k + c0, c0, n, h0, h1, wp.data(), s, s.phi.data());
        for (int h = h0; h < h1; ++h) {
          chunk_product(p, s.phi.data() + phi_block(p, n) * (h - h0), v, c0, n, h, s, s.prod.data());
          add_product(p, s.prod.data(), h, state);
        }
      }
    });
    return;
  }
  // Fewer heads than threads: chunks in groups, their products on the
  // threads, (head, chunk) a piece, then added to the state in chunk order.
  const int group_chunks = product_chunks(threads);
  std::vector<float> prods;
  for (int g0 = j0; g0 < j1; g0 += group_chunks * kLinearChunk) {
    const int g1 = std::min(j1, g0 + group_chunks * kLinearChunk);
    const int chunks = (g1 - g0 + kLinearChunk - 1) / kLinearChunk;
    prods.resize(prod_size * chunks * p.heads);
    const int hg = heads_per_item(p, chunks, threads), groups = (p.heads + hg - 1) / hg;
    parallel_for_blocks(chunks * groups, threads, [&](int item) {
      check_cancel();
      const int c = item / groups, h0 = item % groups * hg, h1 = std::min(p.heads, h0 + hg);
      const int c0 = g0 + c * kLinearChunk, n = std::min(kLinearChunk, g1 - c0);
      Scratch& s = scratch();
      s.phi.resize(phi_block(p, n) * (h1 - h0));
      phi_heads(p, k + c0, c0, n, h0, h1, wp.data(), s, s.phi.data());
      for (int h = h0; h < h1; ++h)
        chunk_product(p, s.phi.data() + phi_block(p, n) * (h - h0), v, c0, n, h, s,
                      prods.data() + prod_size * (static_cast<size_t>(c) * p.heads + h));
    });
    parallel_for_blocks(p.heads, threads, [&](int h) {
      for (int c = 0; c < chunks; ++c) add_product(p, prods.data() + prod_size * (c * p.heads + h), h, state);
    });
  }
}

size_t linear_query_size(const SequencePlan& p) { return packed_head(p) * p.heads + favor_panels_size(p); }

void linear_pack_state(const SequencePlan& p, const double* state, float* packed) {
  for (int h = 0; h < p.heads; ++h) pack_head(p, state, h, packed + packed_head(p) * h);
  pack_favor(p, packed + packed_head(p) * p.heads);
}

void linear_query(const SequencePlan& p, double eps, const float* packed, const float* const* q, int q0, int q1,
                  float* out, int64_t ld, int threads) {
  if (q1 <= q0) return;
  const float* wp = packed + packed_head(p) * p.heads;
  const int blocks = (q1 - q0 + kLinearChunk - 1) / kLinearChunk;
  const int hg = heads_per_item(p, blocks, threads), groups = (p.heads + hg - 1) / hg;
  parallel_for_blocks(blocks * groups, threads, [&](int item) {
    check_cancel();
    const int i0 = q0 + item / groups * kLinearChunk, h0 = item % groups * hg;
    query_group(p, eps, packed, wp, q + i0, i0, std::min(kLinearChunk, q1 - i0), h0, std::min(p.heads, h0 + hg),
                out + static_cast<size_t>(i0 - q0) * ld, ld);
  });
}

void run_linear(const SequencePlan& p, double eps, const float* const* q, const float* const* k,
                const float* const* v, int q0, int q1, double* state, float* out, int64_t ld, int threads) {
  if (q1 <= q0) return;
  if (p.causal) {
    const std::vector<float> wp = favor_panels(p);
    const int hg = heads_per_item(p, 1, threads), groups = (p.heads + hg - 1) / hg;
    parallel_for_blocks(groups, threads, [&](int g) {
      causal_group(p, eps, wp.data(), q, k, v, q0, q1, g * hg, std::min(p.heads, (g + 1) * hg), state, out, ld);
    });
    return;
  }
  std::vector<float> packed(linear_query_size(p));
  linear_pack_state(p, state, packed.data());
  linear_query(p, eps, packed.data(), q, q0, q1, out, ld, threads);
}

}  // namespace rvj::runtime
