// The aggregate ruvector_attend(query, key, value [, attention_type]):
// softmax(logits) . V of one query over the rows of a group, streamed with
// the online-softmax state (m, l, O). With combine, serialise and deserialise
// functions it runs in parallel workers and merges exactly.
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/params.h"
#include "runtime/online_softmax.h"

using namespace rvj::pg;
using rvj::runtime::SoftmaxState;

namespace {

// One flat allocation: the header, then O[dv] (f64), then query[dq] (f32).
// Flat so that serialising is a copy.
struct AttendState {
  int32 vl_len_;  // varlena header: the state doubles as its serial form
  int32 dq, dv;
  int32 type_len;
  char type[NAMEDATALEN];
  SoftmaxState s;
};

constexpr size_t o_offset() { return MAXALIGN(sizeof(AttendState)); }
size_t state_size(int dq, int dv) { return o_offset() + sizeof(double) * dv + sizeof(float) * dq; }
double* state_o(AttendState* st) { return (double*)((char*)st + o_offset()); }
float* state_query(AttendState* st) { return (float*)(state_o(st) + st->dv); }

MemoryContext aggregate_context(FunctionCallInfo fcinfo, const char* fn) {
  MemoryContext ctx;
  if (!AggCheckCallContext(fcinfo, &ctx)) elog(ERROR, "%s called in non-aggregate context", fn);
  return ctx;
}

void check_compatible(const AttendState* a, const AttendState* b, const char* function = "ruvector_attend") {
  if (a->dq != b->dq || a->dv != b->dv || a->type_len != b->type_len || memcmp(a->type, b->type, a->type_len) != 0 ||
      memcmp(state_query((AttendState*)a), state_query((AttendState*)b), sizeof(float) * a->dq) != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s needs the same query and attention type for every row of a group", function),
                    errhint("States merge only when they attend the same query with the same attention type.")));
}

}  // namespace

RVJ_FUNCTION(ruvector_attend_transition) {
  MemoryContext ctx = aggregate_context(fcinfo, "ruvector_attend_transition");
  AttendState* st = PG_ARGISNULL(0) ? nullptr : (AttendState*)PG_GETARG_POINTER(0);
  // Rows with a NULL query, key or value take no part, as NULLs in sum().
  if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3)) {
    if (st) PG_RETURN_POINTER(st);
    PG_RETURN_NULL();
  }
  if (PG_NARGS() > 4 && PG_ARGISNULL(4))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("attention_type must not be null")));
  RuVector* q = PG_GETARG_RUVECTOR_P(1);
  RuVector* k = PG_GETARG_RUVECTOR_P(2);
  RuVector* v = PG_GETARG_RUVECTOR_P(3);
  // The three-argument form is scaled_dot (no per-row text to build); the
  // jsonb form, '{"attention_type": ...}', is the one postgres_fdw ships.
  const char* type_name = "scaled_dot";
  int type_len = (int)strlen(type_name);
  if (PG_NARGS() > 4 && get_fn_expr_argtype(fcinfo->flinfo, 4) == JSONBOID) {
    const AttentionOptions o = attention_options(PG_GETARG_JSONB_P(4), "ruvector_attend_state");
    if (JB_ROOT_COUNT(o.params) != 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_attend takes no params: the attention type's defaults apply")));
    type_name = o.type;
    type_len = (int)strlen(type_name);
  } else if (PG_NARGS() > 4) {
    text* type_arg = PG_GETARG_TEXT_PP(4);
    type_name = VARDATA_ANY(type_arg);
    type_len = VARSIZE_ANY_EXHDR(type_arg);
  }
  check_same_dims(q, k);

  if (st == nullptr) {
    if (type_len >= NAMEDATALEN)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("attention type name is too long")));
    st = (AttendState*)MemoryContextAllocZero(ctx, state_size(q->dim, v->dim));
    SET_VARSIZE(st, state_size(q->dim, v->dim));
    st->dq = q->dim;
    st->dv = v->dim;
    st->type_len = type_len;
    memcpy(st->type, type_name, type_len);
    memcpy(state_query(st), q->x, sizeof(float) * q->dim);
    rvj::runtime::softmax_init(st->s, state_o(st), st->dv);
  } else {
    if (v->dim != st->dv)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("different value dimensions %d and %d", st->dv, v->dim)));
    if (q->dim != st->dq || memcmp(state_query(st), q->x, sizeof(float) * q->dim) != 0 ||
        type_len != st->type_len || memcmp(st->type, type_name, type_len) != 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_attend needs the same query and attention type for every row of a group"),
                      errhint("Group by the query, or attend one query per statement.")));
  }

  KernelSite* site = kernel_site(fcinfo);
  RVJ_ENGINE({
    const rvj::ir::Mechanism* m = site->mechanism;
    if (m == nullptr || strlen(m->name) != (size_t)st->type_len || memcmp(m->name, st->type, st->type_len) != 0)
      m = &rvj::runtime::row_score_mechanism(std::string(st->type, st->type_len));
    double logit = rvj::runtime::run(bind_site(*site, *m, st->dq), q->x, k->x);
    if (!std::isfinite(logit))  // finite vectors give no other: the f32 arithmetic overflowed
      throw rvj::Error(rvj::ErrorKind::OutOfRange, "a logit of ruvector_attend overflowed type real",
                       "A dot product of these vectors exceeds the range of real (about 3.4e38); scale them down.");
    rvj::runtime::softmax_add(st->s, state_o(st), st->dv, logit, v->x);
  });
  PG_RETURN_POINTER(st);
}

