// ruvector_attention_score(query, key, attention_type): the per-row logit,
// for ORDER BY score DESC LIMIT k. The kernel is resolved once per call site
// and kept in fn_extra, so later rows go straight to machine code.
#include "pg/errors.h"
#include "pg/vector.h"

using namespace rvj::pg;

namespace {

struct ScoreSite {
  char type[NAMEDATALEN];  // attention_type the kernel was bound for
  int type_len;
  int dims;
  bool jit;
  rvj::runtime::Bound bound;
};

Datum score(FunctionCallInfo fcinfo, const float* q, int qdim, const float* k, int kdim, text* type) {
  const char* name = VARDATA_ANY(type);
  int name_len = VARSIZE_ANY_EXHDR(type);
  ScoreSite* site = (ScoreSite*)fcinfo->flinfo->fn_extra;
  bool fresh = site == nullptr || site->dims != qdim || site->jit != jit_enabled || site->type_len != name_len ||
               memcmp(site->type, name, name_len) != 0;
  if (fresh && site == nullptr) {
    site = (ScoreSite*)MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ScoreSite));
    fcinfo->flinfo->fn_extra = site;
    site->dims = -1;
  }
  // Names longer than any mechanism's are copied truncated and fail lookup.
  char* lookup = fresh ? text_to_cstring(type) : nullptr;
  double result = 0;
  RVJ_ENGINE({
    rvj::runtime::check_same_dims(qdim, kdim);
    if (fresh) {
      site->dims = -1;  // stays invalid if binding throws
      const rvj::ir::Mechanism& m = rvj::runtime::row_score_mechanism(lookup);
      site->bound = rvj::runtime::bind(m, qdim, jit_enabled);
      site->type_len = std::min<int>(name_len, NAMEDATALEN - 1);
      memcpy(site->type, name, site->type_len);
      site->jit = jit_enabled;
      site->dims = qdim;
    }
    result = rvj::runtime::run2(site->bound, q, k);
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
