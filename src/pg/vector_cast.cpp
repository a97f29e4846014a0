// Casts between ruvector and arrays.
#include "pg/vector.h"

using namespace rvj::pg;

namespace rvj::pg {
// Checks a 1-D array without NULLs and returns its elements as floats in a
// palloc'd buffer. Shared by the casts and the real[] attention overloads.
float* array_to_floats(ArrayType* array, int* dim_out) {
  if (ARR_NDIM(array) > 1)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
  if (ARR_HASNULL(array) && array_contains_nulls(array))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));

  Oid elem_type = ARR_ELEMTYPE(array);
  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
  Datum* elems;
  int n;
  deconstruct_array(array, elem_type, typlen, typbyval, typalign, &elems, nullptr, &n);
  check_dim(n);

  float* out = (float*)palloc(sizeof(float) * n);
  for (int i = 0; i < n; i++) {
    switch (elem_type) {
      case INT4OID: out[i] = (float)DatumGetInt32(elems[i]); break;
      case FLOAT4OID: out[i] = DatumGetFloat4(elems[i]); break;
      case FLOAT8OID: {
        double d = DatumGetFloat8(elems[i]);
        out[i] = (float)d;
        if (std::isinf(out[i]) && std::isfinite(d))
          ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                          errmsg("\"%g\" is out of range for type ruvector", d)));
        break;
      }
      case NUMERICOID:
        // numeric_float4 raises its own out-of-range error.
        out[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
        break;
      default:
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("unsupported array type"),
                        errhint("Arrays of integer, real, double precision and numeric convert to ruvector.")));
    }
    check_element(out[i]);
  }
  *dim_out = n;
  return out;
}
}  // namespace rvj::pg

RVJ_FUNCTION(array_to_ruvector) {
  ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  int dim;
  float* x = array_to_floats(array, &dim);
  check_expected_dim(typmod, dim);
  RuVector* v = new_vector(dim);
  memcpy(v->x, x, sizeof(float) * dim);
  pfree(x);
  PG_RETURN_RUVECTOR_P(v);
}

RVJ_FUNCTION(ruvector_to_float4) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  Datum* d = (Datum*)palloc(sizeof(Datum) * v->dim);
  for (int i = 0; i < v->dim; i++) d[i] = Float4GetDatum(v->x[i]);
  ArrayType* result = construct_array(d, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
  pfree(d);
  PG_RETURN_POINTER(result);
}
