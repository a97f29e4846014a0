// The type ruvector_linear_state and its functions: the aggregate
// ruvector_linear_state(key, value [, attention_type [, params]]) folds a
// table's rows into linear attention's per-head state (runtime/
// linear_table.h), ruvector_linear_attend(query, state) answers one query
// against it, ruvector_linear_state_merge adds two states of the same
// form, ruvector_linear_state_info describes one.
//
// A value is one flat allocation: the header below, then the f64 state of
// the linear schedule. The aggregate's transition state is the same
// allocation, so serialising is a copy. The text form is "rvls1:" and the
// hex of the bytes after the varlena header; every way in (text, binary,
// deserialise) is validated against the plan the header describes.
#include <type_traits>

#include "pg/attention_sequence.h"
#include "pg/errors.h"
#include "pg/kernel_site.h"
#include "pg/params.h"
#include "pg/vector.h"
#include "runtime/linear_table.h"

extern "C" {
#include "access/detoast.h"
#include "utils/jsonb.h"
}

using namespace rvj::pg;
using rvj::runtime::SequencePlan;

static_assert(std::is_trivially_copyable_v<SequencePlan>);

namespace {

constexpr int32 kVersion = 1;
constexpr const char* kTextPrefix = "rvls1:";

struct StateValue {
  int32 vl_len_;
  int32 version;
  int32 dims, value_dims;
  int32 name_len;
  char name[NAMEDATALEN];
  double params[rvj::ir::kMaxParams];
  int64 rows;
};
constexpr size_t data_offset() { return MAXALIGN(sizeof(StateValue)); }
double* data_of(StateValue* v) { return (double*)((char*)v + data_offset()); }
size_t data_count(const StateValue* v) { return (VARSIZE(v) - data_offset()) / sizeof(double); }

// A plan resolved for one (type, params, dims, value dims), with FAVOR+'s
// W, kept per call site; plus the raw arguments it was parsed from.
struct Site {
  bool ready;
  int32 dims, value_dims, name_len;
  char name[NAMEDATALEN];
  double params[rvj::ir::kMaxParams];
  SequencePlan plan;
  double* favor_w;
  size_t favor_size;
  // The transition's text and jsonb arguments as last parsed.
  int type_len, params_len;
  char type_raw[NAMEDATALEN];
  char params_raw[256];
  double parsed[rvj::ir::kMaxParams];
  const rvj::ir::SequenceMechanism* parsed_m;
  // ruvector_linear_attend: the detoasted state of the last TOAST pointer,
  // and a state packed for queries (linear_pack_state), valid while
  // packed_rel/packed_value name the TOAST value it came from.
  Oid toast_rel, toast_value;
  StateValue* detoasted;
  float* packed;
  size_t packed_cap;
  Oid packed_rel, packed_value;
};

Site* site_of(FunctionCallInfo fcinfo) { return static_cast<Site*>(call_site(fcinfo, sizeof(Site))); }

// Makes s's plan the one for (m, params, dims, value_dims). May ERROR.
void prepare(FunctionCallInfo fcinfo, Site* s, const rvj::ir::SequenceMechanism* m, const double* params, int dims,
             int value_dims) {
  const int name_len = (int)strlen(m->name);
  if (s->ready && s->dims == dims && s->value_dims == value_dims && s->name_len == name_len &&
      memcmp(s->name, m->name, name_len) == 0 && memcmp(s->params, params, sizeof s->params) == 0)
    return;
  s->ready = false;
  SequencePlan plan;
  size_t w = 0;
  RVJ_ENGINE({
    plan = rvj::runtime::linear_table_plan(*m, params, dims, value_dims);
    w = rvj::runtime::favor_weights_size(plan);
  });
  if (w != s->favor_size) {
    MemoryContext ctx = fcinfo->flinfo ? fcinfo->flinfo->fn_mcxt : CurrentMemoryContext;
    s->favor_w = w ? (double*)MemoryContextAlloc(ctx, sizeof(double) * w) : nullptr;
    s->favor_size = w;
  }
  if (w) RVJ_ENGINE(rvj::runtime::favor_weights(plan, s->favor_w));
  plan.favor_w = s->favor_w;
  s->plan = plan;
  s->dims = dims, s->value_dims = value_dims, s->name_len = name_len;
  memset(s->name, 0, sizeof s->name);
  memcpy(s->name, m->name, name_len);
  memcpy(s->params, params, sizeof s->params);
  s->ready = true;
}

// The mechanism a value names, its plan made current in s, and the value's
// size and numbers checked against it. `code`: the SQLSTATE for a bad value.
void prepare_value(FunctionCallInfo fcinfo, Site* s, const StateValue* v, size_t size, int code) {
  if (size < data_offset() || v->version != kVersion || v->name_len <= 0 || v->name_len >= NAMEDATALEN ||
      v->name[v->name_len] != '\0' || v->dims < 1 || v->dims > RUVECTOR_MAX_DIM || v->value_dims < 1 ||
      v->value_dims > RUVECTOR_MAX_DIM || v->rows < 0)
    ereport(ERROR, (errcode(code), errmsg("invalid ruvector_linear_state value")));
  const rvj::ir::SequenceMechanism* m = nullptr;
  RVJ_ENGINE(m = rvj::ir::find_sequence_mechanism(v->name));
  if (m == nullptr)
    ereport(ERROR, (errcode(code), errmsg("invalid ruvector_linear_state value: unknown attention type \"%s\"", v->name)));
  for (size_t i = 0; i < rvj::ir::kMaxParams; i++)
    if (!std::isfinite(v->params[i]))
      ereport(ERROR, (errcode(code), errmsg("invalid ruvector_linear_state value: a parameter is not finite")));
  prepare(fcinfo, s, m, v->params, v->dims, v->value_dims);
  const size_t want = data_offset() + sizeof(double) * rvj::runtime::linear_state_size(s->plan);
  if (size != want)
    ereport(ERROR, (errcode(code), errmsg("invalid ruvector_linear_state value: %zu bytes where its form has %zu",
                                          size, want)));
  const double* d = (const double*)((const char*)v + data_offset());
  for (size_t i = 0; i < (want - data_offset()) / sizeof(double); i++)
    if (!std::isfinite(d[i]))
      ereport(ERROR, (errcode(code), errmsg("invalid ruvector_linear_state value: a sum is not finite")));
}

bool same_form(const StateValue* a, const StateValue* b) {
  return a->version == b->version && a->dims == b->dims && a->value_dims == b->value_dims &&
         a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
         memcmp(a->params, b->params, sizeof a->params) == 0 && VARSIZE(a) == VARSIZE(b);
}

[[noreturn]] void different_forms(const char* what) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("%s needs states of the same attention type, params and dimensions", what),
                  errhint("ruvector_linear_state_info(state) shows a state's form.")));
}

