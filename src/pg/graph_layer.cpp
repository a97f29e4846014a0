#include "pg/graph_layer.h"

#include "pg/errors.h"
#include "pg/models.h"
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

}  // namespace rvj::pg
