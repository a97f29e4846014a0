// Mixture-of-experts routing in SQL: ruvector_moe_route (one vector),
// ruvector_moe_expert_choice (a set) and ruvector_moe_fit (a gate from a
// table's own clusters). The gate is a model of kind moe_gate, or without one
// the documented fixed random gate (runtime/moe.h). The math is runtime/moe.
#include "pg/errors.h"
#include "pg/models.h"
#include "pg/params.h"
#include "pg/table_source.h"
#include "pg/vector.h"
#include "pg/vector_arrays.h"
#include "runtime/moe.h"
#include "ir/random.h"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/json.h"
#include "utils/syscache.h"
}

using namespace rvj::pg;
using rvj::runtime::Gate;

namespace {

constexpr int kDefaultExperts = 8;
constexpr int kMaxExperts = 4096;

// A call site's gate, kept in fn_mcxt for the statement: the model (or the
// default gate) is read once, not per row.
struct GateSite {
  char* model;  // null: the default gate
  int experts, dims;
  Gate gate;
};

Gate site_gate(FunctionCallInfo fcinfo, const char* function, const char* model, int num_experts, int dims,
               int* experts_out) {
  GateSite* s = (GateSite*)fcinfo->flinfo->fn_extra;
  const bool same = s && s->dims == dims &&
                    (model ? s->model && strcmp(s->model, model) == 0 && (num_experts == 0 || num_experts == s->experts)
                           : !s->model && s->experts == (num_experts ? num_experts : kDefaultExperts));
  if (!same) {
    MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
    GateSite* n = (GateSite*)palloc0(sizeof(GateSite));
    n->dims = dims;
    const float* weight;
    const float* bias = nullptr;
    if (model) {
      Model m = read_model(fcinfo, function, model, "moe_gate");
      n->model = pstrdup(model);
      n->experts = (int)model_symbol(m, "num_experts");
      const int model_dims = (int)model_symbol(m, "dims");
      if (num_experts && num_experts != n->experts)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("num_experts is %d, but model \"%s\" has %d experts", num_experts, model, n->experts),
                        errhint("Leave num_experts out (NULL) to use the model's count.")));
      if (model_dims != dims)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("model \"%s\" routes vectors of %d dimensions, not %d", model, model_dims, dims)));
      if (n->experts > kMaxExperts)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("model \"%s\" has %d experts; at most %d are supported", model, n->experts, kMaxExperts)));
      weight = model_tensor(m, "weight")->data;
      if (const ModelTensor* b = model_tensor(m, "bias")) bias = b->data;
    } else {
      n->experts = num_experts ? num_experts : kDefaultExperts;
      float* w = (float*)palloc(sizeof(float) * n->experts * dims);
      RVJ_ENGINE(rvj::runtime::default_gate_weight(n->experts, dims, w));
      weight = w;
    }
    float* storage = (float*)palloc(sizeof(float) * rvj::runtime::gate_storage_floats(n->experts, dims));
    RVJ_ENGINE(n->gate = rvj::runtime::lay_out_gate(weight, bias, n->experts, dims, storage));
    MemoryContextSwitchTo(old);
    fcinfo->flinfo->fn_extra = s = n;
  }
  *experts_out = s->experts;
  return s->gate;
}

int experts_arg(FunctionCallInfo fcinfo, int arg) {
  if (PG_ARGISNULL(arg)) return 0;  // the model's count, or the default
  const int e = PG_GETARG_INT32(arg);
  if (e < 1 || e > kMaxExperts)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("num_experts must be between 1 and %d, not %d", kMaxExperts, e)));
  return e;
}

