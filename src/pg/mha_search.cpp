// ruvector_mha_search(table_name, query, num_heads, k, ...): the k rows with
// the highest head-averaged attention weight of the query over every row the
// caller can see (runtime/head_weights.h), and the aggregate it scans with.
//
// ruvector_mha_scan(id, embedding, query, num_heads, k) is one pass: each
// row's H logits beside its id (H floats a row, within work_mem) and the
// per-head log-sum-exp. Its combine and serial functions let PostgreSQL run
// it in parallel workers. When the rows outgrow work_mem it keeps only the
// normalisers, and the search scans again with
// ruvector_mha_scan(..., normalisers), which keeps the k best under them.
#include "pg/errors.h"
#include "pg/index/index.h"
#include "pg/partitions.h"
#include "pg/table_source.h"
#include "pg/vector.h"
#include "pg/vector_arrays.h"
#include "runtime/head_weights.h"
#include "runtime/top_k.h"

extern "C" {
#include "executor/spi.h"
#include "utils/jsonb.h"
}

using namespace rvj::pg;
using rvj::runtime::TopEntry;

namespace {

enum Mode : int32 {
  kRows = 0,             // every row's logits kept
  kNormalisersOnly = 1,  // outgrew work_mem: the normalisers alone
  kTopK = 2,             // normalisers given: the k best so far
};

// One flat allocation, so that serialising is a copy: the header, then
// m[H], s[H], lse[H] (f64), query[dims] and scratch[H] (f32), then the
// area: `capacity` rows of (id, logits[H]) or k heap entries.
struct MhaScan {
  int32 vl_len_;
  int32 heads, dims, k, mode, heap_size;
  int64 rows, capacity;
};

size_t row_bytes(int heads) { return sizeof(int64) + sizeof(float) * heads; }
size_t area_offset(int heads, int dims) {
  return MAXALIGN(MAXALIGN(sizeof(MhaScan)) + sizeof(double) * 3 * heads + sizeof(float) * (dims + heads));
}
size_t area_bytes(const MhaScan* st) {
  return st->mode == kRows ? row_bytes(st->heads) * st->capacity
         : st->mode == kTopK ? sizeof(TopEntry) * st->k
                             : 0;
}
size_t total_size(const MhaScan* st) { return area_offset(st->heads, st->dims) + area_bytes(st); }
double* m_of(MhaScan* st) { return (double*)((char*)st + MAXALIGN(sizeof(MhaScan))); }
double* s_of(MhaScan* st) { return m_of(st) + st->heads; }
double* lse_of(MhaScan* st) { return s_of(st) + st->heads; }
float* query_of(MhaScan* st) { return (float*)(lse_of(st) + st->heads); }
float* scratch_of(MhaScan* st) { return query_of(st) + st->dims; }
char* area_of(MhaScan* st) { return (char*)st + area_offset(st->heads, st->dims); }
char* row_at(MhaScan* st, int64 i) { return area_of(st) + row_bytes(st->heads) * i; }
TopEntry* heap_of(MhaScan* st) { return (TopEntry*)area_of(st); }

int64 budget_rows(int heads) { return (int64)work_mem * 1024 / (int64)row_bytes(heads); }

MemoryContext aggregate_context(FunctionCallInfo fcinfo) {
  MemoryContext ctx;
  if (!AggCheckCallContext(fcinfo, &ctx)) elog(ERROR, "ruvector_mha_scan called in non-aggregate context");
  return ctx;
}

void not_null(FunctionCallInfo fcinfo, int arg, const char* name) {
  if (PG_ARGISNULL(arg))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("ruvector_mha_scan: %s must not be null", name)));
}

// Grows (or, past work_mem, drops) the row area so one more row fits.
MhaScan* reserve_row(MemoryContext ctx, MhaScan* st) {
  if (st->rows < st->capacity) return st;
  const int64 limit = budget_rows(st->heads);
  if (st->rows >= limit) {
    st->mode = kNormalisersOnly;
    st->capacity = st->rows = 0;
    MhaScan* small = (MhaScan*)MemoryContextAlloc(ctx, total_size(st));
    memcpy(small, st, total_size(st));
    pfree(st);
    SET_VARSIZE(small, total_size(small));
    return small;
  }
  st->capacity = Min(limit, Max((int64)1024, st->capacity * 2));
  st = (MhaScan*)repalloc_huge(st, total_size(st));
  SET_VARSIZE(st, total_size(st));
  return st;
}

