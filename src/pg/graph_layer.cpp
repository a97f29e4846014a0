#include "pg/graph_layer.h"

#include "pg/errors.h"
#include "pg/models.h"
#include "pg/table_source.h"
#include "pg/vector.h"

namespace rvj::pg {

namespace {
const float* tensor(const Model& m, const char* name) {
  const ModelTensor* t = model_tensor(m, name);
  return t ? t->data : nullptr;
}
}  // namespace

rvj::runtime::GraphLayer graph_layer(FunctionCallInfo fcinfo, const char* function, const char* model, int heads,
                                     int dims) {
  using rvj::runtime::GraphKind;
  rvj::runtime::GraphLayer l;
  const bool jit = jit_enabled;
  if (!model) {
    RVJ_ENGINE(l = rvj::runtime::dot_graph_layer(dims, heads ? heads : 4, jit));
    return l;
  }
  Model m = read_model(fcinfo, function, model, nullptr);
  const char* kind = m.kind->name;
  if (strcmp(kind, "gat") == 0) {
    l.kind = GraphKind::Gat;
    l.heads = (int)model_symbol(m, "heads");
    l.channels = (int)model_symbol(m, "channels");
    l.in_dims = (int)model_symbol(m, "in_channels");
    l.slope = m.config[0];
    l.lin = tensor(m, "lin.weight");
    l.att_src = tensor(m, "att_src");
    l.att_dst = tensor(m, "att_dst");
    l.bias = tensor(m, "bias");
    if ((l.lin_edge = tensor(m, "lin_edge.weight"))) {
      l.edge_dim = (int)model_symbol(m, "edge_dim");
      l.att_edge = tensor(m, "att_edge");
    }
  } else if (strcmp(kind, "gatv2") == 0) {
    l.kind = GraphKind::Gatv2;
    l.heads = (int)model_symbol(m, "heads");
    l.channels = (int)model_symbol(m, "channels");
    l.in_dims = (int)model_symbol(m, "in_channels");
    l.slope = m.config[0];
    l.wq = tensor(m, "lin_l.weight"), l.bq = tensor(m, "lin_l.bias");
    l.wk = tensor(m, "lin_r.weight"), l.bk = tensor(m, "lin_r.bias");
    l.att_src = tensor(m, "att");
    l.bias = tensor(m, "bias");
  } else if (strcmp(kind, "graph_transformer") == 0) {
    l.kind = GraphKind::Transformer;
    l.heads = (int)m.config[0];
    l.channels = (int)(model_symbol(m, "heads_x_channels") / l.heads);
    l.in_dims = (int)model_symbol(m, "in_channels");
    l.wq = tensor(m, "lin_query.weight"), l.bq = tensor(m, "lin_query.bias");
    l.wk = tensor(m, "lin_key.weight"), l.bk = tensor(m, "lin_key.bias");
    l.wv = tensor(m, "lin_value.weight"), l.bv = tensor(m, "lin_value.bias");
    l.ws = tensor(m, "lin_skip.weight"), l.bs = tensor(m, "lin_skip.bias");
  } else if (strcmp(kind, "agnn") == 0) {
    l.kind = GraphKind::Agnn;
    l.heads = 1;
    l.in_dims = l.channels = dims;
    l.beta = tensor(m, "beta")[0];
  } else {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("%s needs a graph model (kind gat, gatv2, graph_transformer or agnn); \"%s\" is a %s model",
                           function, model, kind)));
  }
  if (heads && heads != l.heads)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("num_heads is %d, but model \"%s\" has %d heads", heads, model, l.heads),
                    errhint("Leave num_heads out (NULL) to use the model's.")));
  if (l.in_dims != dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("model \"%s\" takes node features of %d dimensions, not %d", model, l.in_dims, dims)));
  if (l.heads * l.channels > RUVECTOR_MAX_DIM)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("model \"%s\" writes %d features; a ruvector holds at most %d", model,
                           l.heads * l.channels, (int)RUVECTOR_MAX_DIM)));
  float* packed = (float*)palloc(sizeof(float) * std::max<size_t>(1, rvj::runtime::graph_packed_floats(l)));
  RVJ_ENGINE({
    rvj::runtime::bind_graph_layer(l, jit);
    rvj::runtime::pack_graph_layer(l, packed);
  });
  return l;
}

const char* edge_feature_column(FunctionCallInfo fcinfo, const char* function, const rvj::runtime::GraphLayer& l,
                                Oid edge_relid, const char* named) {
  if (!l.edge_dim) {
    if (named)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: edge_feature_column is given, but the layer takes no edge features", function),
                      errhint("Edge features need a gat model with lin_edge.weight and att_edge (GATConv(edge_dim=...)).")));
    return nullptr;
  }
  return resolve_table(function, edge_relid, own_vector_type(fcinfo), named, nullptr, "edge_table",
                       "edge_feature_column", nullptr)
      .column;
}

const float** edge_projections(const rvj::runtime::GraphLayer& l, const float* raw, int n, bool self_loop) {
  const int hc = l.heads * l.channels, rows = n + (self_loop ? 1 : 0);
  float* in = (float*)palloc0(sizeof(float) * (size_t)std::max(rows, 1) * l.edge_dim);
  memcpy(in, raw, sizeof(float) * (size_t)n * l.edge_dim);
  if (self_loop && n > 0)
    for (int d = 0; d < l.edge_dim; ++d) {
      double s = 0;
      for (int j = 0; j < n; ++j) s += raw[(size_t)j * l.edge_dim + d];
      in[(size_t)n * l.edge_dim + d] = (float)(s / n);
    }
  // The pointers, then the rows, in one chunk: the caller pfrees it once.
  const size_t head = MAXALIGN(sizeof(float*) * std::max(rows, 1));
  char* chunk = (char*)palloc(head + sizeof(float) * (size_t)std::max(rows, 1) * hc);
  float* out = (float*)(chunk + head);
  RVJ_ENGINE(rvj::runtime::project_edges(l, in, rows, out));
  const float** p = (const float**)chunk;
  for (int j = 0; j < rows; ++j) p[j] = out + (size_t)j * hc;
  pfree(in);
  return p;
}

float* append_edge_features(const char* function, const rvj::runtime::GraphLayer& l, float* raw, int n, int* cap,
                            Datum value, bool isnull, int64 source, int64 target) {
  if (isnull)
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s: edge %lld -> %lld has no features (NULL)", function, (long long)source, (long long)target)));
  RuVector* v = DatumGetRuVector(value);
  if (v->dim != l.edge_dim)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("%s: edge %lld -> %lld has %d features; the model takes %d", function, (long long)source,
                           (long long)target, v->dim, l.edge_dim)));
  if (n == *cap) {
    *cap = std::max(16, *cap * 2);
    raw = raw ? (float*)repalloc(raw, sizeof(float) * (size_t)*cap * l.edge_dim)
              : (float*)palloc(sizeof(float) * (size_t)*cap * l.edge_dim);
  }
  memcpy(raw + (size_t)n * l.edge_dim, v->x, sizeof(float) * l.edge_dim);
  return raw;
}

}  // namespace rvj::pg
