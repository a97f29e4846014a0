// ruvector_cross_attention(query_table, query_column, document_table,
// document_column, attention_type, k, ...): for every query row, the k
// documents with the highest attention weight over all documents, and that
// weight. Queries are read in blocks that fit work_mem; for each block one
// cursor streams the documents through runtime::CrossScan (blocked logits,
// a running log-sum-exp and a top-k heap per query).
#include "pg/errors.h"
#include "pg/index/index.h"
#include "pg/params.h"
#include "pg/partitions.h"
#include "pg/table_source.h"
#include "pg/vector.h"
#include "pg/vector_arrays.h"
#include "runtime/cross_scan.h"
#include "runtime/dot_block.h"
#include "runtime/head_weights.h"
#include "runtime/top_k.h"

#include <algorithm>

extern "C" {
#include "executor/spi.h"
#include "utils/hsearch.h"
#include "catalog/pg_type.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

using namespace rvj::pg;
using rvj::runtime::CrossScan;
using rvj::runtime::TopEntry;

namespace {

constexpr int kFetchQueries = 256;

enum class IdOut { Int2, Int4, Int8, Text };

IdOut id_target(Form_pg_attribute a, int col, const TableSource& src, const char* table_arg) {
  const Oid t = a->atttypid;
  if (t == TEXTOID || t == VARCHAROID) return IdOut::Text;
  if (t == INT2OID || t == INT4OID || t == INT8OID) {
    if (!src.integer_id)
      ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                      errmsg("ruvector_cross_attention: column %d (%s) asks for %s, but the ids of %s are of type %s",
                             col + 1, NameStr(a->attname), format_type_be(t), table_arg, format_type_be(src.id_type)),
                      errhint("Ask for them as text.")));
    return t == INT2OID ? IdOut::Int2 : t == INT4OID ? IdOut::Int4 : IdOut::Int8;
  }
  ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                  errmsg("ruvector_cross_attention: column %d (%s) is of type %s", col + 1, NameStr(a->attname),
                         format_type_be(t)),
                  errhint("Ids come back as smallint, integer, bigint or text, as the column definition list asks, "
                          "for example AS (query_id int, doc_id int, score float).")));
}

struct Output {
  IdOut query, doc;
  bool score8;
};

Output check_columns(TupleDesc td, const TableSource& qs, const TableSource& ds) {
  if (td->natts != 3)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("ruvector_cross_attention returns 3 columns (query id, document id, score), not %d",
                           td->natts),
                    errhint("Use a column definition list such as AS (query_id int, doc_id int, score float).")));
  Output o;
  o.query = id_target(TupleDescAttr(td, 0), 0, qs, "query_table");
  o.doc = id_target(TupleDescAttr(td, 1), 1, ds, "document_table");
  const Oid st = TupleDescAttr(td, 2)->atttypid;
  if (st != FLOAT4OID && st != FLOAT8OID)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("ruvector_cross_attention: column 3 (%s) is of type %s", NameStr(TupleDescAttr(td, 2)->attname),
                           format_type_be(st)),
                    errhint("The score comes back as real or double precision (float).")));
  o.score8 = st == FLOAT8OID;
  return o;
}

Datum id_datum(IdOut out, bool integer, int64 key, const char* text, const char* which) {
  if (out == IdOut::Text) return CStringGetTextDatum(integer ? psprintf(INT64_FORMAT, key) : text);
  if ((out == IdOut::Int2 && (key < PG_INT16_MIN || key > PG_INT16_MAX)) ||
      (out == IdOut::Int4 && (key < PG_INT32_MIN || key > PG_INT32_MAX)))
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("%s id " INT64_FORMAT " is out of range for type %s", which, key,
                           out == IdOut::Int2 ? "smallint" : "integer"),
                    errhint("Ask for the ids as bigint.")));
  return out == IdOut::Int2 ? Int16GetDatum((int16)key) : out == IdOut::Int4 ? Int32GetDatum((int32)key)
                                                                             : Int64GetDatum(key);
}

// The C++ scan lives across SPI calls, any of which may ERROR: a reset
// callback on its memory context deletes it however the call ends.
struct Held {
  CrossScan* scan;
  MemoryContextCallback cb;
};
void delete_scan(void* arg) {
  Held* h = (Held*)arg;
  delete h->scan;
  h->scan = nullptr;
}