// The row's H logits, in the state's scratch; ERROR if one overflowed.
const float* row_logits(MhaScan* st, const RuVector* q, const RuVector* x) {
  float* logits = scratch_of(st);
  rvj::runtime::head_logits(q->x, x->x, st->dims, st->heads, logits);
  for (int h = 0; h < st->heads; h++)
    if (!std::isfinite(logits[h]))
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("a logit of ruvector_mha_search overflowed type real"),
                      errhint("A dot product of these vectors exceeds the range of real (about 3.4e38); scale them "
                              "down.")));
  return logits;
}

void check_same_scan(MhaScan* a, MhaScan* b) {
  if (a->heads != b->heads || a->dims != b->dims || a->k != b->k || (a->mode == kTopK) != (b->mode == kTopK) ||
      memcmp(query_of(a), query_of(b), sizeof(float) * a->dims) != 0 ||
      (a->mode == kTopK && memcmp(lse_of(a), lse_of(b), sizeof(double) * a->heads) != 0))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_mha_scan needs the same query, num_heads, k and normalisers for every row")));
}

}  // namespace

// (state, id, embedding, query, num_heads, k [, normalisers])
RVJ_FUNCTION(ruvector_mha_scan_transition) {
  MemoryContext ctx = aggregate_context(fcinfo);
  MhaScan* st = PG_ARGISNULL(0) ? nullptr : (MhaScan*)PG_GETARG_POINTER(0);
  // Rows without a vector take no part, as NULLs in sum().
  if (PG_ARGISNULL(2)) {
    if (st) PG_RETURN_POINTER(st);
    PG_RETURN_NULL();
  }
  not_null(fcinfo, 1, "the id");
  not_null(fcinfo, 3, "query");
  not_null(fcinfo, 4, "num_heads");
  not_null(fcinfo, 5, "k");
  const bool given = PG_NARGS() > 6;
  if (given) not_null(fcinfo, 6, "normalisers");
  const int64 id = PG_GETARG_INT64(1);
  RuVector* x = PG_GETARG_RUVECTOR_P(2);
  RuVector* q = PG_GETARG_RUVECTOR_P(3);
  const int heads = PG_GETARG_INT32(4), k = PG_GETARG_INT32(5);
  check_same_dims(q, x);

  if (st == nullptr) {
    if (k < 1)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
    RVJ_ENGINE(rvj::runtime::check_heads(q->dim, heads));
    check_work_mem("ruvector_mha_scan", sizeof(TopEntry) * (size_t)k);
    MhaScan probe{};
    probe.heads = heads, probe.dims = q->dim, probe.k = k;
    probe.mode = given ? kTopK : budget_rows(heads) > 0 ? kRows : kNormalisersOnly;
    probe.capacity = 0;
    st = (MhaScan*)MemoryContextAllocZero(ctx, total_size(&probe));
    *st = probe;
    SET_VARSIZE(st, total_size(st));
    rvj::runtime::lse_init(m_of(st), s_of(st), heads);
    memcpy(query_of(st), q->x, sizeof(float) * q->dim);
    if (given) {
      ArrayType* a = PG_GETARG_ARRAYTYPE_P(6);
      if (ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != FLOAT8OID || ARR_HASNULL(a) || ARR_DIMS(a)[0] != heads)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("normalisers must be a float8 array of num_heads (%d) values without NULLs", heads)));
      memcpy(lse_of(st), ARR_DATA_PTR(a), sizeof(double) * heads);
    }
  } else if (heads != st->heads || k != st->k || q->dim != st->dims ||
             memcmp(query_of(st), q->x, sizeof(float) * q->dim) != 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_mha_scan needs the same query, num_heads and k for every row")));
  }

  const float* logits = row_logits(st, q, x);
  if (st->mode == kTopK) {
    const double w = rvj::runtime::head_average(logits, lse_of(st), st->heads);
    rvj::runtime::top_k_offer(heap_of(st), &st->heap_size, st->k, TopEntry{w, id});
    PG_RETURN_POINTER(st);
  }
  rvj::runtime::lse_add(m_of(st), s_of(st), logits, st->heads);
  if (st->mode == kRows) {
    st = reserve_row(ctx, st);
    if (st->mode == kRows) {
      char* row = row_at(st, st->rows++);
      memcpy(row, &id, sizeof id);
      memcpy(row + sizeof id, scratch_of(st), sizeof(float) * st->heads);
    }
  }
  PG_RETURN_POINTER(st);
}