RVJ_FUNCTION(ruvector_attend_combine) {
  MemoryContext ctx = aggregate_context(fcinfo, "ruvector_attend_combine");
  AttendState* a = PG_ARGISNULL(0) ? nullptr : (AttendState*)PG_GETARG_POINTER(0);
  AttendState* b = PG_ARGISNULL(1) ? nullptr : (AttendState*)PG_GETARG_POINTER(1);
  if (b == nullptr) {
    if (a) PG_RETURN_POINTER(a);
    PG_RETURN_NULL();
  }
  if (a == nullptr) {
    // The result must live in the aggregate's context.
    a = (AttendState*)MemoryContextAlloc(ctx, VARSIZE(b));
    memcpy(a, b, VARSIZE(b));
    PG_RETURN_POINTER(a);
  }
  check_compatible(a, b);
  rvj::runtime::softmax_merge(a->s, state_o(a), b->s, state_o(b), a->dv);
  PG_RETURN_POINTER(a);
}

RVJ_FUNCTION(ruvector_attend_serialize) {
  AttendState* st = (AttendState*)PG_GETARG_POINTER(0);
  bytea* out = (bytea*)palloc(VARSIZE(st));
  memcpy(out, st, VARSIZE(st));
  PG_RETURN_BYTEA_P(out);
}

RVJ_FUNCTION(ruvector_attend_deserialize) {
  bytea* in = PG_GETARG_BYTEA_PP(0);
  size_t size = VARSIZE_ANY_EXHDR(in) + VARHDRSZ;
  AttendState* st = (AttendState*)palloc(size);
  memcpy((char*)st + VARHDRSZ, VARDATA_ANY(in), size - VARHDRSZ);  // the header may have come packed
  SET_VARSIZE(st, size);
  if (size < sizeof(AttendState) || st->dq < 1 || st->dv < 1 || st->dq > RUVECTOR_MAX_DIM ||
      st->dv > RUVECTOR_MAX_DIM || state_size(st->dq, st->dv) != size || st->type_len < 0 ||
      st->type_len >= NAMEDATALEN)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("invalid ruvector_attend state")));
  PG_RETURN_POINTER(st);
}

RVJ_FUNCTION(ruvector_attend_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  AttendState* st = (AttendState*)PG_GETARG_POINTER(0);
  RuVector* out = new_vector(st->dv);
  if (!rvj::runtime::softmax_finish(st->s, state_o(st), st->dv, out->x)) PG_RETURN_NULL();
  RVJ_ENGINE(rvj::runtime::check_finite_result("ruvector_attend", out->x, st->dv));
  for (int i = 0; i < st->dv; i++) check_element(out->x[i]);
  PG_RETURN_RUVECTOR_P(out);
}

// ---- ruvector_attend_state: the state as a value ---------------------------
// ruvector_attend_state(query, key, value [, attention_type]) is the same
// aggregate returning its state (m, l, O) instead of O / l, and
// ruvector_attend_merge(state) merges such states into the result. A
// sharded table runs the first once per partition, where postgres_fdw
// pushes it down whole, and ships one state per shard, not its rows. The
// text form is "rvas1:" and the hex of the bytes after the varlena header:
// exact, whatever the float formatting of the connection.

