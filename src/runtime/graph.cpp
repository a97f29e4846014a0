#include "runtime/graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "runtime/dot_block.h"

namespace rvj::runtime {


int GraphLayer::projected_floats() const {
  switch (kind) {
    case GraphKind::Gat: return heads * channels;
    case GraphKind::Gatv2: return 2 * heads * channels;  // W_l x, W_r x
    case GraphKind::Transformer: return 4 * heads * channels;  // q, k, v, skip
    default: return in_dims;
  }
}

int GraphLayer::out_dims() const { return kind == GraphKind::Agnn || kind == GraphKind::Dot ? in_dims : heads * channels; }

GraphLayer dot_graph_layer(int dims, int heads, bool jit) {
  if (heads < 1 || dims % heads != 0)
    throw Error(ErrorKind::InvalidArgument,
                "num_heads must divide the feature dimensions: " + std::to_string(dims) + " features, " +
                    std::to_string(heads) + " heads",
                "Each head takes a contiguous slice of dims / num_heads features.");
  GraphLayer l;
  l.kind = GraphKind::Dot;
  l.in_dims = dims;
  l.heads = heads;
  l.channels = dims / heads;
  bind_graph_layer(l, jit);
  return l;
}

void bind_graph_layer(GraphLayer& l, bool jit) {
  const char* name = l.kind == GraphKind::Gat     ? (l.edge_dim ? "gat_edge" : "gat")
                     : l.kind == GraphKind::Gatv2 ? "gatv2"
                     : l.kind == GraphKind::Agnn  ? "agnn"
                                                  : "graph_transformer";
  l.score = bind(kernel_mechanism(name), l.kind == GraphKind::Agnn ? l.in_dims : l.channels, jit);
}

namespace {
int weight_matrices(const GraphLayer& l) {
  return l.kind == GraphKind::Gat ? 1 : l.kind == GraphKind::Gatv2 ? 2 : l.kind == GraphKind::Transformer ? 4 : 0;
}
}  // namespace

size_t graph_packed_floats(const GraphLayer& l) {
  return (size_t)weight_matrices(l) * panel_docs(l.heads * l.channels) * l.in_dims +
         (l.kind == GraphKind::Gatv2 ? l.channels : 0) + (size_t)panel_docs(l.heads * l.channels) * l.edge_dim;
}

void pack_graph_layer(GraphLayer& l, float* storage) {
  const int hc = l.heads * l.channels;
  const float* w[4] = {l.kind == GraphKind::Gat ? l.lin : l.wq, l.wk, l.wv, l.ws};
  for (int m = 0; m < weight_matrices(l); ++m) {
    float* p = storage + (size_t)m * panel_docs(hc) * l.in_dims;
    pack_panels(w[m], hc, l.in_dims, p);
    l.packed[m] = p;
  }
  float* rest = storage + (size_t)weight_matrices(l) * panel_docs(hc) * l.in_dims;
  if (l.kind == GraphKind::Gatv2) {
    std::fill(rest, rest + l.channels, static_cast<float>(l.slope));
    l.slope_vec = rest;
    rest += l.channels;
  }
  if (l.edge_dim) {
    pack_panels(l.lin_edge, hc, l.edge_dim, rest);
    l.packed_edge = rest;
  }
}

namespace {
// out (n x rows) = x (n x cols) W^T through the packed W, a block of rows at a time.
void packed_rows(const float* packed, int rows, int cols, const float* x, int n, float* out, int64_t out_stride) {
  // (one node at a time in gat_search: buffers of its size, not a block's)
  const int block = std::max(1, std::min(64, n));
  const int64_t ld = panel_docs(rows);
  std::vector<float> q((size_t)query_rows(block) * cols, 0.0f), tmp((size_t)query_rows(block) * ld);
  for (int r0 = 0; r0 < n; r0 += block) {
    check_cancel();
    const int m = std::min(block, n - r0);
    std::copy(x + (size_t)r0 * cols, x + (size_t)(r0 + m) * cols, q.begin());
    std::fill(q.begin() + (size_t)m * cols, q.begin() + (size_t)query_rows(m) * cols, 0.0f);
    dot_panels(q.data(), m, cols, packed, rows, tmp.data(), ld);
    for (int i = 0; i < m; ++i) std::copy(tmp.begin() + (size_t)i * ld, tmp.begin() + (size_t)i * ld + rows,
                                          out + (size_t)(r0 + i) * out_stride);
  }
}
}  // namespace

void project_edges(const GraphLayer& l, const float* e, int n, float* out) {
  const int hc = l.heads * l.channels;
  packed_rows(l.packed_edge, hc, l.edge_dim, e, n, out, hc);
}

void project_nodes(const GraphLayer& l, const float* x, int n, float* out) {
  const int pf = l.projected_floats(), F = l.in_dims;
  const int matrices = weight_matrices(l);
  if (!matrices) {
    std::copy(x, x + (size_t)n * F, out);
    return;
  }
  const int hc = l.heads * l.channels;
  const float* bias[4] = {nullptr, l.bk, l.bv, l.bs};
  if (l.kind != GraphKind::Gat) bias[0] = l.bq;
  for (int w = 0; w < matrices; ++w) {
    packed_rows(l.packed[w], hc, F, x, n, out + (size_t)w * hc, pf);
    if (bias[w])
      for (int i = 0; i < n; ++i)
        for (int c = 0; c < hc; ++c) out[(size_t)i * pf + (size_t)w * hc + c] += bias[w][c];
  }
}

void graph_attention(const GraphLayer& l, const float* pi, const float* const* pj, int n, double* alpha,
                     const float* const* pe) {
  const int H = l.heads, C = l.channels, hc = H * C;
  std::vector<double> logit(n);
  double params[2] = {l.kind == GraphKind::Gat ? l.slope : l.beta, 0};
  for (int h = 0; h < H; ++h) {
    check_cancel();
    double best = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < n; ++j) {
      const float* in[6];
      switch (l.kind) {
        case GraphKind::Gat:
          in[0] = pj[j] + h * C, in[1] = pi + h * C, in[2] = l.att_src + h * C, in[3] = l.att_dst + h * C;
          if (l.edge_dim) in[4] = pe[j] + h * C, in[5] = l.att_edge + h * C;
          break;
        case GraphKind::Gatv2:
          in[0] = pj[j] + h * C, in[1] = pi + hc + h * C, in[2] = l.att_src + h * C, in[3] = l.slope_vec;
          break;
        case GraphKind::Transformer: in[0] = pi + h * C, in[1] = pj[j] + hc + h * C; break;  // q_i, k_j
        case GraphKind::Agnn: in[0] = pi, in[1] = pj[j]; break;
        default: in[0] = pi + h * C, in[1] = pj[j] + h * C;
      }
      logit[j] = run_inputs(l.score, params, in);
      if (!std::isfinite(logit[j]))
        throw Error(ErrorKind::OutOfRange, "a graph attention logit is not finite",
                    "The node features (or the model's weights) overflow; scale them down.");
      best = std::max(best, logit[j]);
    }
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += (logit[j] = std::exp(logit[j] - best));
    for (int j = 0; j < n; ++j) alpha[(size_t)j * H + h] = logit[j] / sum;
  }
}

void graph_aggregate(const GraphLayer& l, const float* pi, const float* const* pj, int n, const double* alpha,
                     float* out) {
  const int H = l.heads, C = l.channels, hc = H * C;
  const int dims = l.out_dims();
  std::vector<double> acc(dims, 0.0);
  const int offset = l.kind == GraphKind::Transformer ? 2 * hc : 0;  // v_j
  const int per_head = l.kind == GraphKind::Agnn || l.kind == GraphKind::Dot ? dims / H : C;
  for (int j = 0; j < n; ++j)
    for (int h = 0; h < H; ++h) {
      const double a = alpha[(size_t)j * H + h];
      const float* v = pj[j] + offset + h * per_head;
      for (int c = 0; c < per_head; ++c) acc[h * per_head + c] += a * v[c];
    }
  for (int d = 0; d < dims; ++d) {
    double v = acc[d];
    if ((l.kind == GraphKind::Gat || l.kind == GraphKind::Gatv2) && l.bias) v += l.bias[d];
    if (l.kind == GraphKind::Transformer) v += pi[3 * hc + d];
    out[d] = static_cast<float>(v);
  }
  check_finite_result("the layer's output", out, dims);
}

}  // namespace rvj::runtime
