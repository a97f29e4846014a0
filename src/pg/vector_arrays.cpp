#include "pg/vector_arrays.h"

#include "pg/errors.h"
#include "runtime/memory.h"
#include "runtime/schedules/projection.h"

extern "C" {
#include "access/detoast.h"
#include "access/table.h"
#include "access/tableam.h"
}

namespace rvj::pg {

Rows rows_of(ArrayType* a, const char* what, const char* empty_hint) {
  if (ARR_NDIM(a) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must be a 1-D array", what)));
  Datum* elems;
  bool* nulls;
  int n;
  deconstruct_array(a, ARR_ELEMTYPE(a), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  if (n == 0)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must not be empty", what),
                    errhint("%s", empty_hint)));
  Rows r{(const float**)palloc(sizeof(float*) * n), n, 0};
  for (int i = 0; i < n; i++) {
    if (nulls[i])
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not contain nulls", what)));
    RuVector* v = DatumGetRuVector(elems[i]);
    if (i == 0) r.dim = v->dim;
    if (v->dim != r.dim)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("%s have different dimensions %d and %d", what, r.dim, v->dim)));
    r.x[i] = v->x;
  }
  return r;
}

void project_in_slices(const float* const* rows, int n, int in_dims, const float* const* w, int out_dims,
                       const float* bias, float* out) {
  const int64 per_row = (int64)in_dims * out_dims;
  const int slice = (int)Max((int64)8, Min((int64)1024, ((int64)1 << 27) / per_row));
  for (int r0 = 0; r0 < n; r0 += slice) {
    CHECK_FOR_INTERRUPTS();
    const int m = Min(slice, n - r0);
    RVJ_ENGINE(rvj::runtime::project_rows(rows + r0, m, in_dims, w, out_dims, bias, out + (size_t)r0 * out_dims));
  }
}

namespace {

// Arrays from this size up are read from their TOAST table into a mapping
// of their own (detoast_array).
constexpr int32 kMappedArray = 1 << 20;

struct Mapping {
  void* p;
  size_t bytes;
};

void unmap(void* arg) {
  auto* m = (Mapping*)arg;
  rvj::runtime::unmap_huge(m->p, m->bytes);
}

// The array behind d. A large array stored out of line and uncompressed is
// read straight from its TOAST table (as PostgreSQL's detoast does) into a
// fresh 2 MB-aligned mapping with huge pages, unmapped when the current
// memory context is reset or deleted: a palloc'd copy of megabytes comes
// from malloc, which hands its pages back after each statement, so every
// call would fault in 512 pages per 2 MB again (half the time of a 4096 x
// 512 linear call went there). The mapping is only read by this call.
ArrayType* detoast_array(Datum d) {
  struct varlena* attr = (struct varlena*)DatumGetPointer(d);
  if (!VARATT_IS_EXTERNAL_ONDISK(attr)) return DatumGetArrayTypeP(d);
  struct varatt_external toast;
  VARATT_EXTERNAL_GET_POINTER(toast, attr);
  const int32 size = VARATT_EXTERNAL_GET_EXTSIZE(toast);
  if (VARATT_EXTERNAL_IS_COMPRESSED(toast) || size < kMappedArray) return DatumGetArrayTypeP(d);
  auto* m = (Mapping*)palloc(sizeof(Mapping));
  m->bytes = (size_t)size + VARHDRSZ;
  m->p = rvj::runtime::map_huge(m->bytes);
  if (!m->p) return DatumGetArrayTypeP(d);
  auto* cb = (MemoryContextCallback*)palloc(sizeof(MemoryContextCallback));
  cb->func = unmap;
  cb->arg = m;
  MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
  auto* result = (struct varlena*)m->p;
  SET_VARSIZE(result, m->bytes);
  Relation rel = table_open(toast.va_toastrelid, AccessShareLock);
  table_relation_fetch_toast_slice(rel, toast.va_valueid, size, 0, size, result);
  table_close(rel, AccessShareLock);
  return (ArrayType*)result;
}

}  // namespace

Sequence sequence_args(FunctionCallInfo fcinfo, int first) {
  // Self-attention passes one array two or three times: it is detoasted and
  // read once.
  const Datum qd = PG_GETARG_DATUM(first), kd = PG_GETARG_DATUM(first + 1), vd = PG_GETARG_DATUM(first + 2);
  ArrayType* qa = detoast_array(qd);
  Rows q = rows_of(qa, "queries");
  Rows k = kd == qd ? q : rows_of(detoast_array(kd), "keys");
  Rows v = vd == qd ? q : vd == kd ? k : rows_of(detoast_array(vd), "values");
  Sequence s{q, k, v, ARR_ELEMTYPE(qa)};
  if (s.k.n != s.v.n)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("keys and values must have the same length, not %d and %d", s.k.n, s.v.n)));
  return s;
}

VectorRows vector_rows(int n, int dims, Oid vector_type) {
  // Each element a vector with its 8-byte header (length, dim), as construct_array would
  // lay them out.
  const size_t elem = RUVECTOR_SIZE(dims);  // a multiple of 4: int alignment needs no padding
  const size_t bytes = ARR_OVERHEAD_NONULLS(1) + elem * (size_t)n;
  if (!AllocSizeIsValid(bytes))
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("the result of %d vectors of %d dimensions exceeds the maximum array size", n, dims)));
  ArrayType* a = (ArrayType*)palloc(bytes);
  rvj::runtime::prefer_huge_pages(a, bytes);
  memset(a, 0, ARR_OVERHEAD_NONULLS(1));
  SET_VARSIZE(a, bytes);
  a->ndim = 1;
  a->dataoffset = 0;
  a->elemtype = vector_type;
  ARR_DIMS(a)[0] = n;
  ARR_LBOUND(a)[0] = 1;
  char* p = ARR_DATA_PTR(a);
  for (int i = 0; i < n; i++, p += elem) {
    RuVector* r = (RuVector*)p;
    SET_VARSIZE(r, elem);
    r->dim = dims;
    r->unused = 0;
  }
  RuVector* r0 = (RuVector*)ARR_DATA_PTR(a);
  return VectorRows{a, r0->x, (int64)(elem / sizeof(float)), n, dims};
}

ArrayType* VectorRows::finish() const {
  RVJ_ENGINE(rvj::runtime::check_finite_rows("the result", first, ld, (size_t)n, (size_t)dims));
  return array;
}

ArrayType* vectors_array(const float* rows, int n, int dims, Oid vector_type) {
  RVJ_ENGINE(rvj::runtime::check_finite_result("the result", rows, (size_t)n * dims));
  const VectorRows out = vector_rows(n, dims, vector_type);
  for (int i = 0; i < n; i++) memcpy(out.first + i * out.ld, rows + (size_t)i * dims, sizeof(float) * dims);
  return out.array;
}

void check_work_mem(const char* function, size_t bytes) {
  const size_t budget = (size_t)work_mem * 1024;
  if (bytes > budget)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("%s needs %zu kB of working memory, over work_mem (%d kB)", function,
                           (bytes + 1023) / 1024, work_mem),
                    errhint("Raise work_mem (for example SET work_mem = '%zuMB'), or pass fewer or narrower rows.",
                            (bytes >> 20) + 1)));
}

}  // namespace rvj::pg