MemoryContext aggregate_context(FunctionCallInfo fcinfo) {
  MemoryContext ctx;
  if (!AggCheckCallContext(fcinfo, &ctx)) elog(ERROR, "ruvector_linear_state called in non-aggregate context");
  return ctx;
}

StateValue* copy_value(const StateValue* v, MemoryContext ctx) {
  StateValue* c = (StateValue*)MemoryContextAllocHuge(ctx, VARSIZE(v));
  memcpy(c, v, VARSIZE(v));
  return c;
}

// The aggregate's state: the value being built, and up to kPending rows
// not folded in yet (folded in blocks: runtime/schedules/linear.cpp reads
// and writes the state once per block, not once per row).
constexpr int kPending = 64;
struct LinearAgg {
  StateValue* value;
  int pending;
  float* keys;    // kPending x dims
  float* values;  // kPending x value_dims
};

LinearAgg* new_agg_state(MemoryContext ctx, StateValue* value) {
  LinearAgg* a = (LinearAgg*)MemoryContextAllocZero(ctx, sizeof(LinearAgg));
  a->value = value;
  a->keys = (float*)MemoryContextAlloc(ctx, sizeof(float) * kPending * value->dims);
  a->values = (float*)MemoryContextAlloc(ctx, sizeof(float) * kPending * value->value_dims);
  return a;
}

