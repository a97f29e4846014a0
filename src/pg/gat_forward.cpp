// ruvector_gat_forward(node_table, edge_table, model, ...): one graph layer
// (a gat, graph_transformer or agnn model) over whole tables, GNN inference
// in SQL: every node's output features, as PyG's layer gives them in
// .eval(). Reads every node (projected, within work_mem), then the edges
// grouped by target through one cursor, with the caller's rights.
#include "pg/errors.h"
#include "pg/graph_layer.h"
#include "pg/table_source.h"
#include "pg/vector.h"

extern "C" {
#include "executor/spi.h"
#include "utils/hsearch.h"
}

using namespace rvj::pg;

namespace {

struct NodeRow {
  int64 id;  // the hash key
  float* projected;
  bool done;
};

struct Forward {
  const char* function;
  HTAB* nodes;
  MemoryContext cxt;
  rvj::runtime::GraphLayer layer;
  const float** nb;
  double* alpha;
  int n, cap;
  float* out;
  ReturnSetInfo* rsinfo;
  float* raw;  // the edges' own features (layers with edge_dim)
  int raw_cap;
};

void emit(Forward& f, NodeRow* t) {
  const int edges = f.n;
  if (f.layer.self_loops()) f.nb[f.n++] = t->projected;
  const float** pe = f.layer.edge_dim ? edge_projections(f.layer, f.raw, edges, f.layer.self_loops()) : nullptr;
  RVJ_ENGINE({
    rvj::runtime::graph_attention(f.layer, t->projected, f.nb, f.n, f.alpha, pe);
    rvj::runtime::graph_aggregate(f.layer, t->projected, f.nb, f.n, f.alpha, f.out);
  });
  if (pe) pfree(pe);
  const int dims = f.layer.out_dims();
  RuVector* v = new_vector(dims);
  memcpy(v->x, f.out, sizeof(float) * dims);
  Datum values[2] = {Int64GetDatum(t->id), PointerGetDatum(v)};
  bool nulls[2] = {false, false};
  tuplestore_putvalues(f.rsinfo->setResult, f.rsinfo->setDesc, values, nulls);
  pfree(v);
  t->done = true;
  f.n = 0;
}
}  // namespace