// Text ids of documents that entered some query's k best, by key.
struct TextId {
  int64 key;
  char* text;
};
HTAB* new_id_table(MemoryContext ctx) {
  HASHCTL ctl;
  ctl.keysize = sizeof(int64);
  ctl.entrysize = sizeof(TextId);
  ctl.hcxt = ctx;
  return hash_create("ruvector_cross_attention ids", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

// Reads row r of the last fetch, in ctx: its id (key, or text) and vector;
// false if the vector is NULL (such rows take no part).
bool read_row(MemoryContext ctx, uint64 r, bool integer, int64* key, char** label, RuVector** v, const char* which) {
  HeapTuple tup = SPI_tuptable->vals[r];
  TupleDesc desc = SPI_tuptable->tupdesc;
  MemoryContext caller = MemoryContextSwitchTo(ctx);
  bool isnull;
  Datum vd = SPI_getbinval(tup, desc, 2, &isnull);
  if (isnull) {
    MemoryContextSwitchTo(caller);
    return false;
  }
  Datum id = SPI_getbinval(tup, desc, 1, &isnull);
  if (isnull)
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_cross_attention: a %s id is NULL", which),
                    errhint("Use an id column without NULLs (the primary key is the default).")));
  if (integer)
    *key = DatumGetInt64(id);
  else
    *label = TextDatumGetCString(id);
  *v = DatumGetRuVector(vd);
  MemoryContextSwitchTo(caller);
  return true;
}

void check_dims(int expected, int got) {
  if (expected != got)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different ruvector dimensions %d and %d", expected, got)));
}

// The next block of up to `max` query rows from the cursor, copied into ctx
// (reset first); dims is set from the first vector when still unknown.
struct QueryBlock {
  bool done;  // the cursor had no more rows
  int n;      // rows with a vector (0 when all of this fetch's were NULL)
  int64* keys;
  char** texts;
  RuVector** vecs;
};
QueryBlock fetch_queries(Portal portal, int max, MemoryContext ctx, const TableSource& qs, int* dims) {
  QueryBlock b{false, 0, nullptr, nullptr, nullptr};
  SPI_cursor_fetch(portal, true, max);
  const uint64 got = SPI_processed;
  b.done = got == 0;
  if (b.done) return b;
  MemoryContextReset(ctx);
  SPITupleTable* rows = SPI_tuptable;
  b.keys = (int64*)MemoryContextAlloc(ctx, sizeof(int64) * got);
  b.texts = (char**)MemoryContextAlloc(ctx, sizeof(char*) * got);
  b.vecs = (RuVector**)MemoryContextAlloc(ctx, sizeof(RuVector*) * got);
  for (uint64 r = 0; r < got; r++) {
    int64 key = 0;
    char* text = nullptr;
    RuVector* v;
    if (!read_row(ctx, r, qs.integer_id, &key, &text, &v, "query")) continue;
    if (*dims <= 0) *dims = v->dim;
    check_dims(*dims, v->dim);
    b.keys[b.n] = key;
    b.texts[b.n] = text;
    b.vecs[b.n] = (RuVector*)MemoryContextAlloc(ctx, VARSIZE(v));  // the tuple goes with the fetch
    memcpy(b.vecs[b.n], v, VARSIZE(v));
    b.n++;
  }
  SPI_freetuptable(rows);
  return b;
}

// The similarity whose index ranks documents as attention_type's logit
// does: scaled_dot by the inner product, cosine (a positive scale) by cosine.
bool index_metric(const rvj::ir::Mechanism& m, const double* params, rvj::runtime::hnsw::Metric* metric) {
  if (strcmp(m.name, "scaled_dot") == 0) {
    *metric = rvj::runtime::hnsw::Metric::InnerProduct;
    return true;
  }
  if (strcmp(m.name, "cosine") == 0 && params[0] > 0) {
    *metric = rvj::runtime::hnsw::Metric::Cosine;
    return true;
  }
  return false;
}

