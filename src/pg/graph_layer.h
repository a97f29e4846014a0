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

}  // namespace rvj::pg