namespace {

constexpr const char* kStateText = "rvas1:";

// A state read from outside (text, binary, a remote shard): checked as
// deserialising checks it, and its numbers as the aggregate makes them.
AttendState* checked_state(AttendState* st, size_t size, int code) {
  bool ok = size >= sizeof(AttendState) && st->dq >= 1 && st->dv >= 1 && st->dq <= RUVECTOR_MAX_DIM &&
            st->dv <= RUVECTOR_MAX_DIM && state_size(st->dq, st->dv) == size && st->type_len > 0 &&
            st->type_len < NAMEDATALEN && memchr(st->type, '\0', st->type_len) == nullptr &&
            (std::isfinite(st->s.m) || st->s.m == -INFINITY) && std::isfinite(st->s.l) && st->s.l >= 0;
  for (int i = 0; ok && i < st->dv; i++) ok = std::isfinite(state_o(st)[i]);
  for (int i = 0; ok && i < st->dq; i++) ok = std::isfinite(state_query(st)[i]);
  if (!ok)
    ereport(ERROR, (errcode(code), errmsg("invalid ruvector_attend_state value"),
                    errhint("States come from the aggregate ruvector_attend_state(query, key, value), whose output "
                            "is \"%s\" and hexadecimal digits.",
                            kStateText)));
  return st;
}

}  // namespace

RVJ_FUNCTION(ruvector_attend_state_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  AttendState* st = (AttendState*)PG_GETARG_POINTER(0);
  AttendState* out = (AttendState*)palloc(VARSIZE(st));
  memcpy(out, st, VARSIZE(st));
  PG_RETURN_POINTER(out);
}

// (state, a ruvector_attend_state value): merges the value in.
RVJ_FUNCTION(ruvector_attend_merge_transition) {
  MemoryContext ctx = aggregate_context(fcinfo, "ruvector_attend_merge_transition");
  AttendState* a = PG_ARGISNULL(0) ? nullptr : (AttendState*)PG_GETARG_POINTER(0);
  if (PG_ARGISNULL(1)) {  // a partition without rows
    if (a) PG_RETURN_POINTER(a);
    PG_RETURN_NULL();
  }
  AttendState* b = (AttendState*)PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
  if (a == nullptr) {
    a = (AttendState*)MemoryContextAlloc(ctx, VARSIZE(b));
    memcpy(a, b, VARSIZE(b));
    PG_RETURN_POINTER(a);
  }
  if (a->dv != b->dv)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different value dimensions %d and %d", a->dv, b->dv)));
  check_compatible(a, b, "ruvector_attend_merge");
  rvj::runtime::softmax_merge(a->s, state_o(a), b->s, state_o(b), a->dv);
  PG_RETURN_POINTER(a);
}

RVJ_FUNCTION(ruvector_attend_state_in) {
  const char* str = PG_GETARG_CSTRING(0);
  const size_t prefix = strlen(kStateText), len = strlen(str);
  if (strncmp(str, kStateText, prefix) != 0 || (len - prefix) % 2 != 0 || (len - prefix) / 2 > 64 * 1024 * 1024)
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type ruvector_attend_state"),
                    errhint("A state's text is \"%s\" and hexadecimal digits, as its output gives it.", kStateText)));
  const size_t size = (len - prefix) / 2 + VARHDRSZ;
  AttendState* st = (AttendState*)palloc0(Max(size, sizeof(AttendState)));
  if (hex_decode(str + prefix, len - prefix, (char*)st + VARHDRSZ) != size - VARHDRSZ)
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type ruvector_attend_state")));
  SET_VARSIZE(st, size);
  PG_RETURN_POINTER(checked_state(st, size, ERRCODE_INVALID_TEXT_REPRESENTATION));
}

RVJ_FUNCTION(ruvector_attend_state_out) {
  AttendState* st = (AttendState*)PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
  const size_t n = VARSIZE(st) - VARHDRSZ, prefix = strlen(kStateText);
  char* out = (char*)palloc(prefix + 2 * n + 1);
  memcpy(out, kStateText, prefix);
  out[prefix + hex_encode((const char*)st + VARHDRSZ, n, out + prefix)] = '\0';
  PG_RETURN_CSTRING(out);
}

RVJ_FUNCTION(ruvector_attend_state_recv) {
  StringInfo buf = (StringInfo)PG_GETARG_POINTER(0);
  const size_t n = (size_t)(buf->len - buf->cursor);
  if (n > 64 * 1024 * 1024)
    ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("invalid ruvector_attend_state value")));
  AttendState* st = (AttendState*)palloc0(Max(n + VARHDRSZ, sizeof(AttendState)));
  pq_copymsgbytes(buf, (char*)st + VARHDRSZ, (int)n);
  SET_VARSIZE(st, n + VARHDRSZ);
  PG_RETURN_POINTER(checked_state(st, n + VARHDRSZ, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

RVJ_FUNCTION(ruvector_attend_state_send) {
  AttendState* st = (AttendState*)PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendbytes(&buf, (const char*)st + VARHDRSZ, VARSIZE(st) - VARHDRSZ);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
