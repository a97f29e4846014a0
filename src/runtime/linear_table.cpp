#include "runtime/linear_table.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ir/errors.h"
#include "runtime/engine.h"

namespace rvj::runtime {

bool linear_table_form(const ir::SequenceMechanism& m) {
  return m.schedule == ir::Schedule::Linear && m.features != ir::FeatureMap::CosFormer &&
         m.mask != ir::MaskKind::Causal;
}

SequencePlan linear_table_plan(const ir::SequenceMechanism& m, const double* values, int dims, int value_dims) {
  const bool table_form = linear_table_form(m);
  SequencePlan p;
  if (table_form) p = plan_sequence(m, values, 1, 1, dims, dims, value_dims);
  bool causal_param = false;
  for (const auto& spec : m.params) causal_param |= spec.field == ir::Field::Causal;
  if (!table_form || p.causal)
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

void linear_table_attend(const SequencePlan& p, const float* packed, const float* query, float* out) {
  const float* const q[1] = {query};
  linear_query(p, p.params.eps, packed, q, 0, 1, out, p.out_dims());
  check_finite_result("ruvector_linear_attend", out, p.out_dims());
}

}  // namespace rvj::runtime
