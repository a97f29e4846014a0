// Graph attention layers over a node's neighbourhood: the parameter-free
// dot-product attention of ruvector_gat_search, and PyG's GATConv,
// TransformerConv and AGNNConv from a model. Each edge's score is the
// mechanism's kernel (ir/recipes/graph.cpp), one call per edge and head;
// the projections, the softmax (f64) and the sums are here.
#pragma once

#include <cstdint>

#include "runtime/engine.h"

namespace rvj::runtime {

enum class GraphKind : uint8_t { Dot, Gat, Gatv2, Transformer, Agnn };

struct GraphLayer {
  GraphKind kind = GraphKind::Dot;
  int in_dims = 0, heads = 1, channels = 0;  // channels per head
  double slope = 0.2, beta = 1.0;             // Gat's LeakyReLU, Agnn's temperature
  // Gat: lin (heads*channels x in_dims), att_src and att_dst (heads x
  // channels), bias (heads*channels, or null). Gatv2: lin_l and lin_r with
  // their biases (in wq, bq, wk, bk), att (in att_src), bias. Transformer:
  // the four Linear layers' weights and biases, q, k, v, skip.
  const float *lin = nullptr, *att_src = nullptr, *att_dst = nullptr, *bias = nullptr;
  const float *wq = nullptr, *bq = nullptr, *wk = nullptr, *bk = nullptr, *wv = nullptr, *bv = nullptr,
              *ws = nullptr, *bs = nullptr;
  // Gat with edge features (PyG's edge_dim; the gat_edge score): W_e
  // (heads*channels x edge_dim) and a_edge (heads x channels).
  int edge_dim = 0;
  const float *lin_edge = nullptr, *att_edge = nullptr;
  Bound score;  // the per-edge kernel (bind_graph_layer)
  // The projections' weights packed for dot_block (pack_graph_layer): lin,
  // or q, k, v, skip.
  const float* packed[4] = {};
  const float* slope_vec = nullptr;  // Gatv2: the slope, channels times (pack_graph_layer)
  const float* packed_edge = nullptr;  // W_e packed

  // Whether a node's neighbourhood includes its own self-loop (PyG: GATConv
  // and AGNNConv add one; TransformerConv does not).
  bool self_loops() const { return kind != GraphKind::Transformer; }
  // Floats per node of projected features (what attention and aggregate read).
  int projected_floats() const;
  int out_dims() const;
};

// The parameter-free layer: heads contiguous slices of the features,
// (h_i . h_j) / sqrt(d_head) per head (the graph_transformer score on the
// raw slices). Throws unless heads divides dims.
GraphLayer dot_graph_layer(int dims, int heads, bool jit);

// Binds l's per-edge kernel (compiling it with jit). Call once per layer.
void bind_graph_layer(GraphLayer& l, bool jit);

// Floats of storage pack_graph_layer needs (0 for layers without weights).
size_t graph_packed_floats(const GraphLayer& l);
// Packs the projections' weights into storage (graph_packed_floats) and
// points l.packed there. Call once per layer, before projecting.
void pack_graph_layer(GraphLayer& l, float* storage);

// The projected features of n nodes (x: n x in_dims; out: n x
// projected_floats()): the packed dot products of runtime/dot_block (one
// fma chain per product, the same bits on every ISA), then the bias in f32.
void project_nodes(const GraphLayer& l, const float* x, int n, float* out);
inline void project(const GraphLayer& l, const float* x, float* out) { project_nodes(l, x, 1, out); }
// The same for n edges' features (edge_dim each) through W_e: heads*channels each.
void project_edges(const GraphLayer& l, const float* e, int n, float* out);

// Attention of target i over n neighbours (the self-loop among them when the
// layer has one): alpha[j * heads + h], softmax per head in f64. n may be 0.
// pe: the projected features of the n edges (layers with edge_dim), else null.
void graph_attention(const GraphLayer& l, const float* pi, const float* const* pj, int n, double* alpha,
                     const float* const* pe = nullptr);

// The layer's output for target i (out_dims() floats): per head the
// alpha-weighted sum of the neighbours' values (Gat: W x_j; Transformer:
// v_j; Agnn: x_j), concatenated, then the bias (Gat) or the root weight's
// W_s x_i + b_s (Transformer). f64 sums.
void graph_aggregate(const GraphLayer& l, const float* pi, const float* const* pj, int n, const double* alpha,
                     float* out);

}  // namespace rvj::runtime
