// ruvector_attention_score(query, key, attention_type, params): the per-row
// logit, for ORDER BY score DESC LIMIT k. The mechanism, its parameters and
// its kernel are resolved on the first row and kept for the rest.
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/params.h"

using namespace rvj::pg;

namespace {

struct ScoreSite {
  KernelSite site;
  const rvj::ir::Mechanism* mechanism;  // resolved from `type`
  rvj::runtime::NativeFn native;        // its native form, if it has one
  char type[NAMEDATALEN];
  int type_len;
  char params_raw[256];  // the jsonb `params` were parsed from (when it fits)
  int params_len;
  double params[rvj::ir::kMaxParams];
};

bool same_bytes(const char* cached, int cached_len, const void* now, int now_len, int capacity) {
  return now_len <= capacity && cached_len == now_len && memcmp(cached, now, now_len) == 0;
}

Datum score(FunctionCallInfo fcinfo, const float* q, int qdim, const float* k, int kdim, text* type, Jsonb* jb) {
  ScoreSite* s = static_cast<ScoreSite*>(call_site(fcinfo, sizeof(ScoreSite)));
  const char* name = VARDATA_ANY(type);
  int name_len = VARSIZE_ANY_EXHDR(type);
  // Both are usually constants: resolve and parse only when they change.
  bool renamed = s->mechanism == nullptr || !same_bytes(s->type, s->type_len, name, name_len, NAMEDATALEN - 1);
  bool new_params = renamed || !same_bytes(s->params_raw, s->params_len, jb, VARSIZE(jb), sizeof s->params_raw);
  if (renamed) {
    char* lookup = text_to_cstring(type);
    s->mechanism = nullptr;
    RVJ_ENGINE({
      s->mechanism = &rvj::runtime::row_score_mechanism(lookup);
      s->native = rvj::runtime::native_kernel(*s->mechanism);
    });
    s->type_len = Min(name_len, NAMEDATALEN - 1);  // longer names never resolve
    memcpy(s->type, name, s->type_len);
  }
  if (new_params) {
    s->params_len = -1;  // stays unusable if parsing fails
    parse_params(jb, *s->mechanism, s->params);
  }
  double result = 0;
  RVJ_ENGINE({
    rvj::runtime::check_same_dims(qdim, kdim);
    if (new_params) rvj::ir::check_params(*s->mechanism, s->params);
    if (s->native) {
      result = rvj::runtime::run_native(*s->mechanism, s->native, q, k, qdim, s->params);
    } else {
      rvj::runtime::Bound& bound = bind_site(s->site, *s->mechanism, qdim);
      for (size_t i = 0; i < s->mechanism->params.size(); i++) bound.params[i] = s->params[i];
      result = rvj::runtime::run(bound, q, k);
    }
  });
  if (!(std::fabs(result) <= FLT_MAX))  // overflowed arithmetic (or beyond real): never a NaN or inf to sort by
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("the %s score overflowed type real", s->mechanism->name),
                    errhint("A dot product of these vectors exceeds the range of real (about 3.4e38); scale them "
                            "down.")));
  if (new_params && (int)VARSIZE(jb) <= (int)sizeof s->params_raw) {
    s->params_len = VARSIZE(jb);
    memcpy(s->params_raw, jb, s->params_len);
  }
  PG_RETURN_FLOAT4((float4)result);
}

// params was added after the first SQL definition: a database still holding
// that definition passes three arguments, which must mean the defaults.
Jsonb* params_arg(FunctionCallInfo fcinfo) {
  if (PG_NARGS() > 3) return PG_GETARG_JSONB_P(3);
  return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
}

}  // namespace

RVJ_FUNCTION(ruvector_attention_score) {
  RuVector* q = PG_GETARG_RUVECTOR_P(0);
  RuVector* k = PG_GETARG_RUVECTOR_P(1);
  return score(fcinfo, q->x, q->dim, k->x, k->dim, PG_GETARG_TEXT_PP(2), params_arg(fcinfo));
}

RVJ_FUNCTION(ruvector_attention_score_array) {
  int qdim, kdim;
  float* q = array_to_floats(PG_GETARG_ARRAYTYPE_P(0), &qdim);
  float* k = array_to_floats(PG_GETARG_ARRAYTYPE_P(1), &kdim);
  return score(fcinfo, q, qdim, k, kdim, PG_GETARG_TEXT_PP(2), params_arg(fcinfo));
}
