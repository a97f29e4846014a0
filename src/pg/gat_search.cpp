// ruvector_gat_search(node_table, edge_table, query_node_id, num_heads, k,
// model, hops, ...): graph attention from one node over node and edge
// tables. A node's score is the sum over walks of length 1..hops from the
// query node, backwards along edges (PyG's direction: a node attends over
// the sources of the edges into it, plus its self-loop where the layer has
// one), of the product of the attention weights (averaged over heads) along
// the walk: row q of A + A^2 + ... + A^hops, where A is the row-stochastic
// attention matrix of the layer (pg/graph_layer.h). The walk runs a level at
// a time, one SPI cursor per level over the edges into the frontier (an
// index on the edge table's target column makes it fast), with the
// caller's rights. Memory: the nodes reached, within work_mem.
#include "pg/errors.h"
#include "pg/table_source.h"
#include "pg/vector.h"
#include "pg/graph_layer.h"
#include "runtime/top_k.h"

extern "C" {
#include "executor/spi.h"
#include "utils/hsearch.h"
}

using namespace rvj::pg;
using rvj::runtime::TopEntry;

namespace {

constexpr int kMaxHops = 16;

struct NodeEntry {
  int64 id;  // the hash key
  float* features;  // projected (GraphLayer::projected_floats)
  double mass;   // walk mass at this level's frontier
  double next;   // mass for the next level
  double score;  // the sum over levels
  int grouped;   // the last level whose edges into this node were spread
  bool in_next, in_frontier;
};

struct Walk {
  const char* function;
  HTAB* nodes;
  MemoryContext cxt;
  int dims;  // the node features'
  size_t bytes, budget;
  rvj::runtime::GraphLayer layer;
};

NodeEntry* node(Walk& w, int64 id, bool* found) {
  NodeEntry* e = (NodeEntry*)hash_search(w.nodes, &id, HASH_ENTER, found);
  if (!*found) {
    w.bytes += sizeof(NodeEntry) + 64 + sizeof(float) * w.layer.projected_floats();
    if (w.bytes > w.budget)
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("%s: the walk reached %ld nodes, more than work_mem (%d kB) holds", w.function,
                             hash_get_num_entries(w.nodes), work_mem),
                      errhint("Lower hops, or raise work_mem.")));
    e->features = nullptr;
    e->mass = e->next = e->score = 0;
    e->grouped = 0;
    e->in_next = e->in_frontier = false;
  }
  return e;
}

// A node's projected features, kept for the walk.
float* projected(Walk& w, RuVector* v, int64 id) {
  if (v->dim != w.dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("%s: node %lld has %d features, the query node %d", w.function, (long long)id, v->dim,
                           w.dims)));
  float* f = (float*)MemoryContextAlloc(w.cxt, sizeof(float) * w.layer.projected_floats());
  RVJ_ENGINE(rvj::runtime::project(w.layer, v->x, f));
  return f;
}

// The group of edges into one target: its neighbours' features (the
// self-loop last), grown as rows arrive.
struct EdgeGroup {
  int64 target;
  int n, cap;
  const float** features;
  int64* ids;
  double* alpha;
  float* raw;  // the edges' own features (layers with edge_dim), raw_n rows
  int raw_n, raw_cap;
};

void group_add(Walk& w, EdgeGroup& g, int64 id, const float* f) {
  if (g.n == g.cap) {
    w.bytes += (sizeof(float*) + sizeof(int64) + sizeof(double)) * g.cap;
    if (w.bytes > w.budget)
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("%s: node %lld has more incoming edges than work_mem (%d kB) holds", w.function,
                             (long long)g.target, work_mem)));
    g.cap *= 2;
    g.features = (const float**)repalloc(g.features, sizeof(float*) * g.cap);
    g.ids = (int64*)repalloc(g.ids, sizeof(int64) * g.cap);
    g.alpha = (double*)repalloc(g.alpha, sizeof(double) * g.cap * w.layer.heads);
  }
  g.features[g.n] = f;
  g.ids[g.n++] = id;
}

// Spreads the target's mass over its neighbourhood (the self-loop added
// where the layer has one), by the weights averaged over heads.
void group_finish(Walk& w, EdgeGroup& g, int level) {
  bool found;
  NodeEntry* t = node(w, g.target, &found);
  t->grouped = level;
  const int edges = g.n;
  if (w.layer.self_loops()) group_add(w, g, g.target, t->features);
  const double mass = t->mass;
  const int H = w.layer.heads;
  const float** pe = w.layer.edge_dim ? edge_projections(w.layer, g.raw, edges, w.layer.self_loops()) : nullptr;
  RVJ_ENGINE(rvj::runtime::graph_attention(w.layer, t->features, g.features, g.n, g.alpha, pe));
  if (pe) pfree(pe);
  for (int j = 0; j < g.n; ++j) {
    double a = 0;
    for (int h = 0; h < H; ++h) a += g.alpha[(size_t)j * H + h];
    NodeEntry* e = node(w, g.ids[j], &found);
    e->next += mass * a / H;
    e->in_next = true;
  }
  g.n = 0;
  g.raw_n = 0;
}
}  // namespace