const char* model_arg(FunctionCallInfo fcinfo, int arg) {
  return PG_ARGISNULL(arg) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

// params: {"router": "topk" | "switch"}; anything else is an error.
rvj::ir::Router parse_router(Jsonb* jb) {
  if (!JB_ROOT_IS_OBJECT(jb))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("params must be a jsonb object"),
                    errhint("For example '{\"router\": \"switch\"}'.")));
  rvj::ir::Router router = rvj::ir::Router::TopK;
  JsonbIterator* it = JsonbIteratorInit(&jb->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (tok != WJB_KEY) continue;
    char* key = pnstrdup(v.val.string.val, v.val.string.len);
    JsonbIteratorNext(&it, &v, true);
    if (strcmp(key, "router") != 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown parameter \"%s\" for ruvector_moe_route", key),
                      errhint("ruvector_moe_route takes \"router\": \"topk\" (the default) or \"switch\".")));
    const rvj::ir::RoutingMechanism* r = nullptr;
    if (v.type == jbvString) {
      char* name = pnstrdup(v.val.string.val, v.val.string.len);
      r = rvj::ir::find_router(name);
    }
    if (!r)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("router must be \"topk\" or \"switch\""),
                      errhint("Expert choice routes a set: ruvector_moe_expert_choice(embeddings, ...).")));
    router = r->kind;
  }
  return router;
}

Datum routed_jsonb(const rvj::runtime::Routed* r, int k) {
  StringInfoData s;
  initStringInfo(&s);
  appendStringInfoString(&s, "{\"expert_indices\": [");
  for (int j = 0; j < k; ++j) appendStringInfo(&s, "%s%d", j ? ", " : "", r[j].expert);
  appendStringInfoString(&s, "], \"expert_weights\": [");
  for (int j = 0; j < k; ++j) {
    char buf[32];
    float_to_shortest_decimal_buf(r[j].weight, buf);
    appendStringInfo(&s, "%s%s", j ? ", " : "", buf);
  }
  appendStringInfoString(&s, "]}");
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
}

}  // namespace

RVJ_FUNCTION(ruvector_moe_route) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  if (PG_ARGISNULL(4))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_moe_route: params must not be null")));
  RuVector* x = PG_GETARG_RUVECTOR_P(0);
  const int num_experts = experts_arg(fcinfo, 1);
  const char* model = model_arg(fcinfo, 3);
  const rvj::ir::Router router = parse_router(PG_GETARG_JSONB_P(4));
  int experts = 0;
  const Gate gate = site_gate(fcinfo, "ruvector_moe_route", model, num_experts, x->dim, &experts);
  const bool is_switch = router == rvj::ir::Router::Switch;
  int top_k = PG_ARGISNULL(2) ? (is_switch ? 1 : std::min(2, experts)) : PG_GETARG_INT32(2);
  if (is_switch && top_k != 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("the switch router sends each vector to one expert: top_k must be 1, not %d", top_k)));
  if (top_k < 1 || top_k > experts)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("top_k must be between 1 and num_experts (%d), not %d", experts, top_k)));
  float* scores = (float*)palloc(sizeof(float) * experts);
  rvj::runtime::Routed* out = (rvj::runtime::Routed*)palloc(sizeof(rvj::runtime::Routed) * top_k);
  RVJ_ENGINE({
    rvj::runtime::gate_scores(gate, x->x, 1, scores);
    rvj::runtime::route_scores(scores, experts, top_k, router, out);
  });
  PG_RETURN_DATUM(routed_jsonb(out, top_k));
}

