// The ruvector type: text and binary I/O, typmod, length coercion.
// Messages and SQLSTATEs follow pgvector's, with the type's own name.
#include "pg/vector.h"

namespace rvj::pg {

RuVector* new_vector(int dim) {
  Size size = RUVECTOR_SIZE(dim);
  RuVector* v = (RuVector*)palloc0(size);
  SET_VARSIZE(v, size);
  v->dim = (int16)dim;
  return v;
}

void check_dim(int dim) {
  if (dim < 1)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("ruvector must have at least 1 dimension")));
  if (dim > RUVECTOR_MAX_DIM)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector cannot have more than %d dimensions", RUVECTOR_MAX_DIM)));
}

void check_expected_dim(int32 typmod, int dim) {
  if (typmod != -1 && typmod != dim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void check_element(float value) {
  if (std::isnan(value))
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in ruvector")));
  if (std::isinf(value))
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in ruvector")));
}

void check_same_dims(const RuVector* a, const RuVector* b) {
  if (a->dim != b->dim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

}  // namespace rvj::pg

using namespace rvj::pg;

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

[[noreturn]] void bad_syntax(const char* input, const char* detail) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                  errmsg("invalid input syntax for type ruvector: \"%s\"", input), errdetail("%s", detail)));
  pg_unreachable();
}
}  // namespace

RVJ_FUNCTION(ruvector_in) {
  char* input = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);
  float buf[RUVECTOR_MAX_DIM];
  int dim = 0;
  char* p = input;

  while (is_space(*p)) p++;
  if (*p != '[') bad_syntax(input, "Vector contents must start with \"[\".");
  p++;
  while (is_space(*p)) p++;
  if (*p == ']') {
    p++;
  } else {
    for (;;) {
      if (dim == RUVECTOR_MAX_DIM)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("ruvector cannot have more than %d dimensions", RUVECTOR_MAX_DIM)));
      while (is_space(*p)) p++;
      if (*p == '\0') bad_syntax(input, "Unexpected end of input.");
      char* end;
      errno = 0;
      float v = strtof(p, &end);
      if (end == p) bad_syntax(input, "Expected a number.");
      if (errno == ERANGE && std::isinf(v)) {
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                        errmsg("\"%s\" is out of range for type ruvector", pnstrdup(p, end - p))));
      }
      check_element(v);
      buf[dim++] = v;
      p = end;
      while (is_space(*p)) p++;
      if (*p == ',') {
        p++;
        continue;
      }
      if (*p == ']') {
        p++;
        break;
      }
      bad_syntax(input, "Expected \",\" or \"]\".");
    }
  }
  while (is_space(*p)) p++;
  if (*p != '\0') bad_syntax(input, "Junk after closing right brace.");

  check_dim(dim);
  check_expected_dim(typmod, dim);
  RuVector* v = new_vector(dim);
  memcpy(v->x, buf, sizeof(float) * dim);
  PG_RETURN_RUVECTOR_P(v);
}

RVJ_FUNCTION(ruvector_out) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  // Shortest exact representation of each float, as float4out.
  char* out = (char*)palloc(v->dim * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 2);
  char* p = out;
  *p++ = '[';
  for (int i = 0; i < v->dim; i++) {
    if (i > 0) *p++ = ',';
    p += float_to_shortest_decimal_bufn(v->x[i], p);
  }
  *p++ = ']';
  *p = '\0';
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(out);
}

RVJ_FUNCTION(ruvector_typmod_in) {
  ArrayType* ta = PG_GETARG_ARRAYTYPE_P(0);
  int n;
  int32* tl = ArrayGetIntegerTypmods(ta, &n);
  if (n != 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier"),
                    errhint("ruvector takes one modifier, the number of dimensions: ruvector(384).")));
  if (*tl < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type ruvector must be at least 1")));
  if (*tl > RUVECTOR_MAX_DIM)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type ruvector cannot exceed %d", RUVECTOR_MAX_DIM)));
  PG_RETURN_INT32(*tl);
}

RVJ_FUNCTION(ruvector_recv) {
  StringInfo buf = (StringInfo)PG_GETARG_POINTER(0);
  int32 typmod = PG_GETARG_INT32(2);
  int16 dim = (int16)pq_getmsgint(buf, sizeof(int16));
  int16 unused = (int16)pq_getmsgint(buf, sizeof(int16));
  check_dim(dim);
  check_expected_dim(typmod, dim);
  if (unused != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                    errmsg("expected unused to be 0, not %d", unused)));
  RuVector* v = new_vector(dim);
  for (int i = 0; i < dim; i++) {
    v->x[i] = pq_getmsgfloat4(buf);
    check_element(v->x[i]);
  }
  PG_RETURN_RUVECTOR_P(v);
}

RVJ_FUNCTION(ruvector_send) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint16(&buf, v->dim);
  pq_sendint16(&buf, v->unused);
  for (int i = 0; i < v->dim; i++) pq_sendfloat4(&buf, v->x[i]);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// Length coercion: ruvector -> ruvector(n), on assignment and explicit casts.
RVJ_FUNCTION(ruvector_coerce) {
  RuVector* v = PG_GETARG_RUVECTOR_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  check_expected_dim(typmod, v->dim);
  PG_RETURN_RUVECTOR_P(v);
}