// exact := false with a matching ruvector_attention index on the document
// column: per query, the index's candidates (max(k, ruvector_jit.ef_search)
// of them), their logits from the per-row kernel, and the weights with the
// softmax taken over the candidates.
void approximate(FunctionCallInfo fcinfo, const TableSource& qs, const TableSource& ds, const Output& out,
                 const rvj::ir::Mechanism& m, const double* params, int k, rvj::runtime::hnsw::Metric metric,
                 Oid vector_type) {
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const int per = Max(k, rvj::pg::index::ef_search);
  check_work_mem("ruvector_cross_attention", (size_t)per * (sizeof(int64) + sizeof(double) + sizeof(char*)) +
                                                 sizeof(TopEntry) * (size_t)k);
  const bool jit = jit_enabled;
  MemoryContext block_ctx = AllocSetContextCreate(CurrentMemoryContext, "query block", ALLOCSET_DEFAULT_SIZES);
  MemoryContext row_ctx = AllocSetContextCreate(CurrentMemoryContext, "candidates", ALLOCSET_DEFAULT_SIZES);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_cross_attention: SPI_connect failed");
  const char* qsql = psprintf("SELECT %s, %s FROM %s", id_select(qs), qs.column, qs.relation);
  const char* dsql = psprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL ORDER BY %s OPERATOR(%s.%s) $1 LIMIT $2",
                              id_select(ds), ds.column, ds.relation, ds.column, ds.column, own_schema(fcinfo),
                              metric == rvj::runtime::hnsw::Metric::Cosine ? "<=>" : "<#>");
  Oid types[2] = {vector_type, INT4OID};
  SPIPlanPtr plan = SPI_prepare(dsql, 2, types);
  if (!plan) elog(ERROR, "ruvector_cross_attention: SPI_prepare failed");
  Portal qportal = SPI_cursor_open_with_args(nullptr, qsql, 0, nullptr, nullptr, nullptr, true, 0);
  int dims = qs.dims > 0 ? qs.dims : ds.dims;
  rvj::runtime::Bound kernel{};
  bool bound = false;
  int64* keys = (int64*)palloc(sizeof(int64) * per);
  double* logits = (double*)palloc(sizeof(double) * per);
  char** texts = (char**)palloc(sizeof(char*) * per);
  TopEntry* best = (TopEntry*)palloc(sizeof(TopEntry) * k);
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    const QueryBlock block = fetch_queries(qportal, kFetchQueries, block_ctx, qs, &dims);
    if (block.done) break;
    const int nq = block.n;
    int64* qkeys = block.keys;
    char** qtexts = block.texts;
    RuVector** qvecs = block.vecs;
    if (nq > 0 && !bound) {
      RVJ_ENGINE(kernel = rvj::runtime::bind(m, dims, jit));
      bound = true;
    }
    for (int i = 0; i < nq; i++) {
      CHECK_FOR_INTERRUPTS();
      MemoryContextReset(row_ctx);
      Datum values[2] = {PointerGetDatum(qvecs[i]), Int32GetDatum(per)};
      if (SPI_execute_plan(plan, values, nullptr, true, per) != SPI_OK_SELECT)
        elog(ERROR, "ruvector_cross_attention: the candidate query failed");
      // The query may have run other kernels (a view, a policy) and the
      // cache may have dropped ours.
      if (!rvj::runtime::still_valid(kernel)) RVJ_ENGINE(kernel = rvj::runtime::bind(m, dims, jit));
      int n = 0;
      for (uint64 r = 0; r < SPI_processed && n < per; r++) {
        int64 key = 0;
        char* text = nullptr;
        RuVector* v;
        if (!read_row(row_ctx, r, ds.integer_id, &key, &text, &v, "document")) continue;
        check_dims(dims, v->dim);
        double logit = 0;
        const float* qx = qvecs[i]->x;
        RVJ_ENGINE(logit = rvj::runtime::run_with_params(kernel, params, qx, v->x));
        keys[n] = ds.integer_id ? key : n;
        texts[n] = text;
        logits[n] = logit;
        n++;
      }
      SPI_freetuptable(SPI_tuptable);
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < n; j++) mx = Max(mx, logits[j]);
      for (int j = 0; j < n; j++) sum += exp(logits[j] - mx);
      int count = 0;
      for (int j = 0; j < n; j++) rvj::runtime::top_k_offer(best, &count, k, {exp(logits[j] - mx) / sum, keys[j]});
      std::sort(best, best + count, rvj::runtime::ranks_before);
      for (int j = 0; j < count; j++) {
        const char* doc_text = ds.integer_id ? nullptr : texts[best[j].key];
        Datum row[3] = {id_datum(out.query, qs.integer_id, qkeys[i], qtexts[i], "query"),
                        id_datum(out.doc, ds.integer_id, best[j].key, doc_text, "document"),
                        out.score8 ? Float8GetDatum(best[j].value) : Float4GetDatum((float4)best[j].value)};
        bool nulls[3] = {false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
      }
    }
  }
  SPI_cursor_close(qportal);
  SPI_finish();
  MemoryContextDelete(block_ctx);
  MemoryContextDelete(row_ctx);
}

// ---- the per-shard scan ----------------------------------------------------
// ruvector_cross_scan(id, document, queries, k, attention_type, params):
// a CrossScan of a block of queries over the rows of one table, as an
// aggregate so that postgres_fdw pushes it down whole to a shard. Its
// result (bytea) holds per query the running log-sum-exp and the k best
// (id, logit): what the coordinator needs to merge shards exactly.
struct CrossAgg {
  Held held;
  int dims, nq, k, pending;
  Datum queries;  // the arguments seen on the first row (one param: the same datum)
  ArrayType* first;
  Datum attention_datum;
  varlena* attention;
};

