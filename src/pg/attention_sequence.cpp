// ruvector_attention(queries[], keys[], values[], attention_type, params):
// attention of L queries over S (key, value) rows, with heads and masks,
// run by the flash schedule over query blocks. Between blocks the backend
// checks for interrupts, so statement_timeout and cancel work on long inputs.
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/params.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/linear.h"

using namespace rvj::pg;

namespace {

struct Rows {
  const float** x;
  int n;
  int dim;
};

// The vectors of a ruvector[]: 1-D, no NULLs, not empty, one dimension.
Rows rows_of(ArrayType* a, const char* what) {
  if (ARR_NDIM(a) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must be a 1-D array", what)));
  Datum* elems;
  bool* nulls;
  int n;
  deconstruct_array(a, ARR_ELEMTYPE(a), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  if (n == 0)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must not be empty", what),
                    errhint("Attention needs at least one query, key and value.")));
  Rows r{(const float**)palloc(sizeof(float*) * n), n, 0};
  for (int i = 0; i < n; i++) {
    if (nulls[i])
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain nulls", what)));
    RuVector* v = DatumGetRuVector(elems[i]);
    if (i == 0) r.dim = v->dim;
    if (v->dim != r.dim)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("%s have different dimensions %d and %d", what, r.dim, v->dim)));
    r.x[i] = v->x;
  }
  return r;
}

// n rows of `dims` floats as a ruvector[].
ArrayType* vectors_array(const float* rows, int n, int dims, Oid vector_type) {
  Datum* result = (Datum*)palloc(sizeof(Datum) * n);
  for (int i = 0; i < n; i++) {
    RuVector* r = new_vector(dims);
    memcpy(r->x, rows + (size_t)i * dims, sizeof(float) * dims);
    result[i] = PointerGetDatum(r);
  }
  return construct_array(result, n, vector_type, -1, false, TYPALIGN_INT);
}

}  // namespace

RVJ_FUNCTION(ruvector_attention) {
  ArrayType* qa = PG_GETARG_ARRAYTYPE_P(0);
  Oid vector_type = ARR_ELEMTYPE(qa);
  Rows q = rows_of(qa, "queries");
  Rows k = rows_of(PG_GETARG_ARRAYTYPE_P(1), "keys");
  Rows v = rows_of(PG_GETARG_ARRAYTYPE_P(2), "values");
  char* type = text_to_cstring(PG_GETARG_TEXT_PP(3));
  Jsonb* jb = PG_GETARG_JSONB_P(4);
  if (k.n != v.n)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("keys and values must have the same length, not %d and %d", k.n, v.n)));

  const rvj::ir::SequenceMechanism* m = nullptr;
  RVJ_ENGINE({
    m = rvj::ir::find_sequence_mechanism(type);
    if (!m) {
      const rvj::ir::CatalogueEntry* e = rvj::ir::catalogue_entry(type);
      throw rvj::Error(e ? rvj::ErrorKind::Unsupported : rvj::ErrorKind::InvalidArgument,
                       std::string(e ? "attention type \"" + std::string(type) +
                                           "\" is not available in the sequence form of this version"
                                     : "unknown attention type \"" + std::string(type) + "\""),
                       "Sequence attention types are: " + rvj::ir::sequence_mechanism_names() + ".");
    }
  });
  double params[rvj::ir::kMaxParams];
  parse_params(jb, m->name, m->params, params);

  rvj::runtime::SequencePlan plan;
  RVJ_ENGINE(plan = rvj::runtime::plan_sequence(*m, params, q.n, k.n, q.dim, k.dim, v.dim));
  const int out_dims = plan.out_dims();
  float* out = (float*)palloc(sizeof(float) * (size_t)q.n * out_dims);
  if (plan.positional == rvj::ir::Positional::Rope) {
    // Rotated once per call, into memory of this call's context.
    float* qr = (float*)palloc(sizeof(float) * (size_t)q.n * q.dim);
    float* kr = (float*)palloc(sizeof(float) * (size_t)k.n * k.dim);
    RVJ_ENGINE({
      rvj::runtime::rope_rotate_rows(plan, q.x, q.n, q.dim, qr);
      rvj::runtime::rope_rotate_rows(plan, k.x, k.n, k.dim, kr);
    });
    for (int i = 0; i < q.n; i++) q.x[i] = qr + (size_t)i * q.dim;
    for (int i = 0; i < k.n; i++) k.x[i] = kr + (size_t)i * k.dim;
  }

  if (m->schedule == rvj::ir::Schedule::Linear) {
    double eps = params[rvj::ir::param_index(m->params, "eps")];
    if (size_t w = rvj::runtime::favor_weights_size(plan)) {
      double* W = (double*)palloc(sizeof(double) * w);
      RVJ_ENGINE(rvj::runtime::favor_weights(plan, W));
      plan.favor_w = W;
    }
    double* state = (double*)palloc(sizeof(double) * rvj::runtime::linear_state_size(plan));
    RVJ_ENGINE(rvj::runtime::linear_init(plan, state));
    if (!plan.causal)  // the whole state first, in slices
      for (int j0 = 0; j0 < k.n; j0 += plan.block) {
        CHECK_FOR_INTERRUPTS();
        const int j1 = Min(k.n, j0 + plan.block);
        RVJ_ENGINE(rvj::runtime::linear_add_keys(plan, k.x, v.x, j0, j1, state));
      }
    for (int q0 = 0; q0 < q.n; q0 += plan.block) {
      CHECK_FOR_INTERRUPTS();
      const int q1 = Min(q.n, q0 + plan.block);
      RVJ_ENGINE(rvj::runtime::run_linear(plan, eps, q.x, k.x, v.x, q0, q1, state, out + (size_t)q0 * out_dims));
    }
    PG_RETURN_POINTER(vectors_array(out, q.n, out_dims, vector_type));
  }

  // Bound per call: a cache lookup, and the tile kernel depends on the
  // value dimension as well as the head dimension.
  rvj::runtime::Bound score;
  RVJ_ENGINE(score = rvj::runtime::bind_sequence(plan, params, jit_enabled));

  // One query block per thread per step; interrupts are checked between steps.
  const int step = plan.block * threads;
  for (int q0 = 0; q0 < q.n; q0 += step) {
    CHECK_FOR_INTERRUPTS();
    const int q1 = Min(q.n, q0 + step);
    RVJ_ENGINE(rvj::runtime::run_flash_parallel(plan, score, q.x, k.x, v.x, q0, q1, out + (size_t)q0 * out_dims,
                                                threads));
  }

  PG_RETURN_POINTER(vectors_array(out, q.n, out_dims, vector_type));
}
