// WITH (attention_type, num_heads, head_dim, m, ef_construction), checked
// at CREATE INDEX; and the similarity of the operator class.
#include "pg/index/index.h"

extern "C" {
#include "utils/syscache.h"
#include "catalog/pg_proc.h"
}

namespace rvj::pg::index {

namespace {
relopt_kind kind;

// attention_type names the similarity: the dot-product family, cosine, l2,
// poincare. One table serves the validator, the error text and the check
// against the operator class.
struct TypeName {
  const char* name;
  Metric metric;
};
constexpr TypeName kTypes[] = {
    {"scaled_dot", Metric::InnerProduct}, {"flash", Metric::InnerProduct},  {"flash_v2", Metric::InnerProduct},
    {"multi_head", Metric::InnerProduct}, {"cross", Metric::InnerProduct},  {"cosine", Metric::Cosine},
    {"l2", Metric::L2},                   {"poincare", Metric::Poincare},
};
constexpr const char* kAllowed = "scaled_dot, flash, flash_v2, multi_head, cross, cosine, l2, poincare";

const TypeName* find_type(const char* name) {
  for (const auto& t : kTypes)
    if (strcmp(t.name, name) == 0) return &t;
  return nullptr;
}

void validate_type(const char* value) {
  if (value && !find_type(value))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid attention_type \"%s\" for a ruvector_attention index", value),
                    errhint("Allowed: %s.", kAllowed)));
}

// The operator classes' distance functions (support function 1).
struct DistanceProc {
  const char* symbol;
  Metric metric;
  const char* opclass;
};
constexpr DistanceProc kProcs[] = {
    {"ruvector_negative_inner_product", Metric::InnerProduct, "ruvector_ip_ops"},
    {"ruvector_cosine_distance", Metric::Cosine, "ruvector_cosine_ops"},
    {"ruvector_l2_distance", Metric::L2, "ruvector_l2_ops"},
    {"ruvector_poincare_distance", Metric::Poincare, "ruvector_poincare_ops"},
};
const char* opclass_for(Metric m) {
  for (const auto& p : kProcs)
    if (p.metric == m) return p.opclass;
  return "?";
}
}  // namespace

void init_options() {
  kind = add_reloption_kind();
  add_string_reloption(kind, "attention_type",
                       "The similarity the graph is built and searched with (default: the operator class's).",
                       nullptr, validate_type, AccessExclusiveLock);
  add_int_reloption(kind, "num_heads", "Heads for ruvector_mha_search(exact := false) (0: not given).", 0, 0,
                    rvj::ir::kMaxDims, AccessExclusiveLock);
  add_int_reloption(kind, "head_dim", "Dims of each head (num_heads * head_dim = the column's dims).", 0, 0,
                    rvj::ir::kMaxDims, AccessExclusiveLock);
  add_int_reloption(kind, "m", "Neighbours per node and level (2 m at the bottom level).",
                    rvj::runtime::hnsw::kDefaultM, rvj::runtime::hnsw::kMinM, rvj::runtime::hnsw::kMaxM,
                    AccessExclusiveLock);
  add_int_reloption(kind, "ef_construction", "Candidates each insert considers.",
                    rvj::runtime::hnsw::kDefaultEfConstruction, rvj::runtime::hnsw::kMinEfConstruction,
                    rvj::runtime::hnsw::kMaxEfConstruction, AccessExclusiveLock);
}

bytea* options(Datum reloptions, bool validate) {
  static const relopt_parse_elt table[] = {
      {"attention_type", RELOPT_TYPE_STRING, offsetof(Options, attention_type)},
      {"num_heads", RELOPT_TYPE_INT, offsetof(Options, num_heads)},
      {"head_dim", RELOPT_TYPE_INT, offsetof(Options, head_dim)},
      {"m", RELOPT_TYPE_INT, offsetof(Options, m)},
      {"ef_construction", RELOPT_TYPE_INT, offsetof(Options, ef_construction)},
  };
  return (bytea*)build_reloptions(reloptions, validate, kind, sizeof(Options), table, lengthof(table));
}

Metric metric_of(Relation index) {
  const Oid proc = index_getprocid(index, 1, 1);
  const char* name = get_func_name(proc);
  if (name)
    for (const auto& p : kProcs)
      if (strcmp(p.symbol, name) == 0) return p.metric;
  ereport(ERROR, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                  errmsg("operator class of index \"%s\" has an unknown distance function", RelationGetRelationName(index)),
                  errhint("Use ruvector_ip_ops, ruvector_cosine_ops, ruvector_l2_ops or ruvector_poincare_ops.")));
}

Shape index_shape(Relation index) {
  Shape s{};
  s.metric = metric_of(index);
  s.m = rvj::runtime::hnsw::kDefaultM;
  s.ef_construction = rvj::runtime::hnsw::kDefaultEfConstruction;
  const Options* o = (const Options*)index->rd_options;
  const char* type = nullptr;
  if (o) {
    s.m = o->m;
    s.ef_construction = o->ef_construction;
    s.num_heads = o->num_heads;
    s.head_dim = o->head_dim;
    if (o->attention_type) type = (const char*)o + o->attention_type;
  }
  if (type) {
    const TypeName* t = find_type(type);
    if (!t) validate_type(type);
    if (t->metric != s.metric)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("attention_type \"%s\" ranks by %s, but the operator class ranks by %s", type,
                             rvj::runtime::hnsw::metric_name(t->metric), rvj::runtime::hnsw::metric_name(s.metric)),
                      errhint("Use the operator class %s for attention_type \"%s\", or leave attention_type out.",
                              opclass_for(t->metric), type)));
    strlcpy(s.attention_type, type, sizeof s.attention_type);
  } else {
    for (const auto& t : kTypes)
      if (t.metric == s.metric) {
        strlcpy(s.attention_type, t.name, sizeof s.attention_type);
        break;
      }
  }
  if ((s.num_heads > 0) != (s.head_dim > 0))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("num_heads and head_dim go together"),
                    errhint("Give both (num_heads * head_dim = the column's dims) or neither.")));
  if (s.ef_construction < 2 * s.m)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ef_construction must be at least 2 * m (%d), not %d", 2 * s.m, s.ef_construction)));
  return s;
}

}  // namespace rvj::pg::index
