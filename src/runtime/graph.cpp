#include "runtime/graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"

namespace rvj::runtime {

namespace {
// out[r] = W[r] . x + b[r] for `rows` rows of `cols`, f64 sums.
void linear(const float* W, const float* b, int rows, int cols, const float* x, float* out) {
  for (int r = 0; r < rows; ++r) {
    double s = b ? b[r] : 0.0;
    const float* w = W + (size_t)r * cols;
    for (int c = 0; c < cols; ++c) s += (double)w[c] * x[c];
    out[r] = static_cast<float>(s);
  }
}
}  // namespace

int GraphLayer::projected_floats() const {
  switch (kind) {
    case GraphKind::Gat: return heads * channels;
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
  const char* name = l.kind == GraphKind::Gat ? "gat" : l.kind == GraphKind::Agnn ? "agnn" : "graph_transformer";
  l.score = bind(kernel_mechanism(name), l.kind == GraphKind::Agnn ? l.in_dims : l.channels, jit);
}

void project(const GraphLayer& l, const float* x, float* out) {
  const int hc = l.heads * l.channels;
  switch (l.kind) {
    case GraphKind::Gat: linear(l.lin, nullptr, hc, l.in_dims, x, out); break;
    case GraphKind::Transformer:
      linear(l.wq, l.bq, hc, l.in_dims, x, out);
      linear(l.wk, l.bk, hc, l.in_dims, x, out + hc);
      linear(l.wv, l.bv, hc, l.in_dims, x, out + 2 * hc);
      linear(l.ws, l.bs, hc, l.in_dims, x, out + 3 * hc);
      break;
    default: std::copy(x, x + l.in_dims, out);
  }
}

void graph_attention(const GraphLayer& l, const float* pi, const float* const* pj, int n, double* alpha) {
  const int H = l.heads, C = l.channels, hc = H * C;
  std::vector<double> logit(n);
  double params[2] = {l.kind == GraphKind::Gat ? l.slope : l.beta, 0};
  for (int h = 0; h < H; ++h) {
    check_cancel();
    double best = -std::numeric_limits<double>::infinity();
    for (int j = 0; j < n; ++j) {
      const float* in[4];
      switch (l.kind) {
        case GraphKind::Gat:
          in[0] = pj[j] + h * C, in[1] = pi + h * C, in[2] = l.att_src + h * C, in[3] = l.att_dst + h * C;
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
    if (l.kind == GraphKind::Gat && l.bias) v += l.bias[d];
    if (l.kind == GraphKind::Transformer) v += pi[3 * hc + d];
    out[d] = static_cast<float>(v);
  }
  check_finite_result("the layer's output", out, dims);
}

}  // namespace rvj::runtime