// The result: nq, k, then per query (m, s, count), then per query k entries.
struct CrossPartial {
  int32 vl_len_;
  int32 nq, k, pad;
};
struct QueryPartial {
  double m, s;
  int64 count;
};
size_t partial_size(int nq, int k) {
  return sizeof(CrossPartial) + sizeof(QueryPartial) * nq + sizeof(TopEntry) * (size_t)nq * k;
}
QueryPartial* partial_queries(CrossPartial* p) { return (QueryPartial*)(p + 1); }
TopEntry* partial_entries(CrossPartial* p, int i) {
  return (TopEntry*)(partial_queries(p) + p->nq) + (size_t)i * p->k;
}

void flush(CrossAgg* a) {
  if (a->pending == 0) return;
  RVJ_ENGINE({
    a->held.scan->start_documents(0, a->pending);
    a->held.scan->finish_documents();
  });
  a->pending = 0;
}

}  // namespace

// The same datum, or equal bytes: the call's constant, row after row.
bool same_datum(Datum d, Datum last, const varlena* first) {
  if (d == last) return true;
  varlena* v = PG_DETOAST_DATUM(d);
  return VARSIZE(v) == VARSIZE(first) && memcmp(v, first, VARSIZE(first)) == 0;
}

// (state, id bigint, document, queries real[nq][dims], k, attention jsonb)
RVJ_FUNCTION(ruvector_cross_scan_transition) {
  MemoryContext ctx;
  if (!AggCheckCallContext(fcinfo, &ctx)) elog(ERROR, "ruvector_cross_scan called in non-aggregate context");
  CrossAgg* a = PG_ARGISNULL(0) ? nullptr : (CrossAgg*)PG_GETARG_POINTER(0);
  if (PG_ARGISNULL(2)) {  // rows without a vector take no part
    if (a) PG_RETURN_POINTER(a);
    PG_RETURN_NULL();
  }
  static const char* const names[] = {nullptr, "the id", nullptr, "queries", "k", "attention"};
  for (int i = 1; i < 6; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_cross_scan: %s must not be null",
                                                                      names[i])));
  RuVector* d = PG_GETARG_RUVECTOR_P(2);
  const int k = PG_GETARG_INT32(4);
  if (a == nullptr) {
    if (k < 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
    MemoryContext caller = MemoryContextSwitchTo(ctx);
    a = (CrossAgg*)palloc0(sizeof(CrossAgg));
    a->first = (ArrayType*)PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(3));
    a->queries = PG_GETARG_DATUM(3);
    a->attention = PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(5));
    a->attention_datum = PG_GETARG_DATUM(5);
    MemoryContextSwitchTo(caller);
    // real[nq][dims]: a built-in type, which postgres_fdw ships (it ships
    // no array of an extension's type), exact in text with the
    // extra_float_digits = 3 it sets.
    ArrayType* qa = a->first;
    if (ARR_NDIM(qa) != 2 || ARR_ELEMTYPE(qa) != FLOAT4OID || ARR_HASNULL(qa) || ARR_DIMS(qa)[0] < 1 ||
        ARR_DIMS(qa)[1] != d->dim)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_cross_scan: queries must be a real[nq][%d] array without NULLs", d->dim),
                      errhint("One row of the documents' %d dimensions per query.", d->dim)));
    struct {
      int n, dim;
      const float* x;
    } q{ARR_DIMS(qa)[0], ARR_DIMS(qa)[1], (const float*)ARR_DATA_PTR(qa)};
    for (int i = 0; i < q.n * q.dim; i++)
      if (!std::isfinite(q.x[i]))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("ruvector_cross_scan: a query is not finite")));
    const AttentionOptions o = attention_options((Jsonb*)a->attention, "ruvector_cross_scan");
    const rvj::ir::Mechanism* m = nullptr;
    RVJ_ENGINE(m = &rvj::runtime::row_score_mechanism(o.type));
    double params[rvj::ir::kMaxParams] = {};
    parse_params(o.params, *m, params);
    RVJ_ENGINE(rvj::ir::check_params(*m, params));
    const int threads = call_threads();
    check_work_mem("ruvector_cross_scan", CrossScan::memory(q.n, q.dim, k, CrossScan::kBlockDocs, threads));
    a->dims = q.dim, a->nq = q.n, a->k = k;
    a->held.cb.func = delete_scan;
    a->held.cb.arg = &a->held;
    MemoryContextRegisterResetCallback(ctx, &a->held.cb);
    const bool jit = jit_enabled;
    RVJ_ENGINE({
      a->held.scan = new CrossScan(*m, params, q.dim, k, threads, jit);
      a->held.scan->set_queries(q.x, q.n);
    });
  } else if (k != a->k || !same_datum(PG_GETARG_DATUM(3), a->queries, (varlena*)a->first) ||
             !same_datum(PG_GETARG_DATUM(5), a->attention_datum, a->attention)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_cross_scan needs the same queries, k and attention for every row")));
  }
  check_dims(a->dims, d->dim);
  const int64 id = PG_GETARG_INT64(1);
  memcpy(a->held.scan->staging(0) + (size_t)a->pending * a->dims, d->x, sizeof(float) * a->dims);
  a->held.scan->staging_keys(0)[a->pending++] = id;
  if (a->pending == CrossScan::kBlockDocs) flush(a);
  PG_RETURN_POINTER(a);
}