RVJ_FUNCTION(ruvector_mha_scan_combine) {
  MemoryContext ctx = aggregate_context(fcinfo);
  MhaScan* a = PG_ARGISNULL(0) ? nullptr : (MhaScan*)PG_GETARG_POINTER(0);
  MhaScan* b = PG_ARGISNULL(1) ? nullptr : (MhaScan*)PG_GETARG_POINTER(1);
  if (b == nullptr) {
    if (a) PG_RETURN_POINTER(a);
    PG_RETURN_NULL();
  }
  if (a == nullptr) {
    a = (MhaScan*)MemoryContextAlloc(ctx, VARSIZE(b));
    memcpy(a, b, VARSIZE(b));
    PG_RETURN_POINTER(a);
  }
  check_same_scan(a, b);
  if (a->mode == kTopK) {
    for (int i = 0; i < b->heap_size; i++) rvj::runtime::top_k_offer(heap_of(a), &a->heap_size, a->k, heap_of(b)[i]);
    PG_RETURN_POINTER(a);
  }
  rvj::runtime::lse_merge(m_of(a), s_of(a), m_of(b), s_of(b), a->heads);
  if (a->mode == kRows && b->mode == kRows && a->rows + b->rows <= budget_rows(a->heads)) {
    if (a->rows + b->rows > a->capacity) {
      a->capacity = a->rows + b->rows;
      MhaScan* grown = (MhaScan*)MemoryContextAllocHuge(ctx, total_size(a));
      memcpy(grown, a, area_offset(a->heads, a->dims) + row_bytes(a->heads) * a->rows);
      a = grown;
    }
    memcpy(row_at(a, a->rows), row_at(b, 0), row_bytes(a->heads) * b->rows);
    a->rows += b->rows;
  } else if (a->mode == kRows) {
    a->mode = kNormalisersOnly;
    a->rows = a->capacity = 0;
  }
  SET_VARSIZE(a, total_size(a));
  PG_RETURN_POINTER(a);
}

RVJ_FUNCTION(ruvector_mha_scan_serialize) {
  MhaScan* st = (MhaScan*)PG_GETARG_POINTER(0);
  const int64 capacity = st->capacity;
  st->capacity = st->mode == kRows ? st->rows : st->capacity;  // only the rows in use travel
  const size_t size = total_size(st);
  bytea* out = (bytea*)palloc_extended(size, MCXT_ALLOC_HUGE);
  memcpy(out, st, size);
  st->capacity = capacity;
  SET_VARSIZE(out, size);
  PG_RETURN_BYTEA_P(out);
}

RVJ_FUNCTION(ruvector_mha_scan_deserialize) {
  bytea* in = PG_GETARG_BYTEA_PP(0);
  const size_t size = VARSIZE_ANY_EXHDR(in) + VARHDRSZ;
  MhaScan* st = (MhaScan*)palloc_extended(Max(size, sizeof(MhaScan)), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
  memcpy((char*)st + VARHDRSZ, VARDATA_ANY(in), size - VARHDRSZ);
  if (size < sizeof(MhaScan) || st->heads < 1 || st->dims < 1 || st->dims > RUVECTOR_MAX_DIM ||
      st->dims % st->heads != 0 || st->k < 1 || st->mode < kRows || st->mode > kTopK || st->rows < 0 ||
      st->heap_size < 0 || st->heap_size > st->k || (st->mode == kRows && st->rows != st->capacity) ||
      total_size(st) != size)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("invalid ruvector_mha_scan state")));
  SET_VARSIZE(st, size);
  PG_RETURN_POINTER(st);
}

// The result as bytea: heads, complete (the k best are final) and count,
// then lse[heads] and count (id, weight) entries, best first.
struct MhaResult {
  int32 vl_len_;
  int32 heads, complete, count;
};
size_t result_size(int heads, int count) {
  return MAXALIGN(sizeof(MhaResult)) + sizeof(double) * heads + sizeof(TopEntry) * count;
}

