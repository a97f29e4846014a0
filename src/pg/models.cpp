// ruvector_model_load(name, kind, tensors, replace), ruvector_model_drop(name)
// and the reader the model-taking functions share. Loading checks every
// shape against the kind (ir/recipes/models.h). Ownership is the tables'
// row-level security: a role reads a model unless its owner set readers,
// and only the owner (or a superuser) replaces or drops it.
#include "pg/models.h"

#include "pg/errors.h"
#include "pg/params.h"
#include "pg/table_source.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"
}

#include <sys/stat.h>

using namespace rvj::pg;

namespace {

struct Given {
  const char* name;
  int ndim;
  int shape[MAXDIM];
  const float* data;
  int64_t size;
};

void check_values(const Given& g) {
  for (int64_t j = 0; j < g.size; ++j)
    if (!std::isfinite(g.data[j]))
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("tensor \"%s\" has a value that is not finite at position %lld", g.name, (long long)j + 1)));
}

// Checks names and shapes by the kind's rules (ir::check_model) and fills
// m's symbols; returns them as jsonb text, the model's config.
const char* check_shapes(const rvj::ir::ModelKind& kind, const Given* given, int n, Model* m) {
  char* config = (char*)palloc(4096);
  RVJ_ENGINE({
    std::vector<rvj::ir::GivenTensor> ts;
    for (int i = 0; i < n; ++i)
      ts.push_back({given[i].name, std::vector<int64_t>(given[i].shape, given[i].shape + given[i].ndim)});
    rvj::ir::Bindings b = rvj::ir::check_model(kind, ts, m->config);
    std::string s = "{";
    for (size_t i = 0; i < kind.config.size(); ++i) {
      char v[64];
      double_to_shortest_decimal_buf(m->config[i], v);
      s += std::string(s.size() > 1 ? ", \"" : "\"") + kind.config[i].name + "\": " +
           (kind.config[i].kind == rvj::ir::ParamKind::Boolean ? (m->config[i] != 0 ? "true" : "false") : v);
    }
    m->nsymbols = 0;
    for (size_t i = 0; i < b.size() && i < 8; ++i) {
      s += (s.size() > 1 ? ", \"" : "\"") + b[i].first + "\": " + std::to_string(b[i].second);
      for (const rvj::ir::TensorSpec& t : kind.tensors)
        for (const char* sym : t.dims)
          if (b[i].first == sym) m->symbol_name[i] = sym;
      m->symbol[i] = b[i].second;
      m->nsymbols = (int)i + 1;
    }
    snprintf(config, 4096, "%s}", s.c_str());
  });
  return config;
}

const rvj::ir::ModelKind* kind_named(const char* kind) {
  const rvj::ir::ModelKind* k = rvj::ir::find_model_kind(kind);
  if (!k) {
    char* names = (char*)palloc(1024);
    RVJ_ENGINE(snprintf(names, 1024, "%s", rvj::ir::model_kind_names().c_str()));
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown model kind \"%s\"", kind),
                    errhint("Model kinds are: %s.", names)));
  }
  return k;
}

// The owner of model `name` as the caller sees it, or NULL when there is
// none (or the caller may not read it).
const char* visible_owner(const char* schema, const char* name) {
  Oid types[1] = {TEXTOID};
  Datum values[1] = {CStringGetTextDatum(name)};
  const char* sql = psprintf("SELECT owner::text FROM %s.ruvector_models WHERE name = $1", schema);
  if (SPI_execute_with_args(sql, 1, types, values, nullptr, false, 0) != SPI_OK_SELECT)
    elog(ERROR, "reading ruvector_models failed");
  return SPI_processed ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : nullptr;
}

// Only the owner or a superuser may replace or drop a model (row-level
// security would skip the row silently; this says why).
void check_owner(const char* name, const char* owner) {
  if (!superuser() && strcmp(owner, GetUserNameFromId(GetUserId(), false)) != 0)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("must be owner of model \"%s\"", name),
                    errdetail("Model \"%s\" belongs to role \"%s\".", name, owner)));
}

