#include "runtime/schedules/linear.h"

#include <cmath>
#include <vector>

#include <Eigen/Core>

namespace rvj::runtime {

namespace {
using Mat = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
using Vec = Eigen::Map<Eigen::VectorXd>;

// phi(x) = elu(x) + 1: x + 1 for x > 0, exp(x) otherwise.
void phi(const float* x, int n, Eigen::VectorXd& out) {
  for (int i = 0; i < n; ++i) out[i] = x[i] > 0 ? x[i] + 1.0 : std::exp(static_cast<double>(x[i]));
}

size_t head_state(const SequencePlan& p) {
  return static_cast<size_t>(p.head_dim) * p.value_dim + p.head_dim;
}
}  // namespace

size_t linear_state_size(const SequencePlan& p) { return head_state(p) * p.heads; }

void linear_init(const SequencePlan& p, double* state) {
  std::fill(state, state + linear_state_size(p), 0.0);
}

void linear_add_keys(const SequencePlan& p, const float* const* k, const float* const* v, int j0, int j1,
                     double* state) {
  Eigen::VectorXd fk(p.head_dim);
  for (int j = j0; j < j1; ++j)
    for (int h = 0; h < p.heads; ++h) {
      double* st = state + head_state(p) * h;
      Mat S(st, p.head_dim, p.value_dim);
      Vec z(st + static_cast<size_t>(p.head_dim) * p.value_dim, p.head_dim);
      phi(k[j] + static_cast<size_t>(h) * p.head_dim, p.head_dim, fk);
      Eigen::Map<const Eigen::VectorXf> vj(v[j] + static_cast<size_t>(h) * p.value_dim, p.value_dim);
      S.noalias() += fk * vj.cast<double>().transpose();  // the rank-1 state update
      z += fk;
    }
}

void run_linear(const SequencePlan& p, double eps, const float* const* q, const float* const* k,
                const float* const* v, int q0, int q1, double* state, float* out) {
  Eigen::VectorXd fq(p.head_dim);
  for (int i = q0; i < q1; ++i) {
    if (p.causal && i < p.S) linear_add_keys(p, k, v, i, i + 1, state);
    for (int h = 0; h < p.heads; ++h) {
      double* st = state + head_state(p) * h;
      Mat S(st, p.head_dim, p.value_dim);
      Vec z(st + static_cast<size_t>(p.head_dim) * p.value_dim, p.head_dim);
      phi(q[i] + static_cast<size_t>(h) * p.head_dim, p.head_dim, fq);
      const double denom = fq.dot(z) + eps;
      Eigen::Map<Eigen::VectorXf> o(out + static_cast<size_t>(i - q0) * p.out_dims() +
                                        static_cast<size_t>(h) * p.value_dim,
                                    p.value_dim);
      o = ((S.transpose() * fq) / denom).cast<float>();
    }
  }
}

}  // namespace rvj::runtime