RVJ_FUNCTION(ruvector_moe_expert_choice) {
  for (int a : {0, 2})
    if (PG_ARGISNULL(a))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ruvector_moe_expert_choice: %s must not be null", a ? "capacity_factor" : "embeddings")));
  Rows rows = rows_of(PG_GETARG_ARRAYTYPE_P(0), "embeddings", "Expert choice needs at least one embedding.");
  const int num_experts = experts_arg(fcinfo, 1);
  const double factor = PG_GETARG_FLOAT8(2);
  if (!(factor > 0 && std::isfinite(factor)))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("capacity_factor must be a finite number greater than 0, not %g", factor)));
  const char* model = model_arg(fcinfo, 3);
  int experts = 0;
  const Gate gate = site_gate(fcinfo, "ruvector_moe_expert_choice", model, num_experts, rows.dim, &experts);
  // capacity = ceil(n * factor / E), at most n (Zhou et al. 2022, k = n c / e)
  const double cap = std::min<double>(rows.n, std::ceil(rows.n * factor / experts));
  const int capacity = std::max(1, (int)cap);
  check_work_mem("ruvector_moe_expert_choice",
                 sizeof(float) * ((size_t)rows.n * rows.dim + (size_t)rows.n * experts) + sizeof(int64_t) * rows.n +
                     (size_t)experts * capacity * 16);
  float* x = (float*)palloc(sizeof(float) * rows.n * rows.dim);
  for (int i = 0; i < rows.n; ++i) memcpy(x + (size_t)i * rows.dim, rows.x[i], sizeof(float) * rows.dim);
  const int64_t total = (int64_t)experts * capacity;
  int* ex = (int*)palloc(sizeof(int) * total);
  int* row = (int*)palloc(sizeof(int) * total);
  float* w = (float*)palloc(sizeof(float) * total);
  RVJ_ENGINE({
    std::vector<rvj::runtime::Chosen> c = rvj::runtime::expert_choice(gate, x, rows.n, capacity);
    for (size_t j = 0; j < c.size(); ++j) ex[j] = c[j].expert, row[j] = (int)c[j].row + 1, w[j] = c[j].weight;
  });
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  for (int64_t j = 0; j < total; ++j) {
    Datum values[3] = {Int32GetDatum(ex[j]), Int32GetDatum(row[j]), Float4GetDatum(w[j])};
    bool nulls[3] = {};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}