void execute(const char* sql, int n, Oid* types, Datum* values, int expect) {
  const int rc = SPI_execute_with_args(sql, n, types, values, nullptr, false, 0);
  if (rc != expect) elog(ERROR, "ruvector model update failed: %s", SPI_result_code_string(rc));
}
}  // namespace

namespace {
// A tensor's data as a real[] of its shape (for the tensors table).
ArrayType* float_array(const Given& g) {
  const size_t bytes = ARR_OVERHEAD_NONULLS(g.ndim) + sizeof(float) * (size_t)g.size;
  ArrayType* a = (ArrayType*)palloc0(bytes);
  SET_VARSIZE(a, bytes);
  a->ndim = g.ndim;
  a->dataoffset = 0;
  a->elemtype = FLOAT4OID;
  for (int d = 0; d < g.ndim; ++d) ARR_DIMS(a)[d] = g.shape[d], ARR_LBOUND(a)[d] = 1;
  memcpy(ARR_DATA_PTR(a), g.data, sizeof(float) * (size_t)g.size);
  return a;
}

// Checks the tensors (values, then shapes and config by the kind) and writes
// the model's rows as the caller, so row-level security decides ownership.
// Returns the model's config as jsonb.
Datum store_model(FunctionCallInfo fcinfo, const char* name, const char* kind_name, const Given* given, int n,
                  Jsonb* settings, bool replace) {
  if (!*name) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("a model needs a non-empty name")));
  const rvj::ir::ModelKind* kind = kind_named(kind_name);
  for (int i = 0; i < n; ++i) check_values(given[i]);
  Model checked{};
  parse_params(settings, kind->name, kind->config, checked.config);
  const char* config = check_shapes(*kind, given, n, &checked);

  const char* schema = own_schema(fcinfo);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_model_load: SPI_connect failed");
  if (const char* owner = visible_owner(schema, name)) {
    if (!replace)
      ereport(ERROR, (errcode(ERRCODE_DUPLICATE_OBJECT), errmsg("model \"%s\" already exists", name),
                      errhint("Pass replace => true to replace it, or drop it with ruvector_model_drop('%s').", name)));
    check_owner(name, owner);
    Oid t1[1] = {TEXTOID};
    Datum v1[1] = {CStringGetTextDatum(name)};
    execute(psprintf("DELETE FROM %s.ruvector_models WHERE name = $1", schema), 1, t1, v1, SPI_OK_DELETE);
  }
  Oid mt[3] = {TEXTOID, TEXTOID, JSONBOID};
  Datum mv[3] = {CStringGetTextDatum(name), CStringGetTextDatum(kind_name),
                 DirectFunctionCall1(jsonb_in, CStringGetDatum(config))};
  execute(psprintf("INSERT INTO %s.ruvector_models (name, kind, config) VALUES ($1, $2, $3)", schema), 3, mt, mv,
          SPI_OK_INSERT);
  const char* tsql = psprintf("INSERT INTO %s.ruvector_model_tensors (model, name, shape, data) VALUES ($1, $2, $3, $4)",
                              schema);
  for (int i = 0; i < n; ++i) {
    CHECK_FOR_INTERRUPTS();
    Datum dims[MAXDIM];
    for (int d = 0; d < given[i].ndim; ++d) dims[d] = Int32GetDatum(given[i].shape[d]);
    Oid tt[4] = {TEXTOID, TEXTOID, INT4ARRAYOID, FLOAT4ARRAYOID};
    Datum tv[4] = {CStringGetTextDatum(name), CStringGetTextDatum(given[i].name),
                   PointerGetDatum(construct_array(dims, given[i].ndim, INT4OID, 4, true, TYPALIGN_INT)),
                   PointerGetDatum(float_array(given[i]))};
    execute(tsql, 4, tt, tv, SPI_OK_INSERT);
  }
  SPI_finish();
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(config));
}

