#include "ir/recipes/models.h"

#include "ir/errors.h"

namespace rvj::ir {

namespace {
bool literal(const char* symbol) { return symbol[0] >= '0' && symbol[0] <= '9'; }

// heads * channels rows: the projections of the graph layers.
void heads_times_channels(const ModelKind& kind, const Bindings& b, const double* config,
                          const std::vector<GivenTensor>& given) {
  bool has_att_edge = false;
  for (const GivenTensor& t : given) has_att_edge |= t.name == "att_edge";
  const int64_t hc = binding(b, "heads_x_channels");
  const int64_t heads = binding(b, "heads") ? binding(b, "heads") : (int64_t)config[0];
  if (heads < 1 || hc % heads != 0)
    throw Error(ErrorKind::DataException,
                "a " + std::string(kind.name) + " model's projections have " + std::to_string(hc) +
                    " rows, which " + std::to_string(heads) + " heads do not divide",
                "The rows are heads * out_channels, as in PyG with concat=True.");
  if (std::string(kind.name) == "gat" && (binding(b, "edge_dim") != 0) != has_att_edge)
    throw Error(ErrorKind::DataException, "a gat model with edge features needs both lin_edge.weight and att_edge",
                "GATConv(..., edge_dim=D) holds both; without edge_dim it holds neither.");
  if (binding(b, "channels") && hc != heads * binding(b, "channels"))
    throw Error(ErrorKind::DataException,
                "a " + std::string(kind.name) + " model's projections have " + std::to_string(hc) + " rows; its attention vectors say " +
                    std::to_string(heads) + " heads of " + std::to_string(binding(b, "channels")) + " channels",
                "The projections have heads * out_channels rows.");
}
// multi_head_latent: num_heads divides the heads' rows.
void heads_divide_rows(const ModelKind&, const Bindings& b, const double* config, const std::vector<GivenTensor>&) {
  const int64_t rows = binding(b, "heads_x_dims"), heads = (int64_t)config[0];
  if (rows % heads != 0)
    throw Error(ErrorKind::DataException,
                "num_heads " + std::to_string(heads) + " does not divide the " + std::to_string(rows) +
                    " rows of w_q, w_uk and w_uv",
                "Those rows are num_heads * head_dim.");
}

// grouped_query: the query heads share num_kv_heads key/value heads.
void grouped_shapes(const ModelKind&, const Bindings& b, const double* config, const std::vector<GivenTensor>&) {
  const int64_t H = (int64_t)config[0], G = (int64_t)config[1];
  const int64_t qrows = binding(b, "heads_x_dims"), krows = binding(b, "kv_heads_x_dims"),
                vrows = binding(b, "kv_heads_x_vdims"), orows = binding(b, "heads_x_vdims");
  auto fail = [](const std::string& m) {
    throw Error(ErrorKind::DataException, m, "w_q: num_heads * d rows; w_k: num_kv_heads * d; w_v: num_kv_heads * d_v; "
                                             "w_o: num_heads * d_v columns.");
  };
  if (H % G != 0) fail("num_kv_heads " + std::to_string(G) + " does not divide num_heads " + std::to_string(H));
  if (qrows % H != 0) fail("num_heads " + std::to_string(H) + " does not divide the " + std::to_string(qrows) + " rows of w_q");
  if (krows != G * (qrows / H))
    fail("w_k has " + std::to_string(krows) + " rows; " + std::to_string(G) + " key/value heads of " +
         std::to_string(qrows / H) + " need " + std::to_string(G * (qrows / H)));
  if (vrows % G != 0 || orows != H * (vrows / G))
    fail("w_v's " + std::to_string(vrows) + " rows and w_o's " + std::to_string(orows) +
         " columns do not make num_kv_heads and num_heads heads of one value width");
}

// nn.MultiheadAttention: in_proj_weight stacks W_q, W_k, W_v; num_heads
// divides embed_dim.
void stacked_projections(const ModelKind&, const Bindings& b, const double* config, const std::vector<GivenTensor>&) {
  const int64_t E = binding(b, "embed_dim"), heads = (int64_t)config[0];
  if (binding(b, "in_rows") != 3 * E)
    throw Error(ErrorKind::DataException,
                "in_proj_weight has " + std::to_string(binding(b, "in_rows")) + " rows; a multi_head model of " +
                    std::to_string(E) + " dimensions needs 3 x " + std::to_string(E) + " = " + std::to_string(3 * E),
                "As nn.MultiheadAttention's in_proj_weight: W_q, W_k, W_v stacked.");
  if (E % heads != 0)
    throw Error(ErrorKind::DataException,
                "num_heads " + std::to_string(heads) + " does not divide embed_dim " + std::to_string(E),
                "Each head is embed_dim / num_heads wide.");
}
}  // namespace

const ModelKind::Listing kTalkingHeads{
    "dot-product", "O(L*S*(H*d + H^2))", "heads that share what they attend to (learned mixing across heads)",
    "softmax over keys of the logits mixed across heads by P_l, the weights mixed by P_w, times V per head",
    "Shazeer et al. 2020, Talking-Heads Attention"};
const ModelKind::Listing kLatent{
    "dot-product", "O(S*E*c + L*S*d)", "a small key/value cache: keys and values from one low-rank latent per row",
    "softmax(W_Q x_i . W_UK c_j / sqrt(d_head)) W_UV c_j per head, c_j = W_DKV x_j, then W_O",
    "DeepSeek-AI 2024, DeepSeek-V2 (multi-head latent attention; the decoupled RoPE key left out)"};

const ModelKind::Listing kDifferential{
    "dot-product", "O(2*L*S*d)", "attention that cancels common-mode noise: two softmax maps, one subtracted",
    "(softmax(Q1 K1^T / sqrt(d)) - lambda softmax(Q2 K2^T / sqrt(d))) V per head, RMSNorm, * (1 - lambda_init), W_O",
    "Ye et al. 2024, Differential Transformer"};

// differential: queries and keys hold two d-wide halves per head, values 2 d_v.
void differential_shapes(const ModelKind&, const Bindings& b, const double* config, const std::vector<GivenTensor>&) {
  const int64_t heads = (int64_t)config[0], qk = binding(b, "heads_x_2d"), d = binding(b, "d"),
                vrows = binding(b, "heads_x_2dv");
  if (qk != heads * 2 * d)
    throw Error(ErrorKind::DataException,
                "w_q and w_k have " + std::to_string(qk) + " rows; " + std::to_string(heads) + " heads of two " +
                    std::to_string(d) + "-wide halves (the lambda vectors' length) need " + std::to_string(heads * 2 * d),
                "Each head's query and key are [Q1, Q2] and [K1, K2], d each.");
  if (vrows % heads != 0)
    throw Error(ErrorKind::DataException,
                "num_heads " + std::to_string(heads) + " does not divide the " + std::to_string(vrows) + " rows of w_v");
  if (binding(b, "head_values") && binding(b, "head_values") != vrows / heads)
    throw Error(ErrorKind::DataException,
                "subln.weight has " + std::to_string(binding(b, "head_values")) + " entries; a head's value is " +
                    std::to_string(vrows / heads) + " wide");
}

const std::vector<ModelKind>& model_kinds() {
  static const std::vector<ModelKind> all = {
      {"moe_gate",
       "a mixture-of-experts gate, torch.nn.Linear(dims, num_experts): scores g = weight x + bias",
       {{"weight", {"num_experts", "dims"}, false, "one row per expert"},
        {"bias", {"num_experts"}, true, "added to the scores; absent means 0"}},
       {}},
      {"gat", "PyG GATConv(in_channels, out_channels, heads) with its defaults: heads concatenated, self-loops added",
       {{"lin.weight", {"heads_x_channels", "in_channels"}, false, "the shared projection W"},
        {"att_src", {"1", "heads", "channels"}, false, "a_src per head"},
        {"att_dst", {"1", "heads", "channels"}, false, "a_dst per head"},
        {"bias", {"heads_x_channels"}, true, "added to the output"},
        {"lin_edge.weight", {"heads_x_channels", "edge_dim"}, true, "W_e, with edge features (edge_dim)"},
        {"att_edge", {"1", "heads", "channels"}, true, "a_edge per head, with edge features"}},
       {real_param("negative_slope", 0.2, "LeakyReLU's slope below 0")},
       heads_times_channels},
      {"gatv2", "PyG GATv2Conv(in_channels, out_channels, heads) with its defaults: heads concatenated, self-loops added",
       {{"lin_l.weight", {"heads_x_channels", "in_channels"}, false, "W_l, for the sources"},
        {"lin_l.bias", {"heads_x_channels"}, false, "its bias"},
        {"lin_r.weight", {"heads_x_channels", "in_channels"}, false, "W_r, for the targets"},
        {"lin_r.bias", {"heads_x_channels"}, false, "its bias"},
        {"att", {"1", "heads", "channels"}, false, "a per head"},
        {"bias", {"heads_x_channels"}, true, "added to the output"}},
       {real_param("negative_slope", 0.2, "LeakyReLU's slope below 0")},
       heads_times_channels},
      {"graph_transformer", "PyG TransformerConv(in_channels, out_channels, heads) with its defaults: heads concatenated, root_weight, no self-loops",
       {{"lin_query.weight", {"heads_x_channels", "in_channels"}, false, "W_q"},
        {"lin_query.bias", {"heads_x_channels"}, false, "b_q"},
        {"lin_key.weight", {"heads_x_channels", "in_channels"}, false, "W_k"},
        {"lin_key.bias", {"heads_x_channels"}, false, "b_k"},
        {"lin_value.weight", {"heads_x_channels", "in_channels"}, false, "W_v"},
        {"lin_value.bias", {"heads_x_channels"}, false, "b_v"},
        {"lin_skip.weight", {"heads_x_channels", "in_channels"}, false, "the root weight"},
        {"lin_skip.bias", {"heads_x_channels"}, false, "its bias"}},
       {integer_param("heads", 1, 1, 4096, "the number of heads (shapes give only heads * out_channels)")},
       heads_times_channels},
      {"multi_head", "torch.nn.MultiheadAttention(embed_dim, num_heads) with bias: in_proj, heads, out_proj",
       {{"in_proj_weight", {"in_rows", "embed_dim"}, false, "W_q, W_k, W_v stacked: 3 * embed_dim rows"},
        {"in_proj_bias", {"in_rows"}, true, "their biases"},
        {"out_proj.weight", {"embed_dim", "embed_dim"}, false, "the output projection"},
        {"out_proj.bias", {"embed_dim"}, true, "its bias"}},
       {integer_param("num_heads", 1, 1, 16000, "heads, each embed_dim / num_heads wide")},
       stacked_projections},
      {"grouped_query",
       "grouped-query attention (Ainslie et al. 2023) with projections: query heads share num_kv_heads key/value heads",
       {{"w_q", {"heads_x_dims", "embed_dim"}, false, "W_Q"},
        {"w_k", {"kv_heads_x_dims", "embed_dim"}, false, "W_K: num_kv_heads heads"},
        {"w_v", {"kv_heads_x_vdims", "embed_dim"}, false, "W_V: num_kv_heads heads"},
        {"w_o", {"embed_dim", "heads_x_vdims"}, false, "W_O"}},
       {integer_param("num_heads", 1, 1, 16000, "query heads"),
        integer_param("num_kv_heads", 1, 1, 16000, "key/value heads (they divide num_heads)")},
       grouped_shapes},
      {"additive", "additive attention (Bahdanau et al. 2015): v . tanh(W_q q + W_k k), softmax, values",
       {{"w_query", {"attention_dim", "query_dim"}, false, "W_q"},
        {"w_key", {"attention_dim", "key_dim"}, false, "W_k"},
        {"v", {"attention_dim"}, false, "v"}},
       {bool_param("causal", false, "query i sees keys 0..i")}},
      {"talking_heads", "talking-heads attention (Shazeer et al. 2020): the heads' logits and weights mixed by H x H matrices",
       {{"logits_proj", {"heads", "heads"}, false, "P_l [from head][to head], mixing the logits before the softmax"},
        {"weights_proj", {"heads", "heads"}, false, "P_w [from head][to head], mixing the weights after it"}},
       {},
       nullptr,
       &kTalkingHeads},
      {"multi_head_latent",
       "multi-head latent attention (DeepSeek-V2) without its decoupled RoPE key: keys and values from a shared "
       "low-rank latent",
       {{"w_q", {"heads_x_dims", "embed_dim"}, false, "W_Q: queries to heads"},
        {"w_dkv", {"latent_dim", "embed_dim"}, false, "W_DKV: rows to the latent c_KV"},
        {"w_uk", {"heads_x_dims", "latent_dim"}, false, "W_UK: the latent to keys"},
        {"w_uv", {"heads_x_dims", "latent_dim"}, false, "W_UV: the latent to values"},
        {"w_o", {"embed_dim", "heads_x_dims"}, false, "W_O: the heads' output back to embed_dim"}},
       {integer_param("num_heads", 1, 1, 16000, "heads, each heads_x_dims / num_heads wide")},
       heads_divide_rows,
       &kLatent},
      {"differential",
       "differential attention (Ye et al. 2024): two softmax maps per head, the second subtracted with a learned "
       "lambda, then a per-head RMSNorm",
       {{"w_q", {"heads_x_2d", "embed_dim"}, false, "W_Q: each head's [Q1, Q2]"},
        {"w_k", {"heads_x_2d", "embed_dim"}, false, "W_K: each head's [K1, K2]"},
        {"w_v", {"heads_x_2dv", "embed_dim"}, false, "W_V"},
        {"w_o", {"embed_dim", "heads_x_2dv"}, false, "W_O"},
        {"lambda_q1", {"d"}, false, "lambda = exp(lambda_q1 . lambda_k1) - exp(lambda_q2 . lambda_k2) + lambda_init"},
        {"lambda_k1", {"d"}, false, "(the same)"},
        {"lambda_q2", {"d"}, false, "(the same)"},
        {"lambda_k2", {"d"}, false, "(the same)"},
        {"subln.weight", {"head_values"}, true, "the RMSNorm's weight per head (absent: ones)"}},
       {integer_param("num_heads", 1, 1, 16000, "heads"),
        real_param("lambda_init", 0.8, "lambda_init: added to lambda, and the output scaled by 1 - lambda_init"),
        positive_param("eps", 1e-5, "the RMSNorm's epsilon")},
       differential_shapes,
       &kDifferential},
      {"agnn", "PyG AGNNConv: softmax over N(i) + i of beta cos(x_i, x_j), no projection",
       {{"beta", {"1"}, false, "the learned temperature"}},
       {}},
  };
  return all;
}

const ModelKind* find_model_kind(std::string_view name) {
  for (const ModelKind& k : model_kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::string model_kind_names() {
  std::string s;
  for (const ModelKind& k : model_kinds()) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

int64_t binding(const Bindings& b, std::string_view symbol) {
  for (const auto& [name, value] : b)
    if (symbol == name) return value;
  return 0;
}

namespace {
std::string shape_text(const std::vector<const char*>& dims, const Bindings& b) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ", ";
    const int64_t v = literal(dims[i]) ? 0 : binding(b, dims[i]);
    s += v ? std::string(dims[i]) + " = " + std::to_string(v) : std::string(dims[i]);
  }
  return s + "]";
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string tensor_list(const ModelKind& kind) {
  std::string s;
  for (const TensorSpec& t : kind.tensors)
    s += (s.empty() ? "" : ", ") + std::string(t.name) + " " + shape_text(t.dims, {}) + (t.optional ? " (optional)" : "");
  return s;
}
}  // namespace

Bindings check_model(const ModelKind& kind, const std::vector<GivenTensor>& given, const double* config) {
  const std::string hint = std::string("A ") + kind.name + " model holds " + tensor_list(kind) + ".";
  for (size_t i = 0; i < given.size(); ++i) {
    bool known = false;
    for (const TensorSpec& t : kind.tensors) known |= given[i].name == t.name;
    if (!known)
      throw Error(ErrorKind::DataException,
                  "a " + std::string(kind.name) + " model has no tensor \"" + given[i].name + "\"", hint);
    for (size_t j = 0; j < i; ++j)
      if (given[j].name == given[i].name)
        throw Error(ErrorKind::DataException, "tensor \"" + given[i].name + "\" is given twice", hint);
  }
  Bindings b;
  for (const TensorSpec& t : kind.tensors) {
    const GivenTensor* g = nullptr;
    for (const GivenTensor& x : given)
      if (x.name == t.name) g = &x;
    if (!g) {
      if (t.optional) continue;
      throw Error(ErrorKind::DataException,
                  "a " + std::string(kind.name) + " model needs tensor \"" + t.name + "\" of shape " +
                      shape_text(t.dims, b),
                  hint);
    }
    bool ok = g->shape.size() == t.dims.size();
    for (size_t d = 0; ok && d < t.dims.size(); ++d) {
      const int64_t bound = literal(t.dims[d]) ? std::stoll(t.dims[d]) : binding(b, t.dims[d]);
      ok = g->shape[d] >= 1 && (bound == 0 || bound == g->shape[d]);
    }
    if (!ok)
      throw Error(ErrorKind::DataException,
                  "tensor \"" + g->name + "\" has shape " + shape_text(g->shape) + "; a " + kind.name +
                      " model needs " + shape_text(t.dims, b),
                  hint);
    for (size_t d = 0; d < t.dims.size(); ++d)
      if (!literal(t.dims[d]) && !binding(b, t.dims[d])) b.emplace_back(t.dims[d], g->shape[d]);
  }
  if (kind.relate) {
    std::vector<double> defaults;
    for (const ParamSpec& p : kind.config) defaults.push_back(p.default_value);
    kind.relate(kind, b, config ? config : defaults.data(), given);
  }
  return b;
}

}  // namespace rvj::ir