// Folds the pending rows in, with s's plan (made current for the value).
void flush(FunctionCallInfo fcinfo, Site* s, LinearAgg* a) {
  if (a->pending == 0) return;
  StateValue* v = a->value;
  if (!s->ready || s->dims != v->dims || s->value_dims != v->value_dims || strcmp(s->name, v->name) != 0 ||
      memcmp(s->params, v->params, sizeof s->params) != 0)
    prepare_value(fcinfo, s, v, VARSIZE(v), ERRCODE_DATA_CORRUPTED);
  const float* k[kPending];
  const float* val[kPending];
  for (int i = 0; i < a->pending; i++)
    k[i] = a->keys + (size_t)i * v->dims, val[i] = a->values + (size_t)i * v->value_dims;
  RVJ_ENGINE({
    rvj::runtime::bind_linear(s->plan, rvj::pg::jit_enabled);
    rvj::runtime::linear_add_keys(s->plan, k, val, 0, a->pending, data_of(v));
  });
  a->pending = 0;
}

}  // namespace

// ---- the aggregate --------------------------------------------------------

// (state, key, value [, attention_type [, params]])
RVJ_FUNCTION(ruvector_linear_state_transition) {
  MemoryContext ctx = aggregate_context(fcinfo);
  LinearAgg* agg = PG_ARGISNULL(0) ? nullptr : (LinearAgg*)PG_GETARG_POINTER(0);
  // Rows without a key or a value take no part, as NULLs in sum().
  if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
    if (agg) PG_RETURN_POINTER(agg);
    PG_RETURN_NULL();
  }
  if ((PG_NARGS() > 3 && PG_ARGISNULL(3)) || (PG_NARGS() > 4 && PG_ARGISNULL(4)))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ruvector_linear_state: attention_type and params must not be null")));
  RuVector* key = PG_GETARG_RUVECTOR_P(1);
  RuVector* value = PG_GETARG_RUVECTOR_P(2);
  Site* s = site_of(fcinfo);
  // The type and params, parsed again only when their bytes change.
  text* type = PG_NARGS() > 3 ? PG_GETARG_TEXT_PP(3) : nullptr;
  Jsonb* jb = PG_NARGS() > 4 ? PG_GETARG_JSONB_P(4) : nullptr;
  const char* type_name = type ? VARDATA_ANY(type) : "linear";
  const int type_len = type ? VARSIZE_ANY_EXHDR(type) : (int)strlen("linear");
  const int jb_len = jb ? (int)VARSIZE(jb) : 0;
  if (s->parsed_m == nullptr || type_len != s->type_len || type_len >= NAMEDATALEN ||
      memcmp(type_name, s->type_raw, type_len) != 0 || jb_len != s->params_len || jb_len > (int)sizeof s->params_raw ||
      (jb && memcmp(jb, s->params_raw, jb_len) != 0)) {
    s->parsed_m = nullptr;
    const rvj::ir::SequenceMechanism* m = sequence_mechanism(pnstrdup(type_name, type_len));
    double params[rvj::ir::kMaxParams] = {};
    if (jb)
      parse_params(jb, m->name, m->params, params);
    else
      RVJ_ENGINE(rvj::ir::default_params(m->params, params));
    memcpy(s->parsed, params, sizeof params);
    s->type_len = Min(type_len, NAMEDATALEN - 1);
    memcpy(s->type_raw, type_name, s->type_len);
    s->params_len = Min(jb_len, (int)sizeof s->params_raw);
    if (jb) memcpy(s->params_raw, jb, s->params_len);
    s->parsed_m = m;
  }
  if (agg == nullptr) {
    prepare(fcinfo, s, s->parsed_m, s->parsed, key->dim, value->dim);
    const size_t size = data_offset() + sizeof(double) * rvj::runtime::linear_state_size(s->plan);
    StateValue* st = (StateValue*)MemoryContextAllocExtended(ctx, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
    SET_VARSIZE(st, size);
    st->version = kVersion;
    st->dims = key->dim, st->value_dims = value->dim;
    st->name_len = (int32)strlen(s->parsed_m->name);
    memcpy(st->name, s->parsed_m->name, st->name_len);
    memcpy(st->params, s->parsed, sizeof st->params);
    agg = new_agg_state(ctx, st);
  } else {
    StateValue* st = agg->value;
    if (key->dim != st->dims || value->dim != st->value_dims)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("ruvector_linear_state: every row needs keys of %d and values of %d dimensions, not %d "
                             "and %d",
                             st->dims, st->value_dims, key->dim, value->dim)));
    if (strcmp(st->name, s->parsed_m->name) != 0 || memcmp(st->params, s->parsed, sizeof st->params) != 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("ruvector_linear_state needs the same attention type and params for every row")));
  }
  StateValue* st = agg->value;
  memcpy(agg->keys + (size_t)agg->pending * st->dims, key->x, sizeof(float) * st->dims);
  memcpy(agg->values + (size_t)agg->pending * st->value_dims, value->x, sizeof(float) * st->value_dims);
  agg->pending++;
  st->rows++;
  if (agg->pending == kPending) flush(fcinfo, s, agg);
  PG_RETURN_POINTER(agg);
}