// ruvector_moe_fit(table_name, column_name, num_experts, model_name,
// max_iterations, seed, replace): k-means centroids of a uniform sample of
// the rows (all of them when they fit in work_mem), stored as a moe_gate
// whose top-1 is the nearest centroid.
RVJ_FUNCTION(ruvector_moe_fit) {
  static const char* const names[] = {"table_name", nullptr, "num_experts", "model_name", "max_iterations", "seed",
                                      "replace"};
  for (int i = 0; i < 7; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_moe_fit: %s must not be null", names[i])));
  const int experts = experts_arg(fcinfo, 2);
  const char* model = text_to_cstring(PG_GETARG_TEXT_PP(3));
  const int max_iter = PG_GETARG_INT32(4);
  const int64 seed = PG_GETARG_INT64(5);
  const bool replace = PG_GETARG_BOOL(6);
  if (max_iter < 1 || max_iter > 10000)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("max_iterations must be between 1 and 10000, not %d", max_iter)));
  const TableSource t = resolve_table("ruvector_moe_fit", PG_GETARG_OID(0), own_vector_type(fcinfo),
                                      PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1)), nullptr,
                                      "table_name", "column_name", nullptr);

  // Read the rows: a reservoir sample (splitmix64 from seed) of as many as
  // work_mem holds, so memory stays bounded on any table.
  MemoryContext keep = AllocSetContextCreate(CurrentMemoryContext, "ruvector_moe_fit rows", ALLOCSET_DEFAULT_SIZES);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_moe_fit: SPI_connect failed");
  Portal p = SPI_cursor_open_with_args(nullptr, psprintf("SELECT %s FROM %s WHERE %s IS NOT NULL", t.column, t.relation, t.column),
                                       0, nullptr, nullptr, nullptr, true, 0);
  int dims = -1;
  int64_t seen = 0, capacity = 0, held = 0;
  float* x = nullptr;
  uint64_t state = (uint64_t)seed;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    SPI_cursor_fetch(p, true, 1000);
    if (SPI_processed == 0) break;
    for (uint64 r = 0; r < SPI_processed; ++r) {
      bool isnull;
      RuVector* v = DatumGetRuVector(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
      if (dims < 0) {
        dims = v->dim;
        capacity = std::max<int64_t>(experts, (int64_t)work_mem * 1024 / ((int64_t)sizeof(float) * dims));
        capacity = std::min<int64_t>(capacity, (int64_t)(MaxAllocSize / (sizeof(float) * dims)));
        x = (float*)MemoryContextAlloc(keep, sizeof(float) * dims * std::min<int64_t>(capacity, 1024));
        held = std::min<int64_t>(capacity, 1024);
      } else if (v->dim != dims) {
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("ruvector_moe_fit: rows of %d and %d dimensions in column %s", dims, v->dim, t.column)));
      }
      int64_t slot = seen;
      if (seen >= capacity) {  // reservoir: keep row `seen` with probability capacity / (seen + 1)
        const uint64_t j = rvj::ir::splitmix64(state) % (uint64_t)(seen + 1);
        slot = (int64_t)j < capacity ? (int64_t)j : -1;
      } else if (seen >= held) {
        held = std::min(capacity, held * 2);
        x = (float*)repalloc(x, sizeof(float) * dims * held);
      }
      if (slot >= 0) memcpy(x + slot * dims, v->x, sizeof(float) * dims);
      ++seen;
    }
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_cursor_close(p);
  SPI_finish();
  const int64_t n = std::min(seen, capacity);
  if (n < experts)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("ruvector_moe_fit: %lld rows cannot make %d experts", (long long)n, experts),
                    errhint("k-means needs at least as many rows as experts.")));
  float* centroids = (float*)palloc(sizeof(float) * experts * dims);
  float* weight = (float*)palloc(sizeof(float) * experts * dims);
  float* bias = (float*)palloc(sizeof(float) * experts);
  int rounds = 0;
  RVJ_ENGINE({
    rounds = rvj::runtime::kmeans(x, n, dims, experts, (uint64_t)seed, max_iter, centroids);
    rvj::runtime::centroid_gate(centroids, experts, dims, weight, bias);
  });
  MemoryContextDelete(keep);

  // Store through ruvector_model_load, so the checks and ownership are one.
  int wdims[2] = {experts, dims}, lbs[2] = {1, 1};
  Datum* wd = (Datum*)palloc(sizeof(Datum) * experts * dims);
  for (int i = 0; i < experts * dims; ++i) wd[i] = Float4GetDatum(weight[i]);
  Datum* bd = (Datum*)palloc(sizeof(Datum) * experts);
  for (int i = 0; i < experts; ++i) bd[i] = Float4GetDatum(bias[i]);
  ArrayType* wa = construct_md_array(wd, nullptr, 2, wdims, lbs, FLOAT4OID, 4, true, TYPALIGN_INT);
  ArrayType* ba = construct_md_array(bd, nullptr, 1, wdims, lbs, FLOAT4OID, 4, true, TYPALIGN_INT);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_moe_fit: SPI_connect failed");
  const char* schema = own_schema(fcinfo);
  Oid types[4] = {TEXTOID, FLOAT4ARRAYOID, FLOAT4ARRAYOID, BOOLOID};
  Datum values[4] = {CStringGetTextDatum(model), PointerGetDatum(wa), PointerGetDatum(ba), BoolGetDatum(replace)};
  const char* sql = psprintf(
      "SELECT %s.ruvector_model_load($1, 'moe_gate', ARRAY[%s.ruvector_tensor('weight', $2), "
      "%s.ruvector_tensor('bias', $3)], replace => $4)",
      schema, schema, schema);
  if (SPI_execute_with_args(sql, 4, types, values, nullptr, false, 0) != SPI_OK_SELECT)
    elog(ERROR, "ruvector_moe_fit: storing the model failed");
  SPI_finish();
  StringInfoData s;
  initStringInfo(&s);
  appendStringInfoString(&s, "{\"model\": ");
  escape_json(&s, model);
  appendStringInfo(&s, ", \"num_experts\": %d, \"dims\": %d, \"rows\": %lld, \"sampled\": %lld, \"iterations\": %d}",
                   experts, dims, (long long)seen, (long long)n, rounds);
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}
