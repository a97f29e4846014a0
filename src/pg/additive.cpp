// Additive attention (Bahdanau et al. 2015), whose learned weights are SQL
// arguments: score(q, k) = v . tanh(W_q q + W_k k).
//   ruvector_additive_score(query, key, w_query, w_key, v): the per-row logit.
//   ruvector_additive_attention(queries, keys, values, w_query, w_key, v, params):
//     softmax(scores) V per query, on the flash schedule's per-row path.
// Queries and keys are projected through Eigen (runtime/schedules/projection),
// once per row; the generated kernel scores a pair of projections.
#include <cmath>

#include "pg/attention_sequence.h"
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/params.h"
#include "pg/vector_arrays.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/projection.h"

using namespace rvj::pg;

namespace {

struct Weights {
  Rows wq, wk;
  RuVector* v;
};

// The three weight arguments at `first`, checked against the query and key
// dimensions (PostgreSQL side: may ERROR).
Weights weights_of(FunctionCallInfo fcinfo, int first, int qdim, int kdim) {
  Weights w;
  w.wq = rows_of(PG_GETARG_ARRAYTYPE_P(first), "w_query", "w_query holds W_q: one row per element of v.");
  w.wk = rows_of(PG_GETARG_ARRAYTYPE_P(first + 1), "w_key", "w_key holds W_k: one row per element of v.");
  w.v = PG_GETARG_RUVECTOR_P(first + 2);
  if (w.wq.dim != qdim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("w_query rows must have the query dimension %d, not %d", qdim, w.wq.dim),
                    errhint("W_q maps a query (%d dimensions) to the attention space: a rows of %d.", qdim, qdim)));
  if (w.wk.dim != kdim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("w_key rows must have the key dimension %d, not %d", kdim, w.wk.dim),
                    errhint("W_k maps a key (%d dimensions) to the attention space: a rows of %d.", kdim, kdim)));
  if (w.wq.n != w.v->dim || w.wk.n != w.v->dim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("w_query and w_key must have one row per element of v (%d), not %d and %d", w.v->dim,
                           w.wq.n, w.wk.n),
                    errhint("The attention dimension a is the length of v; W_q and W_k have a rows each.")));
  return w;
}

}  // namespace

RVJ_FUNCTION(ruvector_additive_score) {
  RuVector* q = PG_GETARG_RUVECTOR_P(0);
  RuVector* k = PG_GETARG_RUVECTOR_P(1);
  Weights w = weights_of(fcinfo, 2, q->dim, k->dim);
  const int a = w.v->dim;
  KernelSite* site = kernel_site(fcinfo);
  float* qp = (float*)palloc(sizeof(float) * a);
  float* kp = (float*)palloc(sizeof(float) * a);
  const float* qrow = q->x;
  const float* krow = k->x;
  double result = 0;
  RVJ_ENGINE({
    rvj::runtime::project_rows(&qrow, 1, q->dim, w.wq.x, a, nullptr, qp);
    rvj::runtime::project_rows(&krow, 1, k->dim, w.wk.x, a, nullptr, kp);
  });
  RVJ_ENGINE({
    // An overflowed projection would make the score NaN (inf - inf in tanh).
    rvj::runtime::check_finite_result("W_q query", qp, a);
    rvj::runtime::check_finite_result("W_k key", kp, a);
    rvj::runtime::Bound& bound = bind_site(*site, "additive", a);
    result = rvj::runtime::run_with_params(bound, bound.params, qp, kp, w.v->x);
  });
  if (!(std::fabs(result) <= FLT_MAX))  // |v| near 3.4e38 sums past real's range
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("the additive score overflows type real"),
                    errhint("Scale v down.")));
  pfree(qp);
  pfree(kp);
  PG_RETURN_FLOAT4((float4)result);
}

RVJ_FUNCTION(ruvector_additive_attention) {
  Sequence seq = sequence_args(fcinfo);
  Weights w = weights_of(fcinfo, 3, seq.q.dim, seq.k.dim);
  const rvj::ir::SequenceMechanism* m = rvj::ir::find_weighted_sequence_mechanism("additive");
  double params[rvj::ir::kMaxParams];
  parse_params(PG_GETARG_JSONB_P(6), m->name, m->params, params);
  return additive_attention(seq, w.wq.x, w.wk.x, w.v->x, w.v->dim, params, "ruvector_additive_attention");
}

namespace rvj::pg {

Datum additive_attention(Sequence seq, const float* const* wq, const float* const* wk, const float* vw, int a,
                         const double* params, const char* function) {
  auto [q, k, v, vector_type] = seq;
  const rvj::ir::SequenceMechanism* m = rvj::ir::find_weighted_sequence_mechanism("additive");
  rvj::runtime::SequencePlan plan;
  size_t need = 0;
  RVJ_ENGINE({
    plan = rvj::runtime::plan_sequence(*m, params, q.n, k.n, a, a, v.dim);
    // plus the projected queries and keys
    need = rvj::runtime::call_memory(plan, call_threads()) + (sizeof(float) * a + sizeof(float*)) * ((size_t)q.n + k.n);
  });
  check_work_mem(function, need);
  float* qp = (float*)palloc(sizeof(float) * (size_t)q.n * a);
  float* kp = (float*)palloc(sizeof(float) * (size_t)k.n * a);
  const float** qr = (const float**)palloc(sizeof(float*) * q.n);
  const float** kr = (const float**)palloc(sizeof(float*) * k.n);
  for (int i = 0; i < q.n; i++) qr[i] = qp + (size_t)i * a;
  for (int j = 0; j < k.n; j++) kr[j] = kp + (size_t)j * a;
  rvj::runtime::Bound score;
  RVJ_ENGINE(score = rvj::runtime::bind_sequence(plan, jit_enabled));
  plan.score_vector = vw;
  // O((L + S) a d) to project, in slices with interrupt checks.
  project_in_slices(q.x, q.n, q.dim, wq, a, nullptr, qp);
  project_in_slices(k.x, k.n, k.dim, wk, a, nullptr, kp);
  RVJ_ENGINE({  // an overflowed projection would make scores NaN (inf - inf in tanh)
    rvj::runtime::check_finite_result("W_q query", qp, (size_t)q.n * a);
    rvj::runtime::check_finite_result("W_k key", kp, (size_t)k.n * a);
  });
  float* out = (float*)palloc(sizeof(float) * (size_t)q.n * v.dim);
  const int step = rvj::runtime::step_rows(plan, call_threads());
  for (int q0 = 0; q0 < q.n; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(q.n, q0 + step);
    RVJ_ENGINE(rvj::runtime::run_flash_parallel(plan, score, qr, kr, v.x, q0, q1, out + (size_t)q0 * v.dim,
                                                call_threads()));
  }
  PG_RETURN_POINTER(vectors_array(out, q.n, v.dim, vector_type));
}

}  // namespace rvj::pg