// --- safetensors: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {...}}, then the data (offsets relative to its start).

JsonbValue* member(JsonbContainer* c, const char* key) {
  JsonbValue k;
  k.type = jbvString;
  k.val.string.val = (char*)key;
  k.val.string.len = strlen(key);
  return findJsonbValueFromContainer(c, JB_FOBJECT, &k);
}

// The whole numbers of a jsonb array (at most `max`), or -1 when it is not one.
int json_ints(JsonbValue* v, int64* out, int max) {
  if (!v || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data)) return -1;
  JsonbIterator* it = JsonbIteratorInit(v->val.binary.data);
  JsonbValue e;
  JsonbIteratorToken tok;
  int n = 0;
  while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE) {
    if (tok != WJB_ELEM) continue;
    if (e.type != jbvNumeric || n == max) return -1;
    const char* text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(e.val.numeric)));
    char* end;
    errno = 0;
    const long long x = strtoll(text, &end, 10);
    if (errno || *end || x < 0) return -1;
    out[n++] = x;
  }
  return n;
}

float half_to_float(uint16_t h, bool bf16) {
  if (bf16) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  const uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = std::ldexp((float)man, -24);  // zero and subnormals
    return sign ? -f : f;
  }
  uint32_t u = exp == 31 ? sign | 0x7f800000u | (man << 13) : sign | ((exp + 112) << 23) | (man << 13);
  memcpy(&f, &u, 4);
  return f;
}

[[noreturn]] void bad_file(const char* path, const char* what) {
  ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("\"%s\" is not a safetensors file: %s", path, what),
                  errhint("Write one with safetensors.torch.save_file(model.state_dict(), path), or from .npz with "
                          "scripts/npz-to-safetensors.")));
}
}  // namespace

RVJ_FUNCTION(ruvector_model_load) {
  const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* kind_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
  ArrayType* arr = PG_GETARG_ARRAYTYPE_P(2);
  Jsonb* settings = PG_GETARG_JSONB_P(3);
  const bool replace = PG_GETARG_BOOL(4);

  // The tensors: an array of ruvector_tensor (name text, data real[]).
  Datum* elems;
  bool* nulls;
  int n;
  Oid elem_type = ARR_ELEMTYPE(arr);
  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
  deconstruct_array(arr, elem_type, typlen, typbyval, typalign, &elems, &nulls, &n);
  if (ARR_NDIM(arr) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("tensors must be a 1-D array")));
  Given* given = (Given*)palloc0(sizeof(Given) * (n + 1));
  for (int i = 0; i < n; ++i) {
    if (nulls[i]) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tensor %d is null", i + 1)));
    HeapTupleHeader t = DatumGetHeapTupleHeader(elems[i]);
    bool isnull;
    Datum nm = GetAttributeByNum(t, 1, &isnull);
    if (isnull) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tensor %d has no name", i + 1)));
    given[i].name = TextDatumGetCString(nm);
    Datum data = GetAttributeByNum(t, 2, &isnull);
    if (isnull)
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tensor \"%s\" has no data", given[i].name)));
    ArrayType* a = DatumGetArrayTypeP(data);
    if (ARR_HASNULL(a) || ARR_NDIM(a) == 0)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("tensor \"%s\" must be a non-empty real array without nulls", given[i].name)));
    given[i].ndim = ARR_NDIM(a);
    memcpy(given[i].shape, ARR_DIMS(a), sizeof(int) * given[i].ndim);
    given[i].data = (const float*)ARR_DATA_PTR(a);
    given[i].size = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
  }
  PG_RETURN_DATUM(store_model(fcinfo, name, kind_name, given, n, settings, replace));
}