RVJ_FUNCTION(ruvector_linear_state_combine) {
  MemoryContext ctx = aggregate_context(fcinfo);
  LinearAgg* a = PG_ARGISNULL(0) ? nullptr : (LinearAgg*)PG_GETARG_POINTER(0);
  LinearAgg* b = PG_ARGISNULL(1) ? nullptr : (LinearAgg*)PG_GETARG_POINTER(1);
  if (b == nullptr) {
    if (a) PG_RETURN_POINTER(a);
    PG_RETURN_NULL();
  }
  Site* s = site_of(fcinfo);
  flush(fcinfo, s, b);
  if (a == nullptr) PG_RETURN_POINTER(new_agg_state(ctx, copy_value(b->value, ctx)));
  if (!same_form(a->value, b->value)) different_forms("ruvector_linear_state");
  flush(fcinfo, s, a);
  rvj::runtime::linear_table_merge(data_of(a->value), data_of(b->value), data_count(a->value));
  a->value->rows += b->value->rows;
  PG_RETURN_POINTER(a);
}

RVJ_FUNCTION(ruvector_linear_state_serialize) {
  LinearAgg* a = (LinearAgg*)PG_GETARG_POINTER(0);
  flush(fcinfo, site_of(fcinfo), a);
  PG_RETURN_BYTEA_P((bytea*)copy_value(a->value, CurrentMemoryContext));
}

RVJ_FUNCTION(ruvector_linear_state_deserialize) {
  MemoryContext ctx = aggregate_context(fcinfo);
  bytea* in = PG_GETARG_BYTEA_PP(0);
  const size_t size = VARSIZE_ANY_EXHDR(in) + VARHDRSZ;
  StateValue* st = (StateValue*)MemoryContextAllocExtended(ctx, Max(size, data_offset()),
                                                           MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
  memcpy((char*)st + VARHDRSZ, VARDATA_ANY(in), size - VARHDRSZ);
  SET_VARSIZE(st, size);
  prepare_value(fcinfo, site_of(fcinfo), st, size, ERRCODE_DATA_CORRUPTED);
  PG_RETURN_POINTER(new_agg_state(ctx, st));
}

RVJ_FUNCTION(ruvector_linear_state_final) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  LinearAgg* a = (LinearAgg*)PG_GETARG_POINTER(0);
  flush(fcinfo, site_of(fcinfo), a);
  PG_RETURN_POINTER(copy_value(a->value, CurrentMemoryContext));
}

