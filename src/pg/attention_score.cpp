// ruvector_attention_score(query, key, attention_type): the per-row logit,
// for ORDER BY score DESC LIMIT k.
#include "pg/errors.h"
#include "pg/kernel_site.h"

using namespace rvj::pg;

namespace {

struct ScoreSite {
  KernelSite site;
  char type[NAMEDATALEN];  // the attention_type `site` was resolved for
  int type_len;
};

Datum score(FunctionCallInfo fcinfo, const float* q, int qdim, const float* k, int kdim, text* type) {
  const char* name = VARDATA_ANY(type);
  int name_len = VARSIZE_ANY_EXHDR(type);
  ScoreSite* s = static_cast<ScoreSite*>(call_site(fcinfo, sizeof(ScoreSite)));
  // Resolve the name only when it changes (it is usually a constant).
  bool renamed = s->site.mechanism == nullptr || s->type_len != name_len || memcmp(s->type, name, name_len) != 0;
  char* lookup = renamed ? text_to_cstring(type) : nullptr;
  double result = 0;
  RVJ_ENGINE({
    rvj::runtime::check_same_dims(qdim, kdim);
    const rvj::ir::Mechanism* m = s->site.mechanism;
    if (renamed) {
      s->site.mechanism = nullptr;
      m = &rvj::runtime::row_score_mechanism(lookup);
      // Longer names are never valid, so a truncated copy cannot match wrongly.
      s->type_len = std::min<int>(name_len, NAMEDATALEN - 1);
      memcpy(s->type, name, s->type_len);
    }
    result = rvj::runtime::run(bind_site(s->site, *m, qdim), q, k);
  });
  PG_RETURN_FLOAT4((float4)result);
}

}  // namespace

RVJ_FUNCTION(ruvector_attention_score) {
  RuVector* q = PG_GETARG_RUVECTOR_P(0);
  RuVector* k = PG_GETARG_RUVECTOR_P(1);
  return score(fcinfo, q->x, q->dim, k->x, k->dim, PG_GETARG_TEXT_PP(2));
}

RVJ_FUNCTION(ruvector_attention_score_array) {
  int qdim, kdim;
  float* q = array_to_floats(PG_GETARG_ARRAYTYPE_P(0), &qdim);
  float* k = array_to_floats(PG_GETARG_ARRAYTYPE_P(1), &kdim);
  return score(fcinfo, q, qdim, k, kdim, PG_GETARG_TEXT_PP(2));
}