RVJ_FUNCTION(ruvector_cross_scan_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  CrossAgg* a = (CrossAgg*)PG_GETARG_POINTER(0);
  flush(a);
  const size_t size = partial_size(a->nq, a->k);
  CrossPartial* p = (CrossPartial*)palloc0(size);
  SET_VARSIZE(p, size);
  p->nq = a->nq, p->k = a->k;
  for (int i = 0; i < a->nq; i++) {
    QueryPartial* qp = &partial_queries(p)[i];
    TopEntry* e = partial_entries(p, i);
    RVJ_ENGINE({
      const std::vector<TopEntry> best = a->held.scan->partial(i, &qp->m, &qp->s);
      qp->count = (int64)best.size();
      std::copy(best.begin(), best.end(), e);
    });
  }
  PG_RETURN_BYTEA_P(p);
}

namespace {

// A document table partitioned into foreign tables (sharded with
// postgres_fdw): the queries go to each partition in blocks, as an array
// parameter (real[nq][dims]) of ruvector_cross_scan, which the shard runs whole; the
// coordinator merges each query's log-sum-exps and k best logits. A shard
// sends O(queries x k) numbers per block, never its documents.
void sharded(FunctionCallInfo fcinfo, const TableSource& qs, const TableSource& ds, const Leaves& leaves,
             const Output& out, int k) {
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  if (!ds.integer_id)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ruvector_cross_attention over a sharded document_table needs integer document ids"),
                    errhint("Pass document_id_column => a smallint, integer or bigint column.")));
  const char* schema = own_schema(fcinfo);
  const int block = kFetchQueries;
  check_work_mem("ruvector_cross_attention",
                 (sizeof(TopEntry) * 2 * (size_t)k + sizeof(QueryPartial) + sizeof(int64)) * block);
  MemoryContext block_ctx = AllocSetContextCreate(CurrentMemoryContext, "query block", ALLOCSET_DEFAULT_SIZES);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_cross_attention: SPI_connect failed");
  Portal qportal = SPI_cursor_open_with_args(
      nullptr, psprintf("SELECT %s, %s FROM %s", id_select(qs), qs.column, qs.relation), 0, nullptr, nullptr,
      nullptr, true, 0);
  const char* sql = union_all(
      leaves, psprintf("SELECT %s.ruvector_cross_scan(%s::bigint, %s, $1, $2, $3) FROM", schema, ds.id, ds.column), "");
  Oid types[3] = {FLOAT4ARRAYOID, INT4OID, JSONBOID};
  Datum values[3] = {0, Int32GetDatum(k),
                     PointerGetDatum(attention_options_jsonb(text_to_cstring(PG_GETARG_TEXT_PP(4)),
                                                             PG_GETARG_JSONB_P(8)))};
  int dims = qs.dims > 0 ? qs.dims : ds.dims;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    const QueryBlock qb = fetch_queries(qportal, block, block_ctx, qs, &dims);
    if (qb.done) break;
    if (qb.n == 0) continue;
    const int nq = qb.n;
    int64* qkeys = qb.keys;
    char** qtexts = qb.texts;
    MemoryContext caller = MemoryContextSwitchTo(block_ctx);
    Datum* elems = (Datum*)palloc(sizeof(Datum) * (size_t)nq * dims);
    for (int i = 0; i < nq; i++)
      for (int j = 0; j < dims; j++) elems[(size_t)i * dims + j] = Float4GetDatum(qb.vecs[i]->x[j]);
    int shape[2] = {nq, dims}, lbs[2] = {1, 1};
    values[0] = PointerGetDatum(construct_md_array(elems, nullptr, 2, shape, lbs, FLOAT4OID, 4, true, TYPALIGN_INT));
    QueryPartial* merged = (QueryPartial*)palloc(sizeof(QueryPartial) * nq);
    TopEntry* best = (TopEntry*)palloc(sizeof(TopEntry) * (size_t)nq * k);
    MemoryContextSwitchTo(caller);
    for (int i = 0; i < nq; i++) merged[i] = QueryPartial{-INFINITY, 0, 0};
    if (SPI_execute_with_args(sql, 3, types, values, nullptr, true, 0) != SPI_OK_SELECT)
      elog(ERROR, "ruvector_cross_attention: the scan of %s failed", ds.relation);
    for (uint64 r = 0; r < SPI_processed; r++) {
      bool isnull;
      Datum d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
      if (isnull) continue;  // a partition without documents
      CrossPartial* p = (CrossPartial*)PG_DETOAST_DATUM_COPY(d);  // aligned for the doubles
      bool ok = VARSIZE(p) == partial_size(nq, k) && p->nq == nq && p->k == k;
      for (int i = 0; ok && i < nq; i++) ok = partial_queries(p)[i].count >= 0 && partial_queries(p)[i].count <= k;
      if (!ok)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("ruvector_cross_attention: a partition of %s returned a scan of the wrong shape",
                               ds.relation)));
      for (int i = 0; i < nq; i++) {
        const QueryPartial& qp = partial_queries(p)[i];
        rvj::runtime::lse_merge(&merged[i].m, &merged[i].s, &qp.m, &qp.s, 1);
        int count = (int)merged[i].count;
        const TopEntry* e = partial_entries(p, i);
        for (int j = 0; j < qp.count; j++) rvj::runtime::top_k_offer(best + (size_t)i * k, &count, k, e[j]);
        merged[i].count = count;
      }
    }
    SPI_freetuptable(SPI_tuptable);
    for (int i = 0; i < nq; i++) {
      TopEntry* e = best + (size_t)i * k;
      const int count = (int)merged[i].count;
      rvj::runtime::top_k_sort(e, count);
      const double lse = merged[i].m + std::log(merged[i].s);
      for (int j = 0; j < count; j++) {
        const double w = std::exp(e[j].value - lse);
        Datum row[3] = {id_datum(out.query, qs.integer_id, qkeys[i], qtexts[i], "query"),
                        id_datum(out.doc, true, e[j].key, nullptr, "document"),
                        out.score8 ? Float8GetDatum(w) : Float4GetDatum((float4)w)};
        bool nulls[3] = {false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
      }
    }
  }
  SPI_cursor_close(qportal);
  SPI_finish();
  MemoryContextDelete(block_ctx);
}

}  // namespace