// ---- the type's input and output -----------------------------------------

RVJ_FUNCTION(ruvector_linear_state_in) {
  const char* str = PG_GETARG_CSTRING(0);
  const size_t prefix = strlen(kTextPrefix), len = strlen(str);
  if (strncmp(str, kTextPrefix, prefix) != 0 || (len - prefix) % 2 != 0 ||
      (len - prefix) / 2 + VARHDRSZ < data_offset())
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type ruvector_linear_state"),
                    errhint("A state's text is \"%s\" and hexadecimal digits, as its output gives it; build states "
                            "with the aggregate ruvector_linear_state(key, value).",
                            kTextPrefix)));
  const size_t size = (len - prefix) / 2 + VARHDRSZ;
  StateValue* v = (StateValue*)palloc_extended(size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
  SET_VARSIZE(v, size);
  if (hex_decode(str + prefix, len - prefix, (char*)v + VARHDRSZ) != size - VARHDRSZ)
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type ruvector_linear_state")));
  prepare_value(fcinfo, site_of(fcinfo), v, size, ERRCODE_INVALID_TEXT_REPRESENTATION);
  PG_RETURN_POINTER(v);
}

RVJ_FUNCTION(ruvector_linear_state_out) {
  StateValue* v = (StateValue*)PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
  const size_t n = VARSIZE(v) - VARHDRSZ, prefix = strlen(kTextPrefix);
  char* out = (char*)palloc_extended(prefix + 2 * n + 1, MCXT_ALLOC_HUGE);
  memcpy(out, kTextPrefix, prefix);
  const size_t written = hex_encode((const char*)v + VARHDRSZ, n, out + prefix);
  out[prefix + written] = '\0';
  PG_RETURN_CSTRING(out);
}

RVJ_FUNCTION(ruvector_linear_state_recv) {
  StringInfo buf = (StringInfo)PG_GETARG_POINTER(0);
  const size_t size = (size_t)(buf->len - buf->cursor) + VARHDRSZ;
  StateValue* v = (StateValue*)palloc_extended(Max(size, data_offset()), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
  SET_VARSIZE(v, size);
  pq_copymsgbytes(buf, (char*)v + VARHDRSZ, (int)(size - VARHDRSZ));
  prepare_value(fcinfo, site_of(fcinfo), v, size, ERRCODE_INVALID_BINARY_REPRESENTATION);
  PG_RETURN_POINTER(v);
}

RVJ_FUNCTION(ruvector_linear_state_send) {
  StateValue* v = (StateValue*)PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendbytes(&buf, (const char*)v + VARHDRSZ, VARSIZE(v) - VARHDRSZ);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// ---- using states ---------------------------------------------------------

namespace {
// The state argument `arg`, detoasted once per stored value: a state read
// from a table arrives as a TOAST pointer, whose (relation, value) names it.
StateValue* state_arg(FunctionCallInfo fcinfo, int arg, Site* s, bool* stored = nullptr) {
  Datum raw = PG_GETARG_DATUM(arg);
  struct varlena* p = (struct varlena*)DatumGetPointer(raw);
  if (stored) *stored = fcinfo->flinfo && VARATT_IS_EXTERNAL_ONDISK(p);
  if (fcinfo->flinfo && VARATT_IS_EXTERNAL_ONDISK(p)) {
    varatt_external ext;
    VARATT_EXTERNAL_GET_POINTER(ext, p);
    if (s->detoasted == nullptr || s->toast_rel != ext.va_toastrelid || s->toast_value != ext.va_valueid) {
      MemoryContext caller = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
      StateValue* v = (StateValue*)detoast_attr(p);
      MemoryContextSwitchTo(caller);
      if (s->detoasted) pfree(s->detoasted);
      s->detoasted = v;
      s->toast_rel = ext.va_toastrelid, s->toast_value = ext.va_valueid;
    }
    return s->detoasted;
  }
  return (StateValue*)PG_DETOAST_DATUM(raw);
}
}  // namespace

RVJ_FUNCTION(ruvector_linear_attend) {
  RuVector* q = PG_GETARG_RUVECTOR_P(0);
  Site* s = site_of(fcinfo);
  bool stored = false;
  StateValue* v = state_arg(fcinfo, 1, s, &stored);
  if (!s->ready || s->dims != v->dims || s->value_dims != v->value_dims || strcmp(s->name, v->name) != 0 ||
      memcmp(s->params, v->params, sizeof s->params) != 0) {
    prepare_value(fcinfo, s, v, VARSIZE(v), ERRCODE_DATA_CORRUPTED);
    s->packed_rel = s->packed_value = InvalidOid;
  }
  if (q->dim != v->dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("the query has %d dimensions, the state's keys %d", q->dim, v->dims)));
  if (v->rows == 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("the state holds no rows")));
  // A stored state is packed once per call site; any other, per call.
  if (!(stored && s->packed_rel == s->toast_rel && s->packed_value == s->toast_value)) {
    const size_t n = rvj::runtime::linear_query_size(s->plan);
    if (n > s->packed_cap) {
      MemoryContext ctx = fcinfo->flinfo ? fcinfo->flinfo->fn_mcxt : CurrentMemoryContext;
      if (s->packed) pfree(s->packed);
      s->packed = (float*)MemoryContextAlloc(ctx, sizeof(float) * n);
      s->packed_cap = n;
    }
    RVJ_ENGINE(rvj::runtime::linear_pack_state(s->plan, data_of(v), s->packed));
    s->packed_rel = stored ? s->toast_rel : InvalidOid;
    s->packed_value = stored ? s->toast_value : InvalidOid;
  }
  RuVector* out = new_vector(s->plan.out_dims());
  RVJ_ENGINE({
    rvj::runtime::bind_linear(s->plan, rvj::pg::jit_enabled);
    rvj::runtime::linear_table_attend(s->plan, s->packed, q->x, out->x);
  });
  PG_RETURN_RUVECTOR_P(out);
}

