// Dot-product family: per-row score recipes.
#include <cmath>
#include <cstdio>

#include "ir/errors.h"
#include "ir/recipes/mechanisms.h"

namespace rvj::ir {

// scaled_dot (Vaswani et al. 2017): the logit q.k / sqrt(d). Ranking rows by it
// ranks them exactly as their softmax weights over any candidate set would.
Function build_scaled_dot(int dims) {
  Builder b("scaled_dot", dims);
  int q = b.input(), k = b.input();
  int logit = b.dot(q, k);
  int scale = b.constant(1.0 / std::sqrt(static_cast<double>(dims)));
  b.output(b.mul(logit, scale));
  return b.finish();
}

// feature_dot: phi(q) . phi(k), the kernelised score of linear attention
// (Katharopoulos et al. 2020). The linear schedule never scores a pair: it
// runs this program as a panel kernel (ir.h), for its state products.
Function build_feature_dot(int dims) {
  Builder b("feature_dot", dims);
  int q = b.input(), k = b.input();
  b.output(b.dot(q, k));
  return b.finish();
}

// additive (Bahdanau et al. 2015): v . tanh(W_q q + W_k k). The kernel gets
// the projections qp = W_q q and kp = W_k k (runtime/schedules/projection:
// once per row, through Eigen, not once per pair) and v; dims is the
// attention dimension a. Per element in f64, tanh as ir/tanh64.h.
Function build_additive(int dims) {
  Builder b("additive", dims);
  int qp = b.input(), kp = b.input(), v = b.input();
  b.output(b.sum(b.mul_vec(v, b.tanh_vec(b.add_vec(qp, kp)))));
  return b.finish();
}

// The ALiBi logit (Press et al. 2022): scaled_dot plus the head's slope times
// the key's offset from the query, j - i (the Position op).
Function build_alibi_score(int dims) {
  Builder b("alibi_score", dims);
  int q = b.input(), k = b.input(), slope = b.param();
  int logit = b.mul(b.dot(q, k), b.constant(1.0 / std::sqrt(static_cast<double>(dims))));
  b.output(b.add(logit, b.mul(slope, b.position())));
  return b.finish();
}

// cosine (Swin v2, Liu et al. 2022): tau * cos(q, k), tau = 1 by default.
// out[1], out[2] are the squared norms, checked for zero vectors.
Function build_cosine(int dims) {
  Builder b("cosine", dims);
  int q = b.input(), k = b.input(), tau = b.param();
  int qq = b.sq_norm(q), kk = b.sq_norm(k);
  int qk = b.dot(q, k);
  int nn = b.mul(qq, kk);
  int norms = b.sqrt(nn);
  int cos = b.div(qk, norms);
  b.output(b.mul(tau, cos));
  b.output(qq);
  b.output(kk);
  return b.finish();
}

void check_cosine(const Mechanism& m, const double* out, const double*) {
  for (int i = 0; i < 2; ++i)
    if (out[1 + i] == 0.0)
      throw Error(ErrorKind::DataException,
                  std::string("cosine attention is undefined for a zero vector (") + m.input_names[i] + ")",
                  "Both vectors must have a non-zero norm.");
}

}  // namespace rvj::ir
