// ruvector_jit_explain(mechanism, dims, params, isa): EXPLAIN-style rows
// for a kernel; ruvector_jit_cache() and ruvector_jit_cache_reset() for the
// backend's kernel cache.
#include "pg/errors.h"
#include "ir/recipes/sequence.h"
#include "pg/params.h"
#include "pg/vector.h"

RVJ_FUNCTION(ruvector_jit_explain) {
  // A database still holding the first, two-argument definition passes two.
  const int nargs = PG_NARGS();
  for (int i = 0; i < Min(nargs, 3); i++)
    if (PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("%s must not be null", i == 0 ? "mechanism" : i == 1 ? "dims" : "params")));
  char* mechanism = text_to_cstring(PG_GETARG_TEXT_PP(0));
  int32 dims = PG_GETARG_INT32(1);
  Jsonb* jb = nargs > 2 ? PG_GETARG_JSONB_P(2) : DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
  char* isa = nargs < 4 || PG_ARGISNULL(3) ? pstrdup("") : text_to_cstring(PG_GETARG_TEXT_PP(3));

  // A kernel by name, or a sequence mechanism (explained with its plan).
  const rvj::ir::Mechanism* m = nullptr;
  const rvj::ir::SequenceMechanism* seq = nullptr;
  RVJ_ENGINE({
    m = rvj::ir::find_mechanism(mechanism);
    if (!m) seq = rvj::ir::find_sequence_mechanism(mechanism);
    if (!m && !seq) rvj::runtime::kernel_mechanism(mechanism);  // throws, listing the kernels
  });
  double params[rvj::ir::kMaxParams];
  if (m)
    rvj::pg::parse_params(jb, *m, params);
  else
    rvj::pg::parse_params(jb, seq->name, seq->params, params);

  // The engine's rows are joined into one malloc'd buffer inside the C++
  // scope; PostgreSQL objects are built from it after that scope closes.
  char* joined = nullptr;
  RVJ_ENGINE({
    std::vector<std::string> rows =
        m ? rvj::runtime::explain(mechanism, dims, rvj::pg::jit_enabled, params, isa)
          : rvj::runtime::explain_sequence(mechanism, dims, rvj::pg::jit_enabled, params, isa, rvj::pg::call_threads());
    std::string all;
    for (const std::string& r : rows) {
      all += r;
      all += '\n';
    }
    joined = static_cast<char*>(std::malloc(all.size() + 1));
    if (!joined) throw std::bad_alloc();
    std::memcpy(joined, all.c_str(), all.size() + 1);
  });

  PG_TRY();
  {
    InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
    ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
    for (char* line = joined; *line;) {
      char* end = strchr(line, '\n');
      Datum value = PointerGetDatum(cstring_to_text_with_len(line, (int)(end - line)));
      bool isnull = false;
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
      line = end + 1;
    }
  }
  PG_FINALLY();
  {
    std::free(joined);
  }
  PG_END_TRY();
  return (Datum)0;
}

RVJ_FUNCTION(ruvector_jit_cache) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const auto* entries = &rvj::runtime::backend_cache().entries();
  for (size_t i = 0; i < entries->size(); i++) {
    const rvj::runtime::Kernel& k = *(*entries)[i];
    const char* isa = strrchr(k.key.c_str(), '/') + 1;
    Datum values[8] = {
        CStringGetTextDatum(k.key.c_str()),
        CStringGetTextDatum(k.mechanism->name),
        Int32GetDatum(k.dims),
        CStringGetTextDatum(isa),
        BoolGetDatum(k.code.fn != nullptr),
        Int64GetDatum((int64)k.hits),
        Int64GetDatum((int64)k.code.object_bytes),
        Float8GetDatum(k.code.total_ms()),
    };
    bool nulls[8] = {};
    nulls[6] = nulls[7] = k.code.fn == nullptr;
    nulls[2] = k.dims == 0;  // panel and feature kernels take any length
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}

RVJ_FUNCTION(ruvector_jit_cache_reset) {
  size_t dropped = 0;
  RVJ_ENGINE(dropped = rvj::runtime::backend_cache().clear());
  PG_RETURN_INT64((int64)dropped);
}
