#include "runtime/schedules/linear.h"

#include <algorithm>
#include <vector>

#include <Eigen/Core>

#include "ir/cancel.h"
#include "ir/feature_map.h"

namespace rvj::runtime {

namespace {
using Mat = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
using Vec = Eigen::Map<Eigen::VectorXd>;

size_t head_state(const SequencePlan& p) {
  const size_t F = p.feature_dim();
  return F * p.value_dim + F;
}

// phi of row `pos` of x, head h. cosFormer's M is max(L, S).
void phi(const SequencePlan& p, const float* row, int h, int pos, Eigen::VectorXd& out) {
  ir::feature_map(p.features, row + static_cast<size_t>(h) * p.head_dim, p.head_dim, pos, std::max(p.L, p.S),
                  p.favor_w, p.params.num_features, out.data());
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
  const int F = p.feature_dim();
  Eigen::VectorXd fk(F);
  for (int j = j0; j < j1; ++j) {
    check_cancel();
    for (int h = 0; h < p.heads; ++h) {
      double* st = state + head_state(p) * h;
      Mat S(st, F, p.value_dim);
      Vec z(st + static_cast<size_t>(F) * p.value_dim, F);
      phi(p, k[j], h, j, fk);
      Eigen::Map<const Eigen::VectorXf> vj(v[j] + static_cast<size_t>(h) * p.value_dim, p.value_dim);
      S.noalias() += fk * vj.cast<double>().transpose();  // the rank-1 state update
      z += fk;
    }
  }
}

void run_linear(const SequencePlan& p, double eps, const float* const* q, const float* const* k,
                const float* const* v, int q0, int q1, double* state, float* out) {
  const int F = p.feature_dim();
  Eigen::VectorXd fq(F);
  for (int i = q0; i < q1; ++i) {
    check_cancel();
    if (p.causal && i < p.S) linear_add_keys(p, k, v, i, i + 1, state);
    for (int h = 0; h < p.heads; ++h) {
      double* st = state + head_state(p) * h;
      Mat S(st, F, p.value_dim);
      Vec z(st + static_cast<size_t>(F) * p.value_dim, F);
      phi(p, q[i], h, i, fq);
      const double denom = fq.dot(z) + eps;
      Eigen::Map<Eigen::VectorXf> o(out + static_cast<size_t>(i - q0) * p.out_dims() +
                                        static_cast<size_t>(h) * p.value_dim,
                                    p.value_dim);
      o = ((S.transpose() * fq) / denom).cast<float>();
    }
  }
}

}  // namespace rvj::runtime