// (node_table, edge_table, model, node_id_column, feature_column, source_column, target_column,
//  edge_feature_column)
RVJ_FUNCTION(ruvector_gat_forward) {
  static const char* const function = "ruvector_gat_forward";
  static const char* const names[] = {"node_table", "edge_table", "model"};
  for (int i = 0; i < 3; i++)
    if (PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s: %s must not be null", function, names[i]),
                      errhint(i == 2 ? "ruvector_gat_forward runs a graph model: load one with ruvector_model_load."
                                     : "Name the table.")));
  const char* model = text_arg(fcinfo, 2);
  const TableSource nodes = resolve_table(function, PG_GETARG_OID(0), own_vector_type(fcinfo), text_arg(fcinfo, 4),
                                          text_arg(fcinfo, 3), "node_table", "feature_column", "node_id_column");
  if (!nodes.integer_id)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("%s: node id column %s is of type %s; node ids must be smallint, integer or bigint",
                           function, nodes.id, format_type_be(nodes.id_type))));
  const EdgeSource edges = resolve_edges(function, PG_GETARG_OID(1), text_arg(fcinfo, 5), text_arg(fcinfo, 6),
                                         "edge_table", "source_column", "target_column");
  InitMaterializedSRF(fcinfo, 0);
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, function, ALLOCSET_DEFAULT_SIZES);
  MemoryContext caller = MemoryContextSwitchTo(cxt);
  Forward f{};
  f.function = function;
  f.cxt = cxt;
  f.rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  HASHCTL ctl = {};
  ctl.keysize = sizeof(int64);
  ctl.entrysize = sizeof(NodeRow);
  ctl.hcxt = cxt;
  f.nodes = hash_create("ruvector_gat_forward nodes", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
  const size_t budget = (size_t)work_mem * 1024;
  size_t bytes = 0;

  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "%s: SPI_connect failed", function);
  // Every node, projected once.
  Portal p = SPI_cursor_open_with_args(
      nullptr, psprintf("SELECT %s::bigint, %s FROM %s", nodes.id, nodes.column, nodes.relation), 0, nullptr, nullptr,
      nullptr, true, 0);
  int dims = -1;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    SPI_cursor_fetch(p, true, 1000);
    if (SPI_processed == 0) break;
    MemoryContext spi = MemoryContextSwitchTo(cxt);
    // The batch's features, projected together (matrix-multiply speed).
    NodeRow** batch = (NodeRow**)palloc(sizeof(NodeRow*) * SPI_processed);
    float* xb = nullptr;
    int m = 0;
    for (uint64 r = 0; r < SPI_processed; ++r) {
      bool n1, n2;
      Datum id = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &n1);
      Datum fd = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &n2);
      if (n1) continue;
      if (n2)
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("%s: node %lld has no features (NULL)", function, (long long)DatumGetInt64(id))));
      RuVector* v = DatumGetRuVector(fd);
      if (dims < 0) {
        dims = v->dim;
        f.layer = graph_layer(fcinfo, function, model, 0, dims);
        f.out = (float*)palloc(sizeof(float) * f.layer.out_dims());
      } else if (v->dim != dims) {
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("%s: nodes have %d and %d features", function, dims, v->dim)));
      }
      if (!xb) xb = (float*)palloc(sizeof(float) * dims * SPI_processed);
      bytes += sizeof(NodeRow) + 64 + sizeof(float) * f.layer.projected_floats();
      if (bytes > budget)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%s: the nodes' projected features need more than work_mem (%d kB)", function, work_mem),
                        errhint("Raise work_mem for this call: SET work_mem = '256MB'.")));
      int64 key = DatumGetInt64(id);
      bool found;
      NodeRow* e = (NodeRow*)hash_search(f.nodes, &key, HASH_ENTER, &found);
      if (found)
        ereport(ERROR, (errcode(ERRCODE_CARDINALITY_VIOLATION),
                        errmsg("%s: node id %lld is not unique in %s", function, (long long)key, nodes.relation)));
      e->done = false;
      memcpy(xb + (size_t)m * dims, v->x, sizeof(float) * dims);
      batch[m++] = e;
    }
    if (m) {
      const int pf = f.layer.projected_floats();
      float* pb = (float*)palloc(sizeof(float) * pf * m);
      RVJ_ENGINE(rvj::runtime::project_nodes(f.layer, xb, m, pb));
      for (int i = 0; i < m; ++i) batch[i]->projected = pb + (size_t)i * pf;
      pfree(xb);
    }
    pfree(batch);
    MemoryContextSwitchTo(spi);
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_cursor_close(p);
  if (dims < 0) {  // no nodes: no rows
    SPI_finish();
    MemoryContextSwitchTo(caller);
    MemoryContextDelete(cxt);
    return (Datum)0;
  }

  // The edges by target.
  f.cap = 16;
  f.nb = (const float**)MemoryContextAlloc(cxt, sizeof(float*) * f.cap);
  f.alpha = (double*)MemoryContextAlloc(cxt, sizeof(double) * f.cap * f.layer.heads);
  const char* edge_features = edge_feature_column(fcinfo, function, f.layer, edges.relid, text_arg(fcinfo, 7));
  p = SPI_cursor_open_with_args(
      nullptr,
      psprintf("SELECT %s::bigint, %s::bigint%s%s FROM %s WHERE %s IS NOT NULL AND %s IS NOT NULL%s ORDER BY 1",
               edges.target, edges.source, edge_features ? ", " : "", edge_features ? edge_features : "",
               edges.relation, edges.target, edges.source,
               f.layer.self_loops() ? psprintf(" AND %s <> %s", edges.source, edges.target) : ""),
      0, nullptr, nullptr, nullptr, true, 0);
  NodeRow* target = nullptr;
  for (;;) {
    CHECK_FOR_INTERRUPTS();
    SPI_cursor_fetch(p, true, 1000);
    if (SPI_processed == 0) break;
    MemoryContext spi = MemoryContextSwitchTo(cxt);
    for (uint64 r = 0; r < SPI_processed; ++r) {
      bool n1, n2;
      int64 dst = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &n1));
      int64 src = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &n2));
      bool found;
      if (!target || target->id != dst) {
        if (target) emit(f, target);
        target = (NodeRow*)hash_search(f.nodes, &dst, HASH_FIND, &found);
        if (!target)
          ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
                          errmsg("%s: edge %lld -> %lld has a target that is not in %s", function, (long long)src,
                                 (long long)dst, nodes.relation)));
      }
      NodeRow* s = (NodeRow*)hash_search(f.nodes, &src, HASH_FIND, &found);
      if (!s)
        ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
                        errmsg("%s: edge %lld -> %lld has a source that is not in %s", function, (long long)src,
                               (long long)dst, nodes.relation)));
      if (f.n + 1 >= f.cap) {
        bytes += (sizeof(float*) + sizeof(double) * f.layer.heads) * f.cap;
        if (bytes > budget)
          ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                          errmsg("%s: node %lld has more incoming edges than work_mem (%d kB) holds", function,
                                 (long long)dst, work_mem)));
        f.cap *= 2;
        f.nb = (const float**)repalloc(f.nb, sizeof(float*) * f.cap);
        f.alpha = (double*)repalloc(f.alpha, sizeof(double) * f.cap * f.layer.heads);
      }
      if (edge_features) {
        bool n3;
        Datum ef = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &n3);
        f.raw = append_edge_features(function, f.layer, f.raw, f.n, &f.raw_cap, ef, n3, src, dst);
      }
      f.nb[f.n++] = s->projected;
    }
    MemoryContextSwitchTo(spi);
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_cursor_close(p);
  SPI_finish();
  MemoryContextSwitchTo(cxt);
  if (target) emit(f, target);
  // Nodes without incoming edges: the self-loop alone, or (TransformerConv)
  // no neighbours, so only the root weight.
  HASH_SEQ_STATUS seq;
  hash_seq_init(&seq, f.nodes);
  for (NodeRow* e; (e = (NodeRow*)hash_seq_search(&seq));)
    if (!e->done) {
      CHECK_FOR_INTERRUPTS();
      emit(f, e);
    }
  MemoryContextSwitchTo(caller);
  MemoryContextDelete(cxt);
  return (Datum)0;
}