// (node_table, edge_table, query_node_id, num_heads, k, model, hops,
//  node_id_column, feature_column, source_column, target_column)
RVJ_FUNCTION(ruvector_gat_search) {
  static const char* const function = "ruvector_gat_search";
  static const char* const names[] = {"node_table", "edge_table", "query_node_id", nullptr, "k", nullptr, "hops"};
  // (node_id_column, feature_column, source_column, target_column, edge_feature_column: 7 to 11)
  for (int i = 0; i < 7; i++)
    if (names[i] && PG_ARGISNULL(i))
      ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s: %s must not be null", function, names[i])));
  const int64 query = PG_GETARG_INT64(2);
  const int heads = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3), k = PG_GETARG_INT32(4), hops = PG_GETARG_INT32(6);
  if (k < 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be at least 1, not %d", k)));
  if (hops < 1 || hops > kMaxHops)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("hops must be between 1 and %d, not %d", kMaxHops, hops)));
  if (!PG_ARGISNULL(3) && heads < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("num_heads must be at least 1, not %d", heads)));
  const char* model = text_arg(fcinfo, 5);
  const TableSource nodes = resolve_table(function, PG_GETARG_OID(0), own_vector_type(fcinfo), text_arg(fcinfo, 8),
                                          text_arg(fcinfo, 7), "node_table", "feature_column", "node_id_column");
  if (!nodes.integer_id)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("%s: node id column %s is of type %s; node ids must be smallint, integer or bigint",
                           function, nodes.id, format_type_be(nodes.id_type)),
                    errhint("Pass node_id_column => a column of one of those types.")));
  const EdgeSource edges = resolve_edges(function, PG_GETARG_OID(1), text_arg(fcinfo, 9), text_arg(fcinfo, 10),
                                         "edge_table", "source_column", "target_column");

  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = (ReturnSetInfo*)fcinfo->resultinfo;
  MemoryContext walk_cxt = AllocSetContextCreate(CurrentMemoryContext, function, ALLOCSET_DEFAULT_SIZES);
  MemoryContext caller = MemoryContextSwitchTo(walk_cxt);
  Walk w{function, nullptr, walk_cxt, 0, 0, (size_t)work_mem * 1024, {}};
  HASHCTL ctl = {};
  ctl.keysize = sizeof(int64);
  ctl.entrysize = sizeof(NodeEntry);
  ctl.hcxt = walk_cxt;
  w.nodes = hash_create("ruvector_gat_search nodes", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "%s: SPI_connect failed", function);
  // The query node.
  Oid t1[1] = {INT8OID};
  Datum v1[1] = {Int64GetDatum(query)};
  if (SPI_execute_with_args(psprintf("SELECT %s FROM %s WHERE %s = $1 LIMIT 2", nodes.column, nodes.relation, nodes.id),
                            1, t1, v1, nullptr, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "%s: reading the query node failed", function);
  if (SPI_processed != 1)
    ereport(ERROR, (errcode(SPI_processed ? ERRCODE_CARDINALITY_VIOLATION : ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg(SPI_processed ? "%s: node id %lld is not unique in %s"
                                         : "%s: query node %lld is not in %s",
                           function, (long long)query, nodes.relation)));
  bool isnull;
  Datum qd = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  if (isnull)
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("%s: query node %lld has no features (NULL)", function, (long long)query)));
  {
    RuVector* qv = DatumGetRuVector(qd);
    w.dims = qv->dim;
    MemoryContext spi = MemoryContextSwitchTo(walk_cxt);
    w.layer = graph_layer(fcinfo, function, model, heads, w.dims);
    bool found;
    NodeEntry* q = node(w, query, &found);
    q->features = projected(w, qv, query);
    q->mass = 1;
    q->in_frontier = true;
    MemoryContextSwitchTo(spi);
  }

  // Edges into the frontier, grouped by target; sources joined to their
  // features (a source missing from the node table is an error), and the
  // edges' own features for layers that take them.
  const char* edge_features = edge_feature_column(fcinfo, function, w.layer, edges.relid, text_arg(fcinfo, 11));
  const char* sql = psprintf(
      "SELECT e.%s::bigint, e.%s::bigint, n.%s IS NOT NULL, n.%s%s%s FROM %s e LEFT JOIN %s n ON n.%s = e.%s "
      "WHERE e.%s = ANY($1)%s ORDER BY 1",
      edges.target, edges.source, nodes.id, nodes.column, edge_features ? ", e." : "", edge_features ? edge_features : "",
      edges.relation, nodes.relation, nodes.id, edges.source, edges.target,
      // Layers with a self-loop drop the table's own i -> i edges first (PyG's remove_self_loops).
      w.layer.self_loops() ? psprintf(" AND e.%s IS DISTINCT FROM e.%s", edges.source, edges.target) : "");
  EdgeGroup g{0, 0, 16, nullptr, nullptr, nullptr, nullptr, 0, 0};
  g.features = (const float**)MemoryContextAlloc(walk_cxt, sizeof(float*) * g.cap);
  g.ids = (int64*)MemoryContextAlloc(walk_cxt, sizeof(int64) * g.cap);
  g.alpha = (double*)MemoryContextAlloc(walk_cxt, sizeof(double) * g.cap * w.layer.heads);
  for (int level = 1; level <= hops; ++level) {
    CHECK_FOR_INTERRUPTS();
    // The frontier's ids.
    const long nf = hash_get_num_entries(w.nodes);
    Datum* ids = (Datum*)MemoryContextAlloc(walk_cxt, sizeof(Datum) * nf);
    int n = 0;
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, w.nodes);
    for (NodeEntry* e; (e = (NodeEntry*)hash_seq_search(&seq));)
      if (e->in_frontier) ids[n++] = Int64GetDatum(e->id);
    Oid ta[1] = {INT8ARRAYOID};
    Datum va[1] = {PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))};
    Portal p = SPI_cursor_open_with_args(nullptr, sql, 1, ta, va, nullptr, true, 0);
    bool open_group = false;
    g.n = 0;
    g.raw_n = 0;
    for (;;) {
      CHECK_FOR_INTERRUPTS();
      SPI_cursor_fetch(p, true, 1000);
      if (SPI_processed == 0) break;
      MemoryContext spi = MemoryContextSwitchTo(walk_cxt);
      for (uint64 r = 0; r < SPI_processed; ++r) {
        HeapTuple tup = SPI_tuptable->vals[r];
        TupleDesc td = SPI_tuptable->tupdesc;
        bool n1, n2, n3, n4;
        Datum dst = SPI_getbinval(tup, td, 1, &n1);
        Datum src = SPI_getbinval(tup, td, 2, &n2);
        const bool known = DatumGetBool(SPI_getbinval(tup, td, 3, &n3));
        Datum feat = SPI_getbinval(tup, td, 4, &n4);
        if (n2) continue;  // an edge without a source joins no neighbourhood
        const int64 target = DatumGetInt64(dst), source = DatumGetInt64(src);
        if (!known)
          ereport(ERROR, (errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
                          errmsg("%s: edge %lld -> %lld has a source that is not in %s", function,
                                 (long long)source, (long long)target, nodes.relation),
                          errhint("Every edge's source must be a node id of the node table.")));
        if (n4)
          ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                          errmsg("%s: node %lld has no features (NULL)", function, (long long)source)));
        if (open_group && target != g.target) group_finish(w, g, level);
        if (!open_group || g.n == 0) g.target = target;
        open_group = true;
        bool found;
        NodeEntry* e = node(w, source, &found);
        if (!e->features) e->features = projected(w, DatumGetRuVector(feat), source);
        group_add(w, g, source, e->features);
        if (edge_features) {
          bool n5;
          Datum ef = SPI_getbinval(tup, td, 5, &n5);
          g.raw = append_edge_features(function, w.layer, g.raw, g.raw_n, &g.raw_cap, ef, n5, source, target);
          g.raw_n++;
        }
      }
      MemoryContextSwitchTo(spi);
      SPI_freetuptable(SPI_tuptable);
    }
    SPI_cursor_close(p);
    MemoryContext spi = MemoryContextSwitchTo(walk_cxt);
    if (open_group) group_finish(w, g, level);
    // A frontier node without incoming edges has only its self-loop (weight
    // 1), or, in a layer without self-loops, nothing to pass its mass to.
    // Then the next frontier's mass adds to each node's score.
    hash_seq_init(&seq, w.nodes);
    for (NodeEntry* e; (e = (NodeEntry*)hash_seq_search(&seq));)
      if (e->in_frontier && e->grouped != level && w.layer.self_loops()) e->next += e->mass, e->in_next = true;
    hash_seq_init(&seq, w.nodes);
    for (NodeEntry* e; (e = (NodeEntry*)hash_seq_search(&seq));) {
      e->in_frontier = e->in_next;
      e->mass = e->next;
      e->score += e->next;
      e->next = 0;
      e->in_next = false;
    }
    pfree(ids);
    MemoryContextSwitchTo(spi);
  }
  SPI_finish();

  // The k best, the query node left out (its self-loop still took part).
  TopEntry* best = (TopEntry*)MemoryContextAlloc(walk_cxt, sizeof(TopEntry) * k);
  int kept = 0;
  HASH_SEQ_STATUS seq;
  hash_seq_init(&seq, w.nodes);
  for (NodeEntry* e; (e = (NodeEntry*)hash_seq_search(&seq));)
    if (e->id != query && e->score > 0) rvj::runtime::top_k_offer(best, &kept, k, {e->score, e->id});
  std::sort(best, best + kept, rvj::runtime::ranks_before);
  MemoryContextSwitchTo(caller);
  for (int i = 0; i < kept; ++i) {
    Datum out[2] = {Int64GetDatum(best[i].key), Float4GetDatum((float4)best[i].value)};
    bool nulls[2] = {false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
  }
  MemoryContextDelete(walk_cxt);
  return (Datum)0;
}
