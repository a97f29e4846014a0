// ruvector_jit_explain(mechanism, dims): EXPLAIN-style rows for a kernel.
#include "pg/errors.h"
#include "pg/vector.h"

RVJ_FUNCTION(ruvector_jit_explain) {
  char* mechanism = text_to_cstring(PG_GETARG_TEXT_PP(0));
  int32 dims = PG_GETARG_INT32(1);

  // The engine's rows are joined into one malloc'd buffer inside the C++
  // scope; PostgreSQL objects are built from it after that scope closes.
  char* joined = nullptr;
  RVJ_ENGINE({
    std::vector<std::string> rows = rvj::runtime::explain(mechanism, dims, rvj::pg::jit_enabled);
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
