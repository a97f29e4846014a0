// ruvector_softmax(real[]) and ruvector_attention_weights(query, keys[],
// attention_type, params): normalised attention weights over a set of keys.
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/params.h"
#include "pg/vector_arrays.h"
#include "runtime/online_softmax.h"

using namespace rvj::pg;

namespace {
ArrayType* float4_array(const double* x, int n) {
  Datum* d = (Datum*)palloc(sizeof(Datum) * n);
  for (int i = 0; i < n; i++) d[i] = Float4GetDatum((float4)x[i]);
  return construct_array(d, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}
}  // namespace

RVJ_FUNCTION(ruvector_softmax) {
  ArrayType* a = PG_GETARG_ARRAYTYPE_P(0);
  if (ARR_NDIM(a) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
  if (ARR_HASNULL(a) && array_contains_nulls(a))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));
  int n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
  if (n == 0) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("softmax of an empty array is undefined")));
  const float4* x = (const float4*)ARR_DATA_PTR(a);
  double* logits = (double*)palloc(sizeof(double) * n);
  for (int i = 0; i < n; i++) {
    if (!std::isfinite(x[i]))
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("softmax input must be finite, not %g", x[i])));
    logits[i] = x[i];
  }
  double* w = (double*)palloc(sizeof(double) * n);
  rvj::runtime::softmax(logits, n, w);
  PG_RETURN_POINTER(float4_array(w, n));
}

RVJ_FUNCTION(ruvector_attention_weights) {
  RuVector* q = PG_GETARG_RUVECTOR_P(0);
  ArrayType* keys = PG_GETARG_ARRAYTYPE_P(1);
  char* type = text_to_cstring(PG_GETARG_TEXT_PP(2));
  Jsonb* jb = PG_GETARG_JSONB_P(3);

  if (ARR_NDIM(keys) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("keys must be a 1-D array")));
  Datum* elems;
  bool* nulls;
  int n;
  deconstruct_array(keys, ARR_ELEMTYPE(keys), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  if (n == 0)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("keys must not be empty"),
                    errhint("Attention weights are a softmax over at least one key.")));
  RuVector** k = (RuVector**)palloc(sizeof(RuVector*) * n);
  for (int i = 0; i < n; i++) {
    if (nulls[i]) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("keys must not contain nulls")));
    k[i] = DatumGetRuVector(elems[i]);
    check_same_dims(q, k[i]);
  }

  const rvj::runtime::WeightsForm* form = nullptr;
  RVJ_ENGINE(form = &rvj::runtime::weights_form(type));
  const rvj::ir::Mechanism* m = form->score;
  double params[rvj::ir::kMaxParams];
  parse_params(jb, type, form->params, params);

  KernelSite* site = kernel_site(fcinfo);
  check_work_mem("ruvector_attention_weights", (2 * sizeof(double) + sizeof(float) + sizeof(Datum)) * (size_t)n);
  double* logits = (double*)palloc(sizeof(double) * n);
  double* w = (double*)palloc(sizeof(double) * n);
  rvj::runtime::Bound* bound = nullptr;
  RVJ_ENGINE({
    rvj::ir::check_params(form->params, params);
    bound = &bind_site(*site, *m, q->dim);
    for (size_t i = 0; i < m->params.size(); i++) bound->params[i] = params[i];
  });
  // In slices, so a long array stays cancellable between them.
  for (int from = 0; from < n; from += 4096) {
    CHECK_FOR_INTERRUPTS();
    int to = Min(n, from + 4096);
    RVJ_ENGINE(for (int i = from; i < to; i++) logits[i] = rvj::runtime::run(*bound, q->x, k[i]->x));
  }
  // The normaliser's params follow the score's (weights_form).
  double bias = -std::log((double)n);
  int top_k = n;
  for (size_t i = m->params.size(); i < form->params.size(); i++) {
    if (form->params[i].field == rvj::ir::Field::Bias && !std::isnan(params[i])) bias = params[i];
    if (form->params[i].field == rvj::ir::Field::TopK) top_k = (int)std::min(params[i], (double)n);
  }
  RVJ_ENGINE(rvj::ir::normalise(form->normaliser, logits, n, w, bias, top_k));
  for (int i = 0; i < n; i++)
    if (std::isnan(w[i]))  // an overflowed logit (inf - inf): undefined weights
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("the attention weights are undefined: the logit of key %d overflowed type real", i + 1),
                      errhint("A dot product of these inputs exceeds the range of real (about 3.4e38); scale the "
                              "vectors down.")));
  PG_RETURN_POINTER(float4_array(w, n));
}