// (query_table, query_column, document_table, document_column,
//  attention_type, k, query_id_column, document_id_column, params, exact)
RVJ_FUNCTION(ruvector_cross_attention) {
  static const char* const names[] = {"query_table", nullptr, "document_table", nullptr, "attention_type",
                                      "k", nullptr, nullptr, "params", "exact"};
  for (int i = 0; i < 10; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ruvector_cross_attention: %s must not be null", names[i])));
  const int k = PG_GETARG_INT32(5);
  if (k < 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
  Jsonb* jb = PG_GETARG_JSONB_P(8);
  if (JB_ROOT_IS_OBJECT(jb)) {
    JsonbValue key;
    key.type = jbvString;
    key.val.string.val = (char*)"num_heads";
    key.val.string.len = strlen("num_heads");
    if (findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key) != nullptr)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_cross_attention is single-head: params may not set num_heads"),
                      errhint("For head-averaged weights over a table use ruvector_mha_search(table_name, query, "
                              "num_heads, k).")));
  }
  char* type = text_to_cstring(PG_GETARG_TEXT_PP(4));
  const rvj::ir::Mechanism* m = nullptr;
  RVJ_ENGINE(m = &rvj::runtime::row_score_mechanism(type));
  double params[rvj::ir::kMaxParams] = {};
  parse_params(jb, *m, params);
  RVJ_ENGINE(rvj::ir::check_params(*m, params));

  // The vector type is the extension's, in the schema of this function.
  const Oid vector_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("ruvector"),
                                          ObjectIdGetDatum(get_func_namespace(fcinfo->flinfo->fn_oid)));
  const TableSource qs = resolve_table("ruvector_cross_attention", PG_GETARG_OID(0), vector_type, text_arg(fcinfo, 1),
                                       text_arg(fcinfo, 6), "query_table", "query_column", "query_id_column");
  const TableSource ds = resolve_table("ruvector_cross_attention", PG_GETARG_OID(2), vector_type, text_arg(fcinfo, 3),
                                       text_arg(fcinfo, 7), "document_table", "document_column",
                                       "document_id_column");
  if (qs.dims > 0 && ds.dims > 0) check_dims(qs.dims, ds.dims);

  InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const Output out = check_columns(rsinfo->setDesc, qs, ds);
  Leaves leaves;
  if (partition_leaves(ds.relid, &leaves) && leaves.any_foreign) {
    sharded(fcinfo, qs, ds, leaves, out, k);
    return (Datum)0;
  }
  rvj::runtime::hnsw::Metric metric;
  if (!PG_GETARG_BOOL(9) && index_metric(*m, params, &metric) &&
      OidIsValid(rvj::pg::index::find_index(ds.relid, ds.attnum, metric, nullptr))) {
    approximate(fcinfo, qs, ds, out, *m, params, k, metric, vector_type);
    return (Datum)0;
  }
  const int threads = call_threads();
  const bool jit = jit_enabled;

  MemoryContext scan_ctx =
      AllocSetContextCreate(CurrentMemoryContext, "ruvector_cross_attention", ALLOCSET_DEFAULT_SIZES);
  MemoryContext block_ctx = AllocSetContextCreate(scan_ctx, "query block", ALLOCSET_DEFAULT_SIZES);
  MemoryContext batch_ctx[2] = {AllocSetContextCreate(scan_ctx, "document batch", ALLOCSET_DEFAULT_SIZES),
                                AllocSetContextCreate(scan_ctx, "document batch", ALLOCSET_DEFAULT_SIZES)};
  Held* held = (Held*)MemoryContextAllocZero(scan_ctx, sizeof(Held));
  held->cb.func = delete_scan;
  held->cb.arg = held;
  MemoryContextRegisterResetCallback(scan_ctx, &held->cb);

  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_cross_attention: SPI_connect failed");
  const char* qsql = psprintf("SELECT %s, %s FROM %s", id_select(qs), qs.column, qs.relation);
  const char* dsql = psprintf("SELECT %s, %s FROM %s", id_select(ds), ds.column, ds.relation);
  Portal qportal = SPI_cursor_open_with_args(nullptr, qsql, 0, nullptr, nullptr, nullptr, true, 0);
  int dims = qs.dims > 0 ? qs.dims : ds.dims;
  const size_t budget = (size_t)work_mem * 1024;
  const int max_docs = CrossScan::kBlockDocs;
  bool queries_done = false;
  while (!queries_done) {
    // A block of queries, as many as work_mem holds.
    MemoryContextReset(block_ctx);
    int capacity = 1, nq = 0;
    float* qbuf = nullptr;
    int64* qkeys = nullptr;
    char** qtexts = nullptr;
    for (;;) {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(qportal, true, dims > 0 ? Min(kFetchQueries, capacity - nq) : 1);
      const uint64 got = SPI_processed;
      if (got == 0) {
        queries_done = true;
        break;
      }
      MemoryContextReset(batch_ctx[0]);
      for (uint64 r = 0; r < got; r++) {
        int64 key = 0;
        char* text = nullptr;
        RuVector* v;
        if (!read_row(batch_ctx[0], r, qs.integer_id, &key, &text, &v, "query")) continue;
        if (dims <= 0) dims = v->dim;
        check_dims(dims, v->dim);
        if (qbuf == nullptr) {
          // Now that dims are known: the block's size within work_mem.
          const size_t fixed = CrossScan::memory(0, dims, k, max_docs, threads);
          const size_t per_query = sizeof(float) * 2 * dims + sizeof(TopEntry) * k +
                                   64 + sizeof(int64) + sizeof(char*);
          check_work_mem("ruvector_cross_attention", fixed + per_query * rvj::runtime::kQueryRows);
          capacity = (int)Min((budget - fixed) / per_query, (size_t)1 << 20);
          qbuf = (float*)MemoryContextAllocHuge(block_ctx, sizeof(float) * capacity * dims);
          qkeys = (int64*)MemoryContextAllocHuge(block_ctx, sizeof(int64) * capacity);
          qtexts = (char**)MemoryContextAllocHuge(block_ctx, sizeof(char*) * capacity);
        }
        memcpy(qbuf + (size_t)nq * dims, v->x, sizeof(float) * dims);
        qkeys[nq] = key;
        qtexts[nq] = text ? MemoryContextStrdup(block_ctx, text) : nullptr;
        nq++;
      }
      SPI_freetuptable(SPI_tuptable);
      if (qbuf && nq >= capacity) break;
    }
    if (nq == 0) break;

    // Every document against this block.
    RVJ_ENGINE({
      if (held->scan == nullptr) held->scan = new CrossScan(*m, params, dims, k, threads, jit);
      held->scan->set_queries(qbuf, nq);
    });
    // Documents in two alternating slots: the next batch is fetched (here,
    // through SPI) while the scan's threads score the last one.
    const int batch = CrossScan::kBlockDocs;
    char** dtexts[2] = {(char**)MemoryContextAlloc(block_ctx, sizeof(char*) * batch),
                        (char**)MemoryContextAlloc(block_ctx, sizeof(char*) * batch)};
    MemoryContext ids_ctx = AllocSetContextCreate(block_ctx, "document ids", ALLOCSET_DEFAULT_SIZES);
    HTAB* ids = ds.integer_id ? nullptr : new_id_table(ids_ctx);
    int64 seq = 0;
    int slot = 0, pending_nd = 0;
    bool pending = false;
    Portal dportal = SPI_cursor_open_with_args(nullptr, dsql, 0, nullptr, nullptr, nullptr, true, 0);
    for (;;) {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(dportal, true, batch);
      const uint64 got = SPI_processed;
      int nd = 0;
      if (got > 0) {
        MemoryContextReset(batch_ctx[slot]);
        float* dbuf = held->scan->staging(slot);
        int64* dkeys = held->scan->staging_keys(slot);
        for (uint64 r = 0; r < got; r++) {
          int64 key = 0;
          char* text = nullptr;
          RuVector* v;
          if (!read_row(batch_ctx[slot], r, ds.integer_id, &key, &text, &v, "document")) continue;
          check_dims(dims, v->dim);
          memcpy(dbuf + (size_t)nd * dims, v->x, sizeof(float) * dims);
          dkeys[nd] = ds.integer_id ? key : seq++;
          dtexts[slot][nd] = text;
          nd++;
        }
      }
      SPI_freetuptable(SPI_tuptable);
      if (pending) {
        RVJ_ENGINE(held->scan->finish_documents());
        pending = false;
        const int done = slot ^ 1;
        if (ids) {
          const std::vector<uint8_t>& entered = held->scan->entered();
          const int64* keys = held->scan->staging_keys(done);
          for (int j = 0; j < pending_nd; j++) {
            if (!entered[j]) continue;
            bool found;
            TextId* e = (TextId*)hash_search(ids, &keys[j], HASH_ENTER, &found);
            e->text = MemoryContextStrdup(ids_ctx, dtexts[done][j]);
          }
          if (hash_get_num_entries(ids) > 4 * (long)nq * k + 4096) {
            // Keep only the ids some query still holds. Every live key is
            // in the table: its size bounds theirs.
            int64* live = (int64*)MemoryContextAllocHuge(block_ctx, sizeof(int64) * hash_get_num_entries(ids));
            size_t n_live = 0;
            RVJ_ENGINE({
              const std::vector<int64_t> keys_now = held->scan->live_keys();
              n_live = keys_now.size();
              std::copy(keys_now.begin(), keys_now.end(), live);
            });
            MemoryContext fresh_ctx = AllocSetContextCreate(block_ctx, "document ids", ALLOCSET_DEFAULT_SIZES);
            HTAB* fresh = new_id_table(fresh_ctx);
            for (size_t i = 0; i < n_live; i++) {
              TextId* old = (TextId*)hash_search(ids, &live[i], HASH_FIND, nullptr);
              bool found;
              TextId* e = (TextId*)hash_search(fresh, &live[i], HASH_ENTER, &found);
              e->text = MemoryContextStrdup(fresh_ctx, old->text);
            }
            MemoryContextDelete(ids_ctx);
            pfree(live);
            ids_ctx = fresh_ctx, ids = fresh;
          }
        }
      }
      if (got == 0) break;
      if (nd > 0) {
        RVJ_ENGINE(held->scan->start_documents(slot, nd));
        pending = true;
        pending_nd = nd;
        slot ^= 1;
      }
    }
    SPI_cursor_close(dportal);

    // The block's results, query by query.
    TopEntry* best = (TopEntry*)MemoryContextAlloc(block_ctx, sizeof(TopEntry) * k);
    for (int i = 0; i < nq; i++) {
      int count = 0;
      RVJ_ENGINE({
        const std::vector<TopEntry> top = held->scan->top(i);
        count = (int)top.size();
        std::copy(top.begin(), top.end(), best);
      });
      for (int j = 0; j < count; j++) {
        const char* doc_text = nullptr;
        if (ids) doc_text = ((TextId*)hash_search(ids, &best[j].key, HASH_FIND, nullptr))->text;
        Datum values[3] = {id_datum(out.query, qs.integer_id, qkeys[i], qtexts[i], "query"),
                           id_datum(out.doc, ds.integer_id, best[j].key, doc_text, "document"),
                           out.score8 ? Float8GetDatum(best[j].value) : Float4GetDatum((float4)best[j].value)};
        bool nulls[3] = {false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
      }
    }
  }
  SPI_cursor_close(qportal);
  SPI_finish();
  MemoryContextDelete(scan_ctx);  // its callback deletes the scan
  return (Datum)0;
}
