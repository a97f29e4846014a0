// The layer ruvector_gat_search and ruvector_gat_forward run: a graph model
// (gat, graph_transformer, agnn) read from the model tables, or without one
// the parameter-free dot-product attention.
#pragma once

#include "pg/pg.h"
#include "runtime/graph.h"

namespace rvj::pg {

// heads: the num_heads argument, 0 when NULL (then 4 without a model, the
// model's with one; a different count from a model's is an error). dims:
// the node features' length, which a model must take.
rvj::runtime::GraphLayer graph_layer(FunctionCallInfo fcinfo, const char* function, const char* model, int heads,
                                     int dims);

// The edge table's feature column (quoted) for a layer with edge features:
// `named`, or the table's single ruvector column; null for other layers
// (then naming one is an error).
const char* edge_feature_column(FunctionCallInfo fcinfo, const char* function, const rvj::runtime::GraphLayer& l,
                                Oid edge_relid, const char* named);

// The projections of a target's n incoming edges' features (raw: n x
// edge_dim), then, with self_loop, of its self-loop's: PyG's fill_value
// "mean", the mean of the incoming features (zeros without any). Returns
// n (+ 1) pointers into rows of the same palloc'd chunk: pfree the pointer.
const float** edge_projections(const rvj::runtime::GraphLayer& l, const float* raw, int n, bool self_loop);

// Appends one edge's features (a ruvector of edge_dim) to a growing raw
// buffer of n rows; ERROR if it is NULL or of another length.
float* append_edge_features(const char* function, const rvj::runtime::GraphLayer& l, float* raw, int n, int* cap,
                            Datum value, bool isnull, int64 source, int64 target);

}  // namespace rvj::pg
