// The row drivers: scores that run on the per-row kernel (f64 sums, input
// checks), folded by the online softmax in f64, and the normalisers other
// than the softmax, which need a query's whole row of logits.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "ir/midpoint.h"
#include "runtime/online_softmax.h"
#include "runtime/schedules/steps.h"

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

// Normalisers other than the softmax need the whole row of a query's
// logits: per (query, head) the visible logits, their weights, then sum w v.
void run_normalised(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                    const float* const* v, int q0, int q1, float* out) {
  const int group = p.heads / p.kv_heads, dvh = p.value_dim;
  HeadParams params(p, score);
  std::vector<int> blocks, keys(p.S);
  std::vector<double> logits(p.S), w(p.S), acc(dvh);
  for (int i = q0; i < q1; ++i) {
    p.mask.key_blocks(i, i + 1, p.block, blocks);
    for (int h = 0; h < p.heads; ++h) {
      double* prm = params.for_head(p, h);
      const float* qh = q[i] + static_cast<size_t>(h) * p.head_dim;
      int n = 0;
      for (int k0 : blocks)
        for (int j = std::max(k0, p.first_key(i)); j < std::min(k0 + p.block, p.last_key(i) + 1); ++j)
          if (p.mask.visible(i, j)) {
            if ((n & 4095) == 0) check_cancel();
            prm[score.kernel->mechanism->params.size()] = j - i;
            keys[n] = j;
            logits[n++] = run_with_params(score, prm, qh, k[j] + static_cast<size_t>(h / group) * p.head_dim,
                                          p.score_vector);
          }
      std::fill(acc.begin(), acc.end(), 0.0);
      if (n > 0 && std::all_of(logits.begin(), logits.begin() + n, [](double x) { return x == -INFINITY; }))
        logits_overflowed(i);  // n > 0: the query sees keys
      if (n > 0) {
        ir::normalise(p.normaliser, logits.data(), n, w.data(), p.sigmoid_bias, p.params.top_k);
        for (int t = 0; t < n; ++t) {
          if (w[t] == 0) continue;  // sparse normalisers: most keys weigh nothing
          const float* vj = v[keys[t]] + static_cast<size_t>(h / group) * dvh;
          for (int c = 0; c < dvh; ++c) acc[c] += w[t] * vj[c];
        }
      }
      float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dvh;
      for (int c = 0; c < dvh; ++c) o[c] = static_cast<float>(acc[c]);
    }
  }
}
}  // namespace rvj::runtime::flash