RVJ_FUNCTION(ruvector_mha_scan_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  MhaScan* st = (MhaScan*)PG_GETARG_POINTER(0);
  TopEntry* best = (TopEntry*)palloc(sizeof(TopEntry) * st->k);
  int count = 0;
  if (st->mode == kTopK) {
    count = st->heap_size;
    memcpy(best, heap_of(st), sizeof(TopEntry) * count);
  } else {
    rvj::runtime::lse_finish(m_of(st), s_of(st), st->heads, lse_of(st));
    for (int64 i = 0; i < st->rows; i++) {
      if ((i & 65535) == 0) CHECK_FOR_INTERRUPTS();
      const char* row = row_at(st, i);
      int64 id;
      memcpy(&id, row, sizeof id);
      const double w = rvj::runtime::head_average((const float*)(row + sizeof id), lse_of(st), st->heads);
      rvj::runtime::top_k_offer(best, &count, st->k, TopEntry{w, id});
    }
  }
  rvj::runtime::top_k_sort(best, count);
  const size_t size = result_size(st->heads, count);
  MhaResult* r = (MhaResult*)palloc0(size);
  SET_VARSIZE(r, size);
  r->heads = st->heads;
  r->complete = st->mode != kNormalisersOnly;
  r->count = count;
  double* lse = (double*)((char*)r + MAXALIGN(sizeof(MhaResult)));
  memcpy(lse, lse_of(st), sizeof(double) * st->heads);
  memcpy(lse + st->heads, best, sizeof(TopEntry) * count);
  PG_RETURN_BYTEA_P(r);
}

// ruvector_mha_normalisers(embedding, query, num_heads): each head's
// log-sum-exp over the rows, the first pass of the sharded search (a float8
// array per shard). The same state as ruvector_mha_scan, kept as
// normalisers only, so it shares the combine and serial functions.
RVJ_FUNCTION(ruvector_mha_normalisers_transition) {
  MemoryContext ctx = aggregate_context(fcinfo);
  MhaScan* st = PG_ARGISNULL(0) ? nullptr : (MhaScan*)PG_GETARG_POINTER(0);
  if (PG_ARGISNULL(1)) {
    if (st) PG_RETURN_POINTER(st);
    PG_RETURN_NULL();
  }
  not_null(fcinfo, 2, "query");
  not_null(fcinfo, 3, "num_heads");
  RuVector* x = PG_GETARG_RUVECTOR_P(1);
  RuVector* q = PG_GETARG_RUVECTOR_P(2);
  const int heads = PG_GETARG_INT32(3);
  check_same_dims(q, x);
  if (st == nullptr) {
    RVJ_ENGINE(rvj::runtime::check_heads(q->dim, heads));
    MhaScan probe{};
    probe.heads = heads, probe.dims = q->dim, probe.k = 1, probe.mode = kNormalisersOnly;
    st = (MhaScan*)MemoryContextAllocZero(ctx, total_size(&probe));
    *st = probe;
    SET_VARSIZE(st, total_size(st));
    rvj::runtime::lse_init(m_of(st), s_of(st), heads);
    memcpy(query_of(st), q->x, sizeof(float) * q->dim);
  } else if (heads != st->heads || q->dim != st->dims || memcmp(query_of(st), q->x, sizeof(float) * q->dim) != 0) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ruvector_mha_normalisers needs the same query and num_heads for every row")));
  }
  const float* logits = row_logits(st, q, x);
  rvj::runtime::lse_add(m_of(st), s_of(st), logits, st->heads);
  PG_RETURN_POINTER(st);
}