// ruvector_model_load_file(name, kind, path, config, replace): a
// safetensors file on the server. Reading server files follows
// pg_read_file's rule: superusers and members of pg_read_server_files.
RVJ_FUNCTION(ruvector_model_load_file) {
  const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* kind_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
  char* path = text_to_cstring(PG_GETARG_TEXT_PP(2));
  Jsonb* settings = PG_GETARG_JSONB_P(3);
  const bool replace = PG_GETARG_BOOL(4);
  if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to read server file \"%s\"", path),
                    errdetail("Only superusers and roles with privileges of the pg_read_server_files role may load "
                              "models from server files."),
                    errhint("Load the tensors as arrays with ruvector_model_load instead.")));
  canonicalize_path(path);
  FILE* f = AllocateFile(path, PG_BINARY_R);
  if (!f)
    ereport(ERROR, (errcode_for_file_access(), errmsg("could not open file \"%s\" for reading: %m", path)));
  struct stat st;
  if (fstat(fileno(f), &st) != 0)
    ereport(ERROR, (errcode_for_file_access(), errmsg("could not stat file \"%s\": %m", path)));
  if (!S_ISREG(st.st_mode)) bad_file(path, "not a regular file");
  if ((uint64)st.st_size > MaxAllocSize)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("\"%s\" holds %lld bytes; a model file may hold at most 1 GB", path, (long long)st.st_size)));
  char* buf = (char*)palloc(st.st_size + 1);
  if (fread(buf, 1, st.st_size, f) != (size_t)st.st_size)
    ereport(ERROR, (errcode_for_file_access(), errmsg("could not read file \"%s\": %m", path)));
  FreeFile(f);

  if (st.st_size < 8) bad_file(path, "shorter than its 8-byte header length");
  uint64 hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | (unsigned char)buf[i];
  if (hlen < 2 || hlen > (uint64)st.st_size - 8) bad_file(path, "its header length runs past the end");
  char* header = pnstrdup(buf + 8, hlen);
  const char* data = buf + 8 + hlen;
  const uint64 data_len = st.st_size - 8 - hlen;
  Jsonb* jb = nullptr;
  PG_TRY();
  { jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(header))); }
  PG_CATCH();
  {
    FlushErrorState();
    jb = nullptr;
  }
  PG_END_TRY();
  if (!jb || !JB_ROOT_IS_OBJECT(jb)) bad_file(path, "its header is not a JSON object");

  const int cap = JB_ROOT_COUNT(jb) + 1;
  Given* given = (Given*)palloc0(sizeof(Given) * cap);
  int n = 0;
  JsonbIterator* it = JsonbIteratorInit(&jb->root);
  JsonbValue k, v;
  JsonbIteratorToken tok;
  while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE) {
    if (tok != WJB_KEY) continue;
    char* tname = pnstrdup(k.val.string.val, k.val.string.len);
    JsonbIteratorNext(&it, &v, true);
    if (strcmp(tname, "__metadata__") == 0) continue;
    if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
      bad_file(path, psprintf("the entry of tensor \"%s\" is not an object", tname));
    JsonbContainer* c = v.val.binary.data;
    JsonbValue* dt = member(c, "dtype");
    if (!dt || dt->type != jbvString) bad_file(path, psprintf("tensor \"%s\" has no dtype", tname));
    const char* dtype = pnstrdup(dt->val.string.val, dt->val.string.len);
    int64 shape[MAXDIM + 1], off[3];
    const int ndim = json_ints(member(c, "shape"), shape, MAXDIM + 1);
    if (ndim < 0 || ndim > MAXDIM) bad_file(path, psprintf("tensor \"%s\" has no valid shape", tname));
    if (json_ints(member(c, "data_offsets"), off, 3) != 2 || off[0] > off[1] || (uint64)off[1] > data_len)
      bad_file(path, psprintf("tensor \"%s\" has data offsets outside the file", tname));
    int size_of;
    if (strcmp(dtype, "F32") == 0) size_of = 4;
    else if (strcmp(dtype, "F64") == 0) size_of = 8;
    else if (strcmp(dtype, "F16") == 0 || strcmp(dtype, "BF16") == 0) size_of = 2;
    else
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("tensor \"%s\" of \"%s\" has dtype %s; models take F32, F64, F16 or BF16", tname, path,
                             dtype)));
    Given& g = given[n++];
    g.name = tname;
    // A 0-d tensor (a scalar such as AGNNConv's beta in some versions) loads as shape [1].
    g.ndim = ndim == 0 ? 1 : ndim;
    int64 count = 1;
    for (int d = 0; d < ndim; ++d) {
      if (shape[d] < 1 || shape[d] > INT_MAX)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("tensor \"%s\" of \"%s\" is empty or too large", tname, path)));
      g.shape[d] = (int)shape[d];
      count *= shape[d];
      if (count > (int64)(MaxAllocSize / sizeof(float)))
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("tensor \"%s\" of \"%s\" is too large", tname, path)));
    }
    if (ndim == 0) g.shape[0] = 1;
    if (off[1] - off[0] != count * size_of)
      bad_file(path, psprintf("tensor \"%s\" holds %lld bytes; its shape and dtype need %lld", tname,
                              (long long)(off[1] - off[0]), (long long)(count * size_of)));
    g.size = count;
    float* x = (float*)palloc(sizeof(float) * count);
    const char* src = data + off[0];
    for (int64 i = 0; i < count; ++i) {
      if (size_of == 4) memcpy(&x[i], src + 4 * i, 4);  // little-endian, as the format says
      else if (size_of == 8) {
        double dv;
        memcpy(&dv, src + 8 * i, 8);
        x[i] = (float)dv;
      } else {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        x[i] = half_to_float(h, dtype[0] == 'B');
      }
    }
    g.data = x;
  }
  PG_RETURN_DATUM(store_model(fcinfo, name, kind_name, given, n, settings, replace));
}

