// ruvector[] in and out: the arrays of vectors the sequence and set
// functions take and return. PostgreSQL side (may ERROR).
#pragma once

#include "pg/vector.h"

namespace rvj::pg {

struct Rows {
  const float** x;  // palloc'd row pointers into the array's vectors
  int n;
  int dim;
};

// The vectors of a ruvector[]: 1-D, no NULLs, not empty, one dimension.
// `what` names the argument in messages ("queries", "points", ...).
Rows rows_of(ArrayType* a, const char* what, const char* empty_hint = "Attention needs at least one query, key and value.");

// The (queries, keys, values) arguments first, first + 1 and first + 2 of a
// sequence function, keys and values of one length; vector_type is the
// arrays' element type.
struct Sequence {
  Rows q, k, v;
  Oid vector_type;
};
Sequence sequence_args(FunctionCallInfo fcinfo, int first = 0);

// out[r] = W rows[r] + bias (n rows of in_dims floats; W is out_dims rows;
// bias may be null) through the engine's Eigen projection, in slices of
// about 2^27 multiply-adds with interrupt checks between them.
void project_in_slices(const float* const* rows, int n, int in_dims, const float* const* w, int out_dims,
                       const float* bias, float* out);

// n rows of `dims` floats as a ruvector[]; ERROR if an element is not
// finite (runtime::check_finite_result).
ArrayType* vectors_array(const float* rows, int n, int dims, Oid vector_type);

// A ruvector[] of n vectors of `dims` allocated first, for a schedule to
// write its rows straight into (no output buffer, no copy): row i's floats
// start at first + i * ld. finish() checks them as vectors_array does.
struct VectorRows {
  ArrayType* array;
  float* first;
  int64 ld;
  int n, dims;
  ArrayType* finish() const;
};
VectorRows vector_rows(int n, int dims, Oid vector_type);

// ERROR 54000 unless `bytes` of working memory fit in work_mem: the budget
// of every query-time call, checked before it allocates.
void check_work_mem(const char* function, size_t bytes);

}  // namespace rvj::pg
