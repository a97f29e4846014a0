// The row drivers: scores that run on the per-row kernel (f64 sums, input
// checks), folded by the online softmax in f64, and the normalisers other
// than the softmax, which need a query's whole row of logits.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "ir/midpoint.h"
#include "runtime/dot_block.h"
#include "runtime/online_softmax.h"
#include "runtime/rescue.h"
#include "runtime/schedules/steps.h"
#include "runtime/simd.h"

namespace rvj::runtime::flash {

// The softmax with the per-row kernel (scores that keep f64 sums or check
// their inputs): the online softmax in f64, per query. With `midpoint` the
// values are the midpoint's terms (gamma v, gamma - 1), and the output is the
// weighted gyromidpoint of the values (the softmax's rescaling cancels in it).
void run_rows(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
              const float* const* v, int q0, int q1, float* out) {
  const int group = p.heads / p.kv_heads, dvh = p.value_dim, width = p.params.midpoint ? dvh + 1 : dvh;
  HeadParams params(p, score);
  std::vector<int> blocks, keys(p.block);
  std::vector<double> logits(p.block), acc(width), terms(width), mid(dvh);
  std::vector<float> tv(p.params.midpoint ? static_cast<size_t>(p.block) * width : 0);
  std::vector<const float*> vrows(p.block);
  for (int i = q0; i < q1; ++i) {
    p.mask.key_blocks(i, i + 1, p.block, blocks);
    for (int h = 0; h < p.heads; ++h) {
      SoftmaxState st;
      softmax_init(st, acc.data(), width);
      double* prm = params.for_head(p, h);
      const float* qh = q[i] + static_cast<size_t>(h) * p.head_dim;
      for (int k0 : blocks) {
        check_cancel();
        int n = 0;
        for (int j = std::max(k0, p.first_key(i)); j < std::min(k0 + p.block, p.last_key(i) + 1); ++j)
          if (p.mask.visible(i, j)) {
            prm[score.kernel->mechanism->params.size()] = j - i;
            logits[n] = run_with_params(score, prm, qh, k[j] + static_cast<size_t>(h / group) * p.head_dim,
                                        p.score_vector);
            vrows[n] = v[j] + static_cast<size_t>(h / group) * dvh;
            if (p.params.midpoint) {
              if (!ir::poincare_midpoint_terms(vrows[n], dvh, p.params.curvature, terms.data()))
                throw Error(ErrorKind::DataException,
                            "value " + std::to_string(j + 1) + " is not inside the Poincare ball of curvature -c",
                            "With midpoint, values are points of the ball: c |v|^2 < 1 for each head's slice.");
              float* t = tv.data() + static_cast<size_t>(n) * width;
              for (int c = 0; c < width; ++c) t[c] = static_cast<float>(terms[c]);
              vrows[n] = t;
            }
            ++n;
          }
        softmax_add_block(st, acc.data(), width, logits.data(), vrows.data(), n);
      }
      // A query that sees no key gets zeros (torch >= 2.5).
      float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dvh;
      check_not_overflowed(p, i, st.l);
      if (st.l == 0) {
        std::fill(o, o + dvh, 0.0f);
      } else if (p.params.midpoint) {
        ir::poincare_midpoint_finish(acc.data(), dvh, p.params.curvature, mid.data());
        for (int c = 0; c < dvh; ++c) o[c] = static_cast<float>(mid[c]);
      } else {
        softmax_finish(st, acc.data(), dvh, o);
      }
    }
  }
}

namespace {

// acc += w v (f64; a multiply, then an add, per element in every clone).
RVJ_CLONES void add_weighted(double w, const float* v, int n, double* acc) {
  for (int c = 0; c < n; ++c) acc[c] += w * static_cast<double>(v[c]);
}

// l[j] = d[j] * scale in f64 (one rounding of the product, every clone).
RVJ_CLONES void scale_row(const float* d, int n, double scale, double* l) {
  for (int j = 0; j < n; ++j) l[j] = static_cast<double>(d[j]) * scale;
}

// The logits of queries [q0, q1) for head h, all S keys, for scores that are
// plain scaled dot products (scaled_dot, no ALiBi): packed-panel products
// (dot_block.h: one fma chain per product, the same bits on every ISA) times
// 1/sqrt(head_dim); a pair with a tiny row takes the per-row kernel. Row i of
// `logits` starts at (i - q0) * ld.
void blocked_logits(const SequencePlan& p, const Bound& score, double* prm, const float* const* q,
                    const float* const* k, int q0, int q1, int h, std::vector<float>& scratch, double* logits,
                    int64_t ld) {
  const int hd = p.head_dim, n = q1 - q0, S = p.S, group = p.heads / p.kv_heads;
  const size_t kv_off = static_cast<size_t>(h / group) * hd, q_off = static_cast<size_t>(h) * hd;
  const int64_t width = panel_docs(S), rows = query_rows(n);
  scratch.resize((size_t)width * hd + (size_t)S * hd + (size_t)rows * hd + (size_t)rows * width);
  float* panels = scratch.data();
  float* keys = panels + (size_t)width * hd;
  float* qs = keys + (size_t)S * hd;
  float* dots = qs + (size_t)rows * hd;
  std::vector<uint8_t> key_plain(S), query_plain(n);
  for (int j = 0; j < S; ++j) {
    std::copy(k[j] + kv_off, k[j] + kv_off + hd, keys + (size_t)j * hd);
    key_plain[j] = rescue_free(k[j] + kv_off, hd);
  }
  pack_panels(keys, S, hd, panels);
  std::fill(qs, qs + (size_t)rows * hd, 0.0f);
  for (int i = 0; i < n; ++i) {
    std::copy(q[q0 + i] + q_off, q[q0 + i] + q_off + hd, qs + (size_t)i * hd);
    query_plain[i] = rescue_free(q[q0 + i] + q_off, hd);
  }
  check_cancel();
  dot_panels(qs, n, hd, panels, S, dots, width);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  std::vector<int> rescued;  // the keys a tiny entry sends to the per-row kernel
  for (int j = 0; j < S; ++j)
    if (!key_plain[j]) rescued.push_back(j);
  for (int i = 0; i < n; ++i) {
    double* l = logits + (size_t)i * ld;
    scale_row(dots + (size_t)i * width, S, scale, l);
    if (!query_plain[i])
      for (int j = 0; j < S; ++j) l[j] = run_with_params(score, prm, q[q0 + i] + q_off, k[j] + kv_off, p.score_vector);
    else
      for (int j : rescued) l[j] = run_with_params(score, prm, q[q0 + i] + q_off, k[j] + kv_off, p.score_vector);
  }
}

// out rows [0, n), head h = W V for a block's f32 weights (query_rows(n)
// rows of S, zero past n) as packed-panel products (dot_block.h: one fma
// chain per output over the keys in order), the head's values packed once.
void weighted_values(const SequencePlan& p, const float* w, const float* const* v, int n, int h,
                     std::vector<float>& scratch, float* out) {
  const int S = p.S, dvh = p.value_dim, group = p.heads / p.kv_heads;
  const int64_t width = panel_docs(dvh);
  scratch.resize((size_t)width * S + (size_t)query_rows(n) * width);
  float* panels = scratch.data();
  float* o = panels + (size_t)width * S;
  pack_row_columns(v, static_cast<size_t>(h / group) * dvh, S, dvh, S, panels);
  check_cancel();
  dot_panels(w, n, S, panels, dvh, o, width);
  for (int i = 0; i < n; ++i)
    std::copy(o + (size_t)i * width, o + (size_t)i * width + dvh,
              out + static_cast<size_t>(i) * p.out_dims() + static_cast<size_t>(h) * dvh);
}

// ir::normalise over the n >= 1 logits query qi sees, in key order, after
// the check every normaliser shares: all of them -inf means they overflowed.
void normalise_row(const SequencePlan& p, int qi, const double* z, int n, double* w) {
  if (std::all_of(z, z + n, [](double x) { return x == -INFINITY; })) logits_overflowed(qi);
  ir::normalise(p.normaliser, z, n, w, p.sigmoid_bias, p.params.top_k);
}

// A block of queries [q0, q1), head h, with blocked logits: each row's
// weights (ir::normalise over the visible logits in key order, in f64),
// rounded to f32, then W V on packed panels. A row without holes is a range
// of keys, normalised in place.
void normalised_block(const SequencePlan& p, const double* logits, int64_t ld, const float* const* v, int q0,
                      int q1, int h, std::vector<float>& weights, std::vector<float>& scratch, float* out) {
  const int n = q1 - q0, S = p.S;
  weights.resize((size_t)query_rows(n) * S);
  std::fill(weights.begin() + (size_t)n * S, weights.end(), 0.0f);  // the padding rows
  std::vector<double> z(S), wz(S);
  std::vector<int> keys;
  const bool holes = !p.mask.contiguous();
  for (int i = 0; i < n; ++i) {
    const int qi = q0 + i;
    const double* l = logits + (size_t)i * ld;
    float* w = weights.data() + (size_t)i * S;
    check_cancel();
    std::fill(w, w + S, 0.0f);  // a query that sees no key gets zeros
    const int first = std::max(p.first_key(qi), 0), last = std::min(p.last_key(qi), p.S - 1);
    if (first > last) continue;
    if (!holes) {
      const int seen = last - first + 1;
      normalise_row(p, qi, l + first, seen, wz.data());
      for (int t = 0; t < seen; ++t) w[first + t] = static_cast<float>(wz[t]);
      continue;
    }
    // The visible keys in order, their logits gathered.
    keys.resize(S);
    int seen = 0;
    for (int j = first; j <= last; ++j)
      if (p.mask.visible(qi, j)) keys[seen] = j, z[seen++] = l[j];
    if (seen == 0) continue;
    normalise_row(p, qi, z.data(), seen, wz.data());
    for (int t = 0; t < seen; ++t) w[keys[t]] = static_cast<float>(wz[t]);
  }
  weighted_values(p, weights.data(), v, n, h, scratch, out);
}

}  // namespace

// Normalisers other than the softmax need the whole row of a query's
// logits: per (query, head) the visible logits, their weights, then sum w v.
// Plain scaled dot products come from blocked_logits, a block of queries at
// a time; other scores from the per-row kernel, pair by pair.
void run_normalised(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                    const float* const* v, int q0, int q1, float* out) {
  const int group = p.heads / p.kv_heads, dvh = p.value_dim;
  HeadParams params(p, score);
  const bool blocked = normaliser_blocked(p) && params.slope < 0;
  // Queries per block of logits (normaliser_block_rows).
  const int block_rows = blocked ? std::min(q1 - q0, normaliser_block_rows(p)) : 1;
  const size_t per_row = blocked ? 0 : p.S;  // the per-row path's buffers
  std::vector<int> blocks, keys(per_row);
  std::vector<double> logits(per_row), w(per_row), acc(dvh), block_logits(blocked ? (size_t)block_rows * p.S : 0);
  std::vector<float> scratch, weights;
  for (int b0 = q0; b0 < q1; b0 += block_rows) {
    const int b1 = std::min(q1, b0 + block_rows);
    for (int h = 0; h < p.heads; ++h) {
      double* prm = params.for_head(p, h);
      if (blocked) {
        blocked_logits(p, score, prm, q, k, b0, b1, h, scratch, block_logits.data(), p.S);
        normalised_block(p, block_logits.data(), p.S, v, b0, b1, h, weights, scratch,
                         out + static_cast<size_t>(b0 - q0) * p.out_dims());
        continue;
      }
      for (int i = b0; i < b1; ++i) {
        p.mask.key_blocks(i, i + 1, p.block, blocks);
        const float* qh = q[i] + static_cast<size_t>(h) * p.head_dim;
        int n = 0;
        for (int k0 : blocks)
          for (int j = std::max(k0, p.first_key(i)); j < std::min(k0 + p.block, p.last_key(i) + 1); ++j)
            if (p.mask.visible(i, j)) {
              if ((n & 4095) == 0) check_cancel();
              keys[n] = j;
              prm[score.kernel->mechanism->params.size()] = j - i;
              logits[n++] = run_with_params(score, prm, qh, k[j] + static_cast<size_t>(h / group) * p.head_dim,
                                            p.score_vector);
            }
        std::fill(acc.begin(), acc.end(), 0.0);
        if (n > 0) {  // the query sees keys
          normalise_row(p, i, logits.data(), n, w.data());
          for (int t = 0; t < n; ++t) {
            if (w[t] == 0) continue;  // sparse normalisers: most keys weigh nothing
            add_weighted(w[t], v[keys[t]] + static_cast<size_t>(h / group) * dvh, dvh, acc.data());
          }
        }
        float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dvh;
        for (int c = 0; c < dvh; ++c) o[c] = static_cast<float>(acc[c]);
      }
    }
  }
}
}  // namespace rvj::runtime::flash