RVJ_FUNCTION(ruvector_model_drop) {
  const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* schema = own_schema(fcinfo);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "ruvector_model_drop: SPI_connect failed");
  const char* owner = visible_owner(schema, name);
  if (!owner)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("model \"%s\" does not exist", name),
                    errhint("SELECT name FROM ruvector_models lists the models you may read.")));
  check_owner(name, owner);
  Oid t1[1] = {TEXTOID};
  Datum v1[1] = {CStringGetTextDatum(name)};
  execute(psprintf("DELETE FROM %s.ruvector_models WHERE name = $1", schema), 1, t1, v1, SPI_OK_DELETE);
  SPI_finish();
  PG_RETURN_VOID();
}

namespace rvj::pg {

Model read_model(FunctionCallInfo fcinfo, const char* function, const char* name, const char* kind) {
  const char* schema = own_schema(fcinfo);
  MemoryContext caller = CurrentMemoryContext;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "%s: SPI_connect failed", function);
  Oid types[1] = {TEXTOID};
  Datum values[1] = {CStringGetTextDatum(name)};
  const char* sql = psprintf(
      "SELECT m.kind, t.name, t.shape, t.data, m.config FROM %s.ruvector_models m "
      "LEFT JOIN %s.ruvector_model_tensors t ON t.model = m.name WHERE m.name = $1 ORDER BY t.name",
      schema, schema);
  if (SPI_execute_with_args(sql, 1, types, values, nullptr, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "%s: reading model \"%s\" failed", function, name);
  if (SPI_processed == 0)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("model \"%s\" does not exist", name),
                    errdetail("Or its owner has not made it readable to you."),
                    errhint("SELECT name, kind FROM ruvector_models lists the models you may read.")));
  SPITupleTable* tt = SPI_tuptable;
  const char* got_kind = SPI_getvalue(tt->vals[0], tt->tupdesc, 1);
  if (!kind) kind = got_kind;
  if (strcmp(got_kind, kind) != 0)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("%s needs a model of kind %s; \"%s\" is a %s model", function, kind, name, got_kind)));
  Model m{};
  m.kind = kind_named(kind);
  {
    // The kind's config keys from the stored config (which also lists the
    // shapes' symbols), checked again like a load's.
    bool isnull;
    Jsonb* stored = DatumGetJsonbP(SPI_getbinval(tt->vals[0], tt->tupdesc, 5, &isnull));
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    for (const rvj::ir::ParamSpec& p : m.kind->config) {
      JsonbValue key, *v;
      key.type = jbvString;
      key.val.string.val = (char*)p.name;
      key.val.string.len = strlen(p.name);
      if ((v = findJsonbValueFromContainer(&stored->root, JB_FOBJECT, &key)) == nullptr) continue;
      pushJsonbValue(&st, WJB_KEY, &key);
      pushJsonbValue(&st, WJB_VALUE, v);
    }
    Jsonb* own = JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, nullptr));
    parse_params(own, m.kind->name, m.kind->config, m.config);
  }
  MemoryContext spi = MemoryContextSwitchTo(caller);
  m.name = pstrdup(name);
  Given* given = (Given*)palloc0(sizeof(Given) * (SPI_processed + 1));
  int n = 0;
  for (uint64 r = 0; r < SPI_processed; ++r) {
    bool isnull, shape_null, data_null;
    Datum nm = SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &isnull);
    if (isnull) continue;  // a model without tensors
    Datum shape = SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &shape_null);
    Datum data = SPI_getbinval(tt->vals[r], tt->tupdesc, 4, &data_null);
    Given& g = given[n++];
    g.name = TextDatumGetCString(nm);
    ArrayType* sa = shape_null ? nullptr : DatumGetArrayTypePCopy(shape);
    ArrayType* da = data_null ? nullptr : DatumGetArrayTypePCopy(data);
    // Rows may have been written directly: check them as load does. The
    // stored shape is the tensor's (the data may have been flattened).
    g.ndim = sa ? ArrayGetNItems(ARR_NDIM(sa), ARR_DIMS(sa)) : 0;
    if (!sa || !da || ARR_HASNULL(sa) || g.ndim < 1 || g.ndim > MAXDIM || ARR_HASNULL(da))
      ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("model \"%s\": tensor \"%s\" is malformed", name, g.name),
                      errhint("Load it again with ruvector_model_load.")));
    int64_t size = 1;
    for (int d = 0; d < g.ndim; ++d) size *= (g.shape[d] = ((int32*)ARR_DATA_PTR(sa))[d]);
    g.size = ArrayGetNItems(ARR_NDIM(da), ARR_DIMS(da));
    if (size != g.size)
      ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                      errmsg("model \"%s\": tensor \"%s\" holds %lld values; its shape says %lld", name, g.name,
                             (long long)g.size, (long long)size),
                      errhint("Load it again with ruvector_model_load.")));
    g.data = (const float*)ARR_DATA_PTR(da);
    check_values(g);
  }
  MemoryContextSwitchTo(spi);
  SPI_finish();
  check_shapes(*m.kind, given, n, &m);
  ModelTensor* ts = (ModelTensor*)palloc0(sizeof(ModelTensor) * (n + 1));
  for (int i = 0; i < n; ++i) {
    ts[i].name = given[i].name;
    ts[i].ndim = given[i].ndim;
    memcpy(ts[i].shape, given[i].shape, sizeof(given[i].shape));
    ts[i].size = given[i].size;
    ts[i].data = given[i].data;
  }
  m.ntensors = n;
  m.tensors = ts;
  return m;
}

const ModelTensor* model_tensor(const Model& m, const char* name) {
  for (int i = 0; i < m.ntensors; ++i)
    if (strcmp(m.tensors[i].name, name) == 0) return &m.tensors[i];
  return nullptr;
}

int64_t model_symbol(const Model& m, const char* symbol) {
  for (int i = 0; i < m.nsymbols; ++i)
    if (strcmp(m.symbol_name[i], symbol) == 0) return m.symbol[i];
  return 0;
}

}  // namespace rvj::pg
