#include "pg/params.h"

#include "pg/errors.h"

extern "C" {
#include "utils/json.h"
}

namespace rvj::pg {

namespace {
// "tau, c, beta" or "none".
void append_names(StringInfo s, const std::vector<rvj::ir::ParamSpec>& specs) {
  if (specs.empty()) appendStringInfoString(s, "none");
  for (size_t i = 0; i < specs.size(); i++) appendStringInfo(s, "%s%s", i ? ", " : "", specs[i].name);
}
// The spec's range in words, in this call's memory context (the C++ string
// is gone before any ERROR).
const char* describe(const rvj::ir::ParamSpec& spec) {
  char* text = (char*)palloc(256);
  RVJ_ENGINE(snprintf(text, 256, "%s", rvj::ir::describe_range(spec).c_str()));
  return text;
}
}  // namespace

void parse_params(Jsonb* jb, const char* owner, const std::vector<rvj::ir::ParamSpec>& specs, double* params) {
  for (size_t i = 0; i < specs.size(); i++) params[i] = specs[i].default_value;
  if (!JB_ROOT_IS_OBJECT(jb))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("params must be a jsonb object"),
                    errhint("For example '{}' or '{\"tau\": 0.07}'.")));
  JsonbIterator* it = JsonbIteratorInit(&jb->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  char* key = nullptr;
  // skipNested: a nested array or object arrives as one (non-numeric) value.
  while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (tok == WJB_KEY) {
      key = pnstrdup(v.val.string.val, v.val.string.len);
      continue;
    }
    if (tok != WJB_VALUE) continue;
    int index = -1;
    for (size_t i = 0; i < specs.size(); i++)
      if (strcmp(specs[i].name, key) == 0) index = (int)i;
    if (index < 0) {
      StringInfoData names;
      initStringInfo(&names);
      append_names(&names, specs);
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("unknown parameter \"%s\" for attention type \"%s\"", key, owner),
                      errhint("Parameters of %s: %s.", owner, names.data)));
    }
    if (specs[index].kind == rvj::ir::ParamKind::Boolean) {
      if (v.type != jbvBool)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("parameter \"%s\" must be true or false", key)));
      params[index] = v.val.boolean ? 1 : 0;
      continue;
    }
    if (v.type != jbvNumeric)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("parameter \"%s\" must be a number", key),
                      errhint("%s must be %s.", key, describe(specs[index]))));
    params[index] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
  }
}

AttentionOptions attention_options(Jsonb* jb, const char* function) {
  AttentionOptions o{"scaled_dot", nullptr};
  if (!JB_ROOT_IS_OBJECT(jb))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s: the attention must be a jsonb object", function),
                    errhint("For example '{\"attention_type\": \"cosine\", \"params\": {\"tau\": 0.07}}'.")));
  JsonbIterator* it = JsonbIteratorInit(&jb->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  char* key = nullptr;
  while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (tok == WJB_KEY) {
      key = pnstrdup(v.val.string.val, v.val.string.len);
      continue;
    }
    if (tok != WJB_VALUE) continue;
    if (strcmp(key, "attention_type") == 0 && v.type == jbvString) {
      o.type = pnstrdup(v.val.string.val, v.val.string.len);
    } else if (strcmp(key, "params") == 0 && v.type == jbvBinary) {
      o.params = JsonbValueToJsonb(&v);
      if (!JB_ROOT_IS_OBJECT(o.params))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s: params must be a jsonb object", function)));
    } else {
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: unexpected key \"%s\" in the attention", function, key),
                      errhint("The attention has the keys attention_type (a string) and params (an object).")));
    }
  }
  if (o.params == nullptr) o.params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
  return o;
}

Jsonb* attention_options_jsonb(const char* type, Jsonb* params) {
  StringInfoData s;
  initStringInfo(&s);
  appendStringInfoString(&s, "{\"attention_type\": ");
  escape_json(&s, type);
  appendStringInfo(&s, ", \"params\": %s}",
                   params ? JsonbToCString(nullptr, &params->root, VARSIZE(params)) : "{}");
  return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}

}  // namespace rvj::pg
