// ruvector_search(table_name, query, k, metric, ...): the k rows nearest the
// query, as ORDER BY column <op> query LIMIT k gives them, computed in each
// partition and merged here. On a table sharded with postgres_fdw each shard
// then sends k (id, distance) pairs, not its rows.
//
// exact (the default) runs the aggregate ruvector_search_scan(id, distance,
// k) over each partition: postgres_fdw pushes a whole aggregate down, so
// the shard scans its rows, keeps its k best and sends them as one value.
// exact := false runs ORDER BY column <op> query LIMIT k on each partition,
// which its ruvector_attention index can serve; postgres_fdw pushes that
// ORDER BY and LIMIT down, but PostgreSQL 15 fetches columns, not
// expressions, from a scan, so each shard then sends its k rows' vectors.
#include "pg/errors.h"
#include "pg/partitions.h"
#include "pg/table_source.h"
#include "pg/vector.h"
#include "pg/vector_arrays.h"
#include "runtime/top_k.h"

extern "C" {
#include "executor/spi.h"
}

using namespace rvj::pg;
using rvj::runtime::TopEntry;

namespace {

struct Metric {
  const char* name;
  const char* op;
  const char* function;
};
constexpr Metric kMetrics[] = {
    {"inner_product", "<#>", "ruvector_negative_inner_product"},
    {"cosine", "<=>", "ruvector_cosine_distance"},
    {"l2", "<->", "ruvector_l2_distance"},
    {"poincare", "<~>", "ruvector_poincare_distance"},
};

const Metric& find_metric(const char* name) {
  for (const Metric& m : kMetrics)
    if (strcmp(name, m.name) == 0 || strcmp(name, m.op) == 0) return m;
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_search: unknown metric \"%s\"", name),
                  errhint("Use inner_product (<#>, the default), cosine (<=>), l2 (<->) or poincare (<~>).")));
}

// The aggregate's state and its result (bytea): the k nearest so far as a
// heap of (-distance, id), so the best is the highest value; the result is
// sorted, nearest first. Flat, so serialising is a copy.
struct SearchScan {
  int32 vl_len_;
  int32 k, size;
  int32 sorted;
};
TopEntry* entries(SearchScan* st) { return (TopEntry*)(st + 1); }
size_t scan_size(int k) { return sizeof(SearchScan) + sizeof(TopEntry) * (size_t)k; }

SearchScan* checked_scan(SearchScan* st, size_t size) {
  if (size < sizeof(SearchScan) || st->k < 1 || st->size < 0 || st->size > st->k || scan_size(st->k) != size)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("invalid ruvector_search_scan state")));
  return st;
}

MemoryContext aggregate_context(FunctionCallInfo fcinfo) {
  MemoryContext ctx;
  if (!AggCheckCallContext(fcinfo, &ctx)) elog(ERROR, "ruvector_search_scan called in non-aggregate context");
  return ctx;
}

}  // namespace

// (state, id bigint, distance float8, k integer)
RVJ_FUNCTION(ruvector_search_scan_transition) {
  MemoryContext ctx = aggregate_context(fcinfo);
  SearchScan* st = PG_ARGISNULL(0) ? nullptr : (SearchScan*)PG_GETARG_POINTER(0);
  if (PG_ARGISNULL(2)) {  // rows without a vector take no part
    if (st) PG_RETURN_POINTER(st);
    PG_RETURN_NULL();
  }
  if (PG_ARGISNULL(1) || PG_ARGISNULL(3))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ruvector_search_scan: %s must not be null", PG_ARGISNULL(1) ? "the id" : "k")));
  const int k = PG_GETARG_INT32(3);
  if (st == nullptr) {
    if (k < 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
    check_work_mem("ruvector_search_scan", scan_size(k));
    st = (SearchScan*)MemoryContextAllocZero(ctx, scan_size(k));
    SET_VARSIZE(st, scan_size(k));
    st->k = k;
  } else if (k != st->k) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_search_scan needs the same k for every row")));
  }
  const double d = PG_GETARG_FLOAT8(2);
  if (!std::isnan(d)) rvj::runtime::top_k_offer(entries(st), &st->size, st->k, TopEntry{-d, PG_GETARG_INT64(1)});
  PG_RETURN_POINTER(st);
}

RVJ_FUNCTION(ruvector_search_scan_combine) {
  MemoryContext ctx = aggregate_context(fcinfo);
  SearchScan* a = PG_ARGISNULL(0) ? nullptr : (SearchScan*)PG_GETARG_POINTER(0);
  SearchScan* b = PG_ARGISNULL(1) ? nullptr : (SearchScan*)PG_GETARG_POINTER(1);
  if (b == nullptr) {
    if (a) PG_RETURN_POINTER(a);
    PG_RETURN_NULL();
  }
  if (a == nullptr) {
    a = (SearchScan*)MemoryContextAlloc(ctx, VARSIZE(b));
    memcpy(a, b, VARSIZE(b));
    PG_RETURN_POINTER(a);
  }
  if (a->k != b->k)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_search_scan needs the same k for every row")));
  for (int i = 0; i < b->size; i++) rvj::runtime::top_k_offer(entries(a), &a->size, a->k, entries(b)[i]);
  PG_RETURN_POINTER(a);
}

RVJ_FUNCTION(ruvector_search_scan_serialize) {
  SearchScan* st = (SearchScan*)PG_GETARG_POINTER(0);
  bytea* out = (bytea*)palloc(VARSIZE(st));
  memcpy(out, st, VARSIZE(st));
  PG_RETURN_BYTEA_P(out);
}

