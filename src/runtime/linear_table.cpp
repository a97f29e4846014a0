#include "runtime/linear_table.h"

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ir/errors.h"
#include "ir/feature_map.h"
#include "runtime/engine.h"

namespace rvj::runtime {

SequencePlan linear_table_plan(const ir::SequenceMechanism& m, const double* values, int dims, int value_dims) {
  const bool table_form = m.schedule == ir::Schedule::Linear;
  SequencePlan p;
  if (table_form) p = plan_sequence(m, values, 1, 1, dims, dims, value_dims);
  bool causal_param = false;
  for (const auto& spec : m.params) causal_param |= std::string_view(spec.name) == "causal";
  if (!table_form || p.causal || p.features == ir::FeatureMap::CosFormer)
    throw Error(ErrorKind::InvalidArgument,
                std::string("attention type \"") + m.name + "\"" +
                    (table_form && p.causal && causal_param ? " with causal: true" : "") + " has no table state",
                "A state over a table ignores row order, so only linear and performer (without causal) have one; "
                "cosformer and the causal forms depend on row positions: use ruvector_attention over arrays.");
  if (p.heads != p.kv_heads)
    throw Error(ErrorKind::InvalidArgument, "a linear table state needs as many key heads as query heads");
  return p;
}

void linear_table_add(const SequencePlan& p, const float* key, const float* value, double* state) {
  const float* const k[1] = {key};
  const float* const v[1] = {value};
  linear_add_keys(p, k, v, 0, 1, state);
}

void linear_table_merge(double* state, const double* other, size_t n) {
  for (size_t i = 0; i < n; ++i) state[i] += other[i];
}

namespace {
#if defined(__x86_64__)
#define RVJ_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define RVJ_CLONES
#endif
// acc[c] = fma(phi[f], S[f][c], acc[c]) for f ascending: one chain per
// output, so every clone gives the same bits. Blocks of 32 outputs stay in
// registers while the rows of S stream past.
RVJ_CLONES void state_product(const double* phi, const double* S, int F, int dv, double* acc) {
  constexpr int B = 32;
  int c0 = 0;
  for (; c0 + B <= dv; c0 += B) {
    double a[B] = {};
    for (int f = 0; f < F; ++f) {
      const double x = phi[f];
      const double* row = S + (size_t)f * dv + c0;
      for (int b = 0; b < B; ++b) a[b] = std::fma(x, row[b], a[b]);
    }
    for (int b = 0; b < B; ++b) acc[c0 + b] = a[b];
  }
  for (int c = c0; c < dv; ++c) {
    double a = 0;
    for (int f = 0; f < F; ++f) a = std::fma(phi[f], S[(size_t)f * dv + c], a);
    acc[c] = a;
  }
}

// phi . z with the same kind of chain.
RVJ_CLONES double dot_chain(const double* phi, const double* z, int F) {
  double a = 0;
  for (int f = 0; f < F; ++f) a = std::fma(phi[f], z[f], a);
  return a;
}
}  // namespace

void linear_table_attend(const SequencePlan& p, const double* state, const float* query, float* out) {
  // phi(q)^T S / (phi(q)^T z + eps) per head, over the state's layout
  // (schedules/linear.h: per head S row-major F x d_v, then z).
  const int F = p.feature_dim(), dv = p.value_dim;
  thread_local std::vector<double> phi, acc;
  phi.resize(F);
  acc.resize(dv);
  for (int h = 0; h < p.heads; ++h) {
    const double* S = state + (size_t)h * ((size_t)F * dv + F);
    const double* z = S + (size_t)F * dv;
    ir::feature_map(p.features, query + (size_t)h * p.head_dim, p.head_dim, 0, 1, p.favor_w, p.params.num_features,
                    phi.data());
    const double denom = dot_chain(phi.data(), z, F) + p.params.eps;
    state_product(phi.data(), S, F, dv, acc.data());
    for (int c = 0; c < dv; ++c) out[(size_t)h * dv + c] = static_cast<float>(acc[c] / denom);
  }
  check_finite_result("ruvector_linear_attend", out, p.out_dims());
}

}  // namespace rvj::runtime