RVJ_FUNCTION(ruvector_linear_state_merge) {
  StateValue* a = (StateValue*)PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
  StateValue* b = (StateValue*)PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
  if (!same_form(a, b)) different_forms("ruvector_linear_state_merge");
  StateValue* sum = copy_value(a, CurrentMemoryContext);
  rvj::runtime::linear_table_merge(data_of(sum), data_of(b), data_count(sum));
  sum->rows += b->rows;
  PG_RETURN_POINTER(sum);
}

RVJ_FUNCTION(ruvector_linear_state_info) {
  StateValue* v = (StateValue*)PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
  Site* s = site_of(fcinfo);
  prepare_value(fcinfo, s, v, VARSIZE(v), ERRCODE_DATA_CORRUPTED);
  const rvj::ir::SequenceMechanism* m = rvj::ir::find_sequence_mechanism(v->name);
  StringInfoData js;
  initStringInfo(&js);
  appendStringInfo(&js, "{\"attention_type\": \"%s\", \"params\": {", v->name);
  for (size_t i = 0; i < m->params.size(); i++) {
    appendStringInfo(&js, "%s\"%s\": ", i ? ", " : "", m->params[i].name);
    if (m->params[i].kind == rvj::ir::ParamKind::Boolean) {
      appendStringInfoString(&js, v->params[i] != 0 ? "true" : "false");
    } else {
      char num[DOUBLE_SHORTEST_DECIMAL_LEN];
      double_to_shortest_decimal_buf(v->params[i], num);
      appendStringInfoString(&js, num);
    }
  }
  appendStringInfo(&js,
                   "}, \"dims\": %d, \"value_dims\": %d, \"num_heads\": %d, \"features_per_head\": %d, "
                   "\"rows\": " INT64_FORMAT ", \"bytes\": %u}",
                   v->dims, v->value_dims, s->plan.heads, s->plan.feature_dim(), v->rows, VARSIZE(v));
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(js.data)));
}