RVJ_FUNCTION(ruvector_search_scan_deserialize) {
  bytea* in = PG_GETARG_BYTEA_PP(0);
  const size_t size = VARSIZE_ANY_EXHDR(in) + VARHDRSZ;
  SearchScan* st = (SearchScan*)palloc0(Max(size, sizeof(SearchScan)));
  memcpy((char*)st + VARHDRSZ, VARDATA_ANY(in), size - VARHDRSZ);
  SET_VARSIZE(st, size);
  PG_RETURN_POINTER(checked_scan(st, size));
}

RVJ_FUNCTION(ruvector_search_scan_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  SearchScan* st = (SearchScan*)PG_GETARG_POINTER(0);
  SearchScan* out = (SearchScan*)palloc(VARSIZE(st));
  memcpy(out, st, VARSIZE(st));
  rvj::runtime::top_k_sort(entries(out), out->size);
  out->sorted = 1;
  PG_RETURN_BYTEA_P(out);
}

// (table_name, query, k, metric, column_name, id_column, exact)
RVJ_FUNCTION(ruvector_search) {
  static const char* const names[] = {"table_name", "query", "k", "metric", nullptr, nullptr, "exact"};
  for (int i = 0; i < 7; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_search: %s must not be null",
                                                                      names[i])));
  const Oid relid = PG_GETARG_OID(0);
  RuVector* q = PG_GETARG_RUVECTOR_P(1);
  const int k = PG_GETARG_INT32(2);
  const Metric& metric = find_metric(text_to_cstring(PG_GETARG_TEXT_PP(3)));
  const bool exact = PG_GETARG_BOOL(6);
  if (k < 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
  check_work_mem("ruvector_search", sizeof(TopEntry) * (size_t)k);
  const Oid vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
  const TableSource t = resolve_table("ruvector_search", relid, vtype, text_arg(fcinfo, 4), text_arg(fcinfo, 5),
                                      "table_name", "column_name", "id_column");
  if (!t.integer_id)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("id column %s is of type %s; ruvector_search returns ids of type smallint, integer or "
                           "bigint",
                           t.id, format_type_be(t.id_type)),
                    errhint("Pass id_column => a column of one of those types.")));
  if (t.dims > 0 && t.dims != q->dim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different ruvector dimensions %d and %d", t.dims, q->dim)));

  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const char* schema = own_schema(fcinfo);
  const char* distance = psprintf("%s.%s(%s, $1)::float8", schema, metric.function, t.column);
  // k is an integer, so it goes into the text as a literal: postgres_fdw
  // pushes the LIMIT down whatever the plan.
  const char* head = exact ? psprintf("SELECT %s.ruvector_search_scan(%s::bigint, %s, %d) FROM", schema, t.id,
                                      distance, k)
                           : psprintf("SELECT %s::bigint, %s FROM", t.id, distance);
  const char* tail = exact ? psprintf("WHERE %s IS NOT NULL", t.column)
                           : psprintf("WHERE %s IS NOT NULL ORDER BY %s OPERATOR(%s.%s) $1 LIMIT %d", t.column,
                                      t.column, schema, metric.op, k);
  Leaves leaves;
  const bool per_partition = partition_leaves(relid, &leaves);
  if (per_partition && leaves.count == 0) return (Datum)0;  // a partitioned table without partitions
  const char* sql = per_partition ? union_all(leaves, head, tail) : psprintf("%s %s %s", head, t.relation, tail);
  TopEntry* best = (TopEntry*)palloc(sizeof(TopEntry) * k);
  int count = 0;
  Oid types[1] = {vtype};
  Datum values[1] = {PointerGetDatum(q)};
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_search: SPI_connect failed");
  if (SPI_execute_with_args(sql, 1, types, values, nullptr, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "ruvector_search: the query of %s failed", t.relation);
  for (uint64 r = 0; r < SPI_processed; r++) {
    bool null_id, null_d;
    Datum first = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &null_id);
    if (exact) {
      if (null_id) continue;  // a partition without a vector
      bytea* b = DatumGetByteaPP(first);
      const size_t size = VARSIZE_ANY_EXHDR(b) + VARHDRSZ;
      SearchScan* st = (SearchScan*)palloc0(Max(size, sizeof(SearchScan)));
      memcpy((char*)st + VARHDRSZ, VARDATA_ANY(b), size - VARHDRSZ);
      checked_scan(st, size);
      if (st->k != k || !st->sorted)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("ruvector_search: a partition of %s returned a result of the wrong shape", t.relation)));
      for (int j = 0; j < st->size; j++) rvj::runtime::top_k_offer(best, &count, k, entries(st)[j]);
      continue;
    }
    if (null_id)
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_search: an id is NULL"),
                      errhint("Use an id column without NULLs.")));
    const int64 id = DatumGetInt64(first);
    const double d = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &null_d));
    if (null_d) continue;
    // Higher value ranks first: the smallest distance, ties to the smaller id.
    rvj::runtime::top_k_offer(best, &count, k, TopEntry{-d, id});
  }
  SPI_finish();
  rvj::runtime::top_k_sort(best, count);
  for (int i = 0; i < count; i++) {
    Datum out[2] = {Int64GetDatum(best[i].key), Float8GetDatum(-best[i].value)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
  }
  return (Datum)0;
}