RVJ_FUNCTION(ruvector_mha_normalisers_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  MhaScan* st = (MhaScan*)PG_GETARG_POINTER(0);
  double* lse = (double*)palloc(sizeof(double) * st->heads);
  rvj::runtime::lse_finish(m_of(st), s_of(st), st->heads, lse);
  Datum* d = (Datum*)palloc(sizeof(Datum) * st->heads);
  for (int h = 0; h < st->heads; h++) d[h] = Float8GetDatum(lse[h]);
  PG_RETURN_ARRAYTYPE_P(construct_array(d, st->heads, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

namespace {

// One scan through SPI; the result (copied out of SPI's memory), or null
// when no visible row has a vector.
MhaResult* scan(const char* sql, int nargs, Oid* types, Datum* values) {
  int rc = SPI_execute_with_args(sql, nargs, types, values, nullptr, true, 0);
  if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "ruvector_mha_search: SPI scan failed (%d)", rc);
  bool isnull;
  Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  if (isnull) return nullptr;
  bytea* b = DatumGetByteaPP(d);
  const size_t size = VARSIZE_ANY_EXHDR(b) + VARHDRSZ;
  MhaResult* r = (MhaResult*)SPI_palloc(size);
  memcpy((char*)r + VARHDRSZ, VARDATA_ANY(b), size - VARHDRSZ);
  SET_VARSIZE(r, size);
  SPI_freetuptable(SPI_tuptable);
  return r;
}

// A partitioned table with foreign partitions (a table sharded with
// postgres_fdw): two passes, each a whole aggregate per partition, which
// postgres_fdw pushes down to the shard. First each head's log-sum-exp per
// partition, merged here into the global normalisers; then each
// partition's k best under those, merged here. A shard sends H numbers and
// k (id, weight) pairs, never its rows.
void sharded(FunctionCallInfo fcinfo, const TableSource& t, const Leaves& leaves, RuVector* q, int heads, int k) {
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const char* schema = own_schema(fcinfo);
  Oid types[4] = {get_fn_expr_argtype(fcinfo->flinfo, 1), INT4OID, INT4OID, FLOAT8ARRAYOID};
  Datum values[4] = {PointerGetDatum(q), Int32GetDatum(heads), Int32GetDatum(k), 0};
  double* m = (double*)palloc(sizeof(double) * heads);
  double* s = (double*)palloc(sizeof(double) * heads);
  rvj::runtime::lse_init(m, s, heads);
  TopEntry* best = (TopEntry*)palloc(sizeof(TopEntry) * k);
  int count = 0;
  bool any = false;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_mha_search: SPI_connect failed");
  const char* sql =
      union_all(leaves, psprintf("SELECT %s.ruvector_mha_normalisers(%s, $1, $2) FROM", schema, t.column), "");
  if (SPI_execute_with_args(sql, 2, types, values, nullptr, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "ruvector_mha_search: the normalisers of %s failed", t.relation);
  for (uint64 r = 0; r < SPI_processed; r++) {
    bool isnull;
    Datum d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
    if (isnull) continue;  // a partition without vectors
    ArrayType* a = DatumGetArrayTypeP(d);
    if (ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != FLOAT8OID || ARR_HASNULL(a) || ARR_DIMS(a)[0] != heads)
      ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                      errmsg("ruvector_mha_search: a partition of %s returned normalisers of the wrong shape",
                             t.relation)));
    // A partition's log-sum-exp is a running sum (lse, 1).
    const double* lse = (const double*)ARR_DATA_PTR(a);
    for (int h = 0; h < heads; h++) {
      const double one = 1.0;
      rvj::runtime::lse_merge(&m[h], &s[h], &lse[h], &one, 1);
    }
    any = true;
  }
  SPI_freetuptable(SPI_tuptable);
  if (any) {
    double* lse = (double*)palloc(sizeof(double) * heads);
    rvj::runtime::lse_finish(m, s, heads, lse);
    Datum* ld = (Datum*)palloc(sizeof(Datum) * heads);
    for (int h = 0; h < heads; h++) ld[h] = Float8GetDatum(lse[h]);
    values[3] = PointerGetDatum(construct_array(ld, heads, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    sql = union_all(leaves,
                    psprintf("SELECT %s.ruvector_mha_scan(%s::bigint, %s, $1, $2, $3, $4) FROM", schema, t.id, t.column),
                    "");
    if (SPI_execute_with_args(sql, 4, types, values, nullptr, true, 0) != SPI_OK_SELECT)
      elog(ERROR, "ruvector_mha_search: the scan of %s failed", t.relation);
    for (uint64 r = 0; r < SPI_processed; r++) {
      bool isnull;
      Datum d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
      if (isnull) continue;
      bytea* b = DatumGetByteaPP(d);
      const size_t size = VARSIZE_ANY_EXHDR(b) + VARHDRSZ;
      MhaResult* copy = (MhaResult*)palloc0(Max(size, sizeof(MhaResult)));  // aligned, unpacked
      memcpy((char*)copy + VARHDRSZ, VARDATA_ANY(b), size - VARHDRSZ);
      if (size < sizeof(MhaResult) || !copy->complete || copy->heads != heads || copy->count < 0 ||
          copy->count > k || result_size(heads, copy->count) != size)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("ruvector_mha_search: a partition of %s returned an incomplete result", t.relation)));
      const TopEntry* e = (const TopEntry*)((char*)copy + MAXALIGN(sizeof(MhaResult)) + sizeof(double) * heads);
      for (int j = 0; j < copy->count; j++) rvj::runtime::top_k_offer(best, &count, k, e[j]);
    }
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_finish();
  rvj::runtime::top_k_sort(best, count);
  for (int i = 0; i < count; i++) {
    Datum out[2] = {Int64GetDatum(best[i].key), Float4GetDatum((float4)best[i].value)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
  }
}

// exact := false with a ruvector_attention index (inner product) on the
// column: candidates from the index, for the whole query and for each head
// alone (the query zero outside the head's slice ranks rows by that head's
// logit), then the exact head-averaged weights with each head's normaliser
// taken over the candidates. The index's num_heads, when given, splits the
// retrieval; the call's num_heads defines the weights.
void approximate(FunctionCallInfo fcinfo, const TableSource& t, RuVector* q, int heads, int k,
                 const rvj::pg::index::Shape& shape) {
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const int dims = q->dim;
  const int split = (shape.num_heads > 0 && dims % shape.num_heads == 0) ? shape.num_heads : heads;
  const int per = Max(k, rvj::pg::index::ef_search);
  const Oid vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
  // (Allocated before SPI_connect: SPI_finish frees what is allocated after.)
  TopEntry* best = (TopEntry*)palloc(sizeof(TopEntry) * k);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_mha_search: SPI_connect failed");
  const char* sql = psprintf("SELECT %s::bigint, %s FROM %s WHERE %s IS NOT NULL ORDER BY %s OPERATOR(%s.<#>) $1 LIMIT $2",
                             t.id, t.column, t.relation, t.column, t.column, own_schema(fcinfo));
  Oid types[2] = {vtype, INT4OID};
  SPIPlanPtr plan = SPI_prepare(sql, 2, types);
  if (!plan) elog(ERROR, "ruvector_mha_search: SPI_prepare failed");
  const int capacity = (split + 1) * per;
  int64* keys = (int64*)palloc(sizeof(int64) * capacity);
  float* rows = (float*)palloc(sizeof(float) * (size_t)capacity * dims);
  int n = 0;
  RuVector* probe = new_vector(dims);
  for (int r = -1; r < split; r++) {
    const int width = dims / split;
    for (int i = 0; i < dims; i++) probe->x[i] = (r < 0 || i / width == r) ? q->x[i] : 0.0f;
    Datum values[2] = {PointerGetDatum(probe), Int32GetDatum(per)};
    if (SPI_execute_plan(plan, values, nullptr, true, per) != SPI_OK_SELECT)
      elog(ERROR, "ruvector_mha_search: the candidate query failed");
    for (uint64 i = 0; i < SPI_processed; i++) {
      bool null_id, null_vec;
      const int64 id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &null_id));
      Datum vd = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &null_vec);
      if (null_id || null_vec) continue;
      bool seen = false;
      for (int j = 0; j < n && !seen; j++) seen = keys[j] == id;
      if (seen) continue;
      RuVector* v = DatumGetRuVector(vd);
      if (v->dim != dims)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different ruvector dimensions %d and %d", dims, v->dim)));
      keys[n] = id;
      memcpy(rows + (size_t)n * dims, v->x, sizeof(float) * dims);
      n++;
    }
    SPI_freetuptable(SPI_tuptable);
  }
  int count = 0;
  RVJ_ENGINE(count = rvj::runtime::candidate_head_weights(q->x, rows, keys, n, dims, heads, k, best));
  SPI_finish();
  for (int i = 0; i < count; i++) {
    Datum out[2] = {Int64GetDatum(best[i].key), Float4GetDatum((float4)best[i].value)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
  }
}

}  // namespace

// (table_name regclass, query, num_heads, k, column_name, id_column, params, exact)
RVJ_FUNCTION(ruvector_mha_search) {
  static const char* const names[] = {"table_name", "query", "num_heads", "k", nullptr, nullptr, "params", "exact"};
  for (int i = 0; i < 8; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                      errmsg("ruvector_mha_search: %s must not be null", names[i])));
  const Oid relid = PG_GETARG_OID(0);
  RuVector* q = PG_GETARG_RUVECTOR_P(1);
  const int heads = PG_GETARG_INT32(2), k = PG_GETARG_INT32(3);
  Jsonb* jb = PG_GETARG_JSONB_P(6);
  if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_COUNT(jb) != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ruvector_mha_search takes no params"),
                    errhint("Pass '{}': num_heads and k are arguments of their own, and the logit is scaled_dot "
                            "per head, which has no parameters.")));
  if (k < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
  check_work_mem("ruvector_mha_search", sizeof(TopEntry) * (size_t)k);

  const TableSource t = resolve_table("ruvector_mha_search", relid, get_fn_expr_argtype(fcinfo->flinfo, 1),
                                      text_arg(fcinfo, 4), text_arg(fcinfo, 5), "table_name", "column_name",
                                      "id_column");
  if (!t.integer_id)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("id column %s is of type %s; ruvector_mha_search returns ids of type smallint, integer "
                           "or bigint",
                           t.id, format_type_be(t.id_type)),
                    errhint("Pass id_column => a column of one of those types, or use ruvector_cross_attention, "
                            "which can return ids of any type as text.")));
  if (t.dims > 0 && t.dims != q->dim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different ruvector dimensions %d and %d", t.dims, q->dim)));
  RVJ_ENGINE(rvj::runtime::check_heads(q->dim, heads));

  InitMaterializedSRF(fcinfo, 0);
  Leaves leaves;
  if (partition_leaves(relid, &leaves) && leaves.any_foreign) {
    sharded(fcinfo, t, leaves, q, heads, k);
    return (Datum)0;
  }
  // The candidates' vectors must fit work_mem, else the exact scan runs.
  const int64 candidate_bytes = (int64)(heads + 1) * Max(k, rvj::pg::index::ef_search) * q->dim * (int64)sizeof(float);
  if (!PG_GETARG_BOOL(7) && candidate_bytes <= (int64)work_mem * 1024) {
    rvj::pg::index::Shape shape;
    if (OidIsValid(rvj::pg::index::find_index(relid, t.attnum, rvj::runtime::hnsw::Metric::InnerProduct, &shape))) {
      approximate(fcinfo, t, q, heads, k, shape);
      return (Datum)0;
    }
  }
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  const char* schema = own_schema(fcinfo);
  Oid types[4] = {get_fn_expr_argtype(fcinfo->flinfo, 1), INT4OID, INT4OID, FLOAT8ARRAYOID};
  Datum values[4] = {PointerGetDatum(q), Int32GetDatum(heads), Int32GetDatum(k), 0};

  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_mha_search: SPI_connect failed");
  MhaResult* r = scan(psprintf("SELECT %s.ruvector_mha_scan(%s::bigint, %s, $1, $2, $3) FROM %s", schema, t.id,
                               t.column, t.relation),
                      3, types, values);
  if (r && !r->complete) {
    // The rows outgrew work_mem: scan again under the normalisers now known.
    Datum* lse = (Datum*)palloc(sizeof(Datum) * heads);
    const double* l = (const double*)((char*)r + MAXALIGN(sizeof(MhaResult)));
    for (int h = 0; h < heads; h++) lse[h] = Float8GetDatum(l[h]);
    values[3] = PointerGetDatum(construct_array(lse, heads, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    r = scan(psprintf("SELECT %s.ruvector_mha_scan(%s::bigint, %s, $1, $2, $3, $4) FROM %s", schema, t.id,
                      t.column, t.relation),
             4, types, values);
  }
  SPI_finish();
  if (r == nullptr) return (Datum)0;  // no visible row with a vector
  const TopEntry* best = (const TopEntry*)((char*)r + MAXALIGN(sizeof(MhaResult)) + sizeof(double) * r->heads);
  for (int i = 0; i < r->count; i++) {
    Datum out[2] = {Int64GetDatum(best[i].key), Float4GetDatum((float4)best[i].value)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
  }
  return (Datum)0;
}
