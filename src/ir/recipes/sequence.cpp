#include "ir/recipes/sequence.h"

#include <cmath>
#include <limits>

namespace rvj::ir {

namespace {
const double kNotGiven = std::numeric_limits<double>::quiet_NaN();
const ParamSpec kNumHeads{"num_heads", 1, true, "heads the query (and, unless grouped, key and value) vectors split into", true};
const ParamSpec kNumKvHeads{"num_kv_heads", 1, true, "key/value heads; must divide num_heads", true};
const ParamSpec kBlock{"block_size", 64, true, "rows per tile of the flash schedule (queries and keys)", true};
const ParamSpec kWindow{"window", 256, true, "keys each query sees: i - window < j <= i, or |i - j| <= window", true};
const ParamSpec kCausalTrue{"causal", 1, false, "true: keys after the query are masked (j <= i)", false, true};
const ParamSpec kCausalFalse{"causal", 0, false, "true: keys after the query are masked (j <= i)", false, true};
const ParamSpec kWindowCausal{"causal", 1, false, "true: the window looks back only (Mistral); false: both ways", false, true};
const ParamSpec kDilatedWindow{"window", 64, true, "window positions: j = i - t*dilation, 0 <= t < window (causal) or |t| <= window", true};
const ParamSpec kDilation{"dilation", 2, true, "distance between the keys of the window", true};
const ParamSpec kBand{"window", 128, true, "the band: |i - j| <= window", true};
const ParamSpec kGlobalTokens{"global_tokens", 1, false, "tokens 0..global_tokens-1 see and are seen by every token", true};
const ParamSpec kStride{"stride", 64, true, "Child et al.'s l: blocks of stride keys, and every stride-th key", true};
const ParamSpec kSummary{"summary", 8, true, "Child et al.'s c: the last summary keys of every block are seen by all", true};
const ParamSpec kSparseBlock{"sparse_block", 64, true, "tokens per block of the pattern", true};
const ParamSpec kGlobalBlocks{"global_blocks", 1, false, "blocks 0..global_blocks-1 are global", true};
const ParamSpec kRandomBlocks{"random_blocks", 2, false, "random key blocks per query block", true};
const ParamSpec kSeed{"seed", 0, false, "seed of the random blocks (splitmix64; see README)", true};
const ParamSpec kTopK{"top_k", 32, true, "logits kept per query (ties: the lower key index first)", true};
const ParamSpec kSigmoidBias{"bias", kNotGiven, false, "added to each logit before the sigmoid; default -ln(number of keys)",
                            false, false, true};
const ParamSpec kRopeBase{"base", 10000, true, "RoPE base: pair t of a head turns by pos * base^(-2t/d)"};
const ParamSpec kMidpoint{"midpoint", 0, false,
                          "true: values are points of the ball, aggregated by their weighted gyromidpoint; false: the "
                          "weighted sum",
                          false, true};
const ParamSpec kEps{"eps", 1e-6, true, "added to the normaliser phi(q).sum phi(k) (fast-transformers' default)"};
const ParamSpec kFeatures{"num_features", 128, true, "FAVOR+ random features m (more: closer to the softmax)", true};
const ParamSpec kFeatureSeed{"seed", 0, false, "seed of the random features W (splitmix64; see README)", true};
}  // namespace

const std::vector<SequenceMechanism>& sequence_mechanisms();

namespace {
bool listed(std::string_view name) {
  for (const SequenceMechanism& m : sequence_mechanisms())
    if (name == m.name) return true;
  return false;
}

// Appends the score mechanism's params (except those a schedule sets) to
// each entry's schedule params.
std::vector<SequenceMechanism> with_score_params(std::vector<SequenceMechanism> list) {
  for (SequenceMechanism& m : list) {
    m.schedule_params = m.params.size();
    if (m.score)
      for (const ParamSpec& p : find_mechanism(m.score)->params)
        if (!p.internal) m.params.push_back(p);
  }
  return list;
}
}  // namespace

const std::vector<SequenceMechanism>& sequence_mechanisms() {
  using M = MaskKind;
  using H = HeadMap;
  static const std::vector<SequenceMechanism> all = with_score_params({
      {"scaled_dot", "dot-product", "O(L*S*d)", "attention over a sequence, bidirectional",
       "Vaswani et al. 2017", "scaled_dot", H::Equal, M::None, {kNumHeads, kBlock}, 0},
      {"multi_head", "dot-product", "O(L*S*d)", "several attention patterns in one pass (identity projections)",
       "Vaswani et al. 2017 (nn.MultiheadAttention)", "scaled_dot", H::Equal, M::None, {kNumHeads, kBlock}, 0},
      {"flash_v2", "dot-product (tiled, exact)", "O(L*S*d), extra memory O(block)",
       "long sequences: exact attention without the L x S matrix", "Dao 2023, FlashAttention-2", "scaled_dot",
       H::Equal, M::None, {kNumHeads, kBlock}, 0},
      {"causal", "dot-product", "O(L*S*d / 2)", "autoregressive sequences: query i sees keys 0..i",
       "Vaswani et al. 2017 (masked)", "scaled_dot", H::Equal, M::Causal, {kNumHeads, kBlock}, 0},
      {"cross", "dot-product, two sources", "O(L*S*d)", "queries from one table attending over another (L != S)",
       "Vaswani et al. 2017 (encoder-decoder)", "scaled_dot", H::Equal, M::None, {kNumHeads, kBlock}, 0},
      {"grouped_query", "dot-product", "O(L*S*d)", "smaller key/value memory: heads share key/value heads",
       "Ainslie et al. 2023, GQA", "scaled_dot", H::Grouped, M::None, {kNumHeads, kNumKvHeads, kBlock}, 0},
      {"multi_query", "dot-product", "O(L*S*d)", "smallest key/value memory: one key/value head",
       "Shazeer 2019, MQA", "scaled_dot", H::Single, M::None, {kNumHeads, kBlock}, 0},
      {"sigmoid", "dot-product", "O(L*S*d)", "attention without a softmax: each key weighs on its own",
       "Ramapuram et al. 2024, sigmoid attention", "scaled_dot", H::Equal, M::None,
       {kNumHeads, kCausalFalse, kSigmoidBias, kBlock}, 0, Schedule::Flash, Normaliser::Sigmoid},
      {"alibi", "positional", "O(L*S*d)", "causal language models that extrapolate to longer inputs",
       "Press et al. 2022, ALiBi", "alibi_score", H::Equal, M::None, {kNumHeads, kCausalTrue, kBlock}, 0,
       Schedule::Flash, Normaliser::Softmax, Positional::Alibi},
      {"rope", "positional", "O(L*S*d)", "relative positions through rotated queries and keys",
       "Su et al. 2021, RoFormer", "scaled_dot", H::Equal, M::None, {kNumHeads, kRopeBase, kCausalFalse, kBlock}, 0,
       Schedule::Flash, Normaliser::Softmax, Positional::Rope},
      {"sparsemax", "sparse normaliser", "O(L*S*(d + log S))", "weights with exact zeros: only the relevant keys",
       "Martins & Astudillo 2016, sparsemax", "scaled_dot", H::Equal, M::None, {kNumHeads, kCausalFalse, kBlock},
       0, Schedule::Flash, Normaliser::Sparsemax},
      {"entmax15", "sparse normaliser", "O(L*S*(d + log S))", "sparse weights, smoother than sparsemax",
       "Peters et al. 2019, 1.5-entmax", "scaled_dot", H::Equal, M::None, {kNumHeads, kCausalFalse, kBlock}, 0,
       Schedule::Flash, Normaliser::Entmax15},
      {"topk_sparse", "sparse", "O(L*S*(d + log k))", "each query attends to its k strongest keys only",
       "Zhao et al. 2019, Explicit Sparse Transformer", "scaled_dot", H::Equal, M::None,
       {kNumHeads, kTopK, kCausalFalse, kBlock}, 0, Schedule::Flash, Normaliser::TopK},
      {"sliding_window", "local", "O(L*window*d)", "long sequences with local context (Mistral, Longformer)",
       "Beltagy et al. 2020 (Longformer); Jiang et al. 2023 (Mistral)", "scaled_dot", H::Equal, M::Window,
       {kNumHeads, kWindow, kWindowCausal, kBlock}, 0},
      {"dilated_window", "local", "O(L*window*d)", "a wider receptive field for the same cost as a window",
       "Beltagy et al. 2020, Longformer (dilated)", "scaled_dot", H::Equal, M::DilatedWindow,
       {kNumHeads, kDilatedWindow, kDilation, kWindowCausal, kBlock}, 0},
      {"longformer", "local + global", "O(L*(window + global)*d)", "long documents with a few tokens that see all",
       "Beltagy et al. 2020, Longformer", "scaled_dot", H::Equal, M::Longformer,
       {kNumHeads, kBand, kGlobalTokens, kBlock}, 0},
      {"strided", "sparse", "O(L*(stride + L/stride)*d)", "long periodic sequences (images, audio)",
       "Child et al. 2019, Sparse Transformers (strided)", "scaled_dot", H::Equal, M::Strided,
       {kNumHeads, kStride, kCausalTrue, kBlock}, 0},
      {"fixed_sparse", "sparse", "O(L*(stride + L*summary/stride)*d)", "long text: blocks plus summary positions",
       "Child et al. 2019, Sparse Transformers (fixed)", "scaled_dot", H::Equal, M::Fixed,
       {kNumHeads, kStride, kSummary, kCausalTrue, kBlock}, 0},
      {"block_local", "sparse", "O(L*sparse_block*d)", "independent chunks: attention stays inside each block",
       "block-diagonal attention (Qiu et al. 2020, BlockBERT)", "scaled_dot", H::Equal, M::BlockLocal,
       {kNumHeads, kSparseBlock, kCausalFalse, kBlock}, 0},
      {"bigbird", "sparse + random", "O(L*(3 + global + random)*sparse_block*d)",
       "long documents: local, global and random blocks", "Zaheer et al. 2020, BigBird", "scaled_dot", H::Equal,
       M::BigBird, {kNumHeads, kSparseBlock, kGlobalBlocks, kRandomBlocks, kSeed, kBlock}, 0},
      {"poincare", "hyperbolic", "O(L*S*d)", "hierarchies: attention by hyperbolic distance, values kept in the ball",
       "Gulcehre et al. 2019, Hyperbolic Attention Networks", "poincare", H::Equal, M::None,
       {kNumHeads, kMidpoint, kBlock}, 0},
      {"linear", "kernel", "O((L+S)*d*d_v)", "long sequences and whole tables: the state is built once",
       "Katharopoulos et al. 2020, Transformers are RNNs (phi = elu + 1)", nullptr, H::Equal, M::None,
       {kNumHeads, kEps}, 0, Schedule::Linear},
      {"linear_causal", "kernel", "O((L+S)*d*d_v)", "autoregressive sequences in linear time (prefix sums)",
       "Katharopoulos et al. 2020, Transformers are RNNs (causal)", nullptr, H::Equal, M::Causal,
       {kNumHeads, kEps}, 0, Schedule::Linear},
      {"performer", "kernel", "O((L+S)*m*d_v)", "long sequences: an unbiased estimate of softmax attention in linear time",
       "Choromanski et al. 2021, Performers (FAVOR+)", nullptr, H::Equal, M::None,
       {kNumHeads, kFeatures, kFeatureSeed, kCausalFalse, kEps}, 0, Schedule::Linear, Normaliser::Softmax,
       Positional::None, FeatureMap::Favor},
      {"cosformer", "kernel", "O((L+S)*d*d_v)", "long sequences with a locality bias, in linear time",
       "Qin et al. 2022, cosFormer", nullptr, H::Equal, M::None, {kNumHeads, kCausalFalse, kEps}, 0,
       Schedule::Linear, Normaliser::Softmax, Positional::None, FeatureMap::CosFormer},
  });
  return all;
}

const SequenceMechanism* find_sequence_mechanism(std::string_view name) {
  for (const SequenceMechanism& m : sequence_mechanisms())
    if (name == m.name) return &m;
  // Per-row attention types run as one-head, unmasked sequence attention
  // over their own logits (cosine: softmax(tau cos) V; poincare: softmax(-beta d - gamma) V).
  static std::vector<SequenceMechanism> generated = [] {
    std::vector<SequenceMechanism> g;
    for (const Mechanism& m : mechanisms())
      if (m.attention_type && !listed(m.name) && !m.own_functions)
        g.push_back({m.name, m.family, "O(L*S*d)", m.best_for, m.paper, m.name, HeadMap::Equal, MaskKind::None,
                     {kNumHeads, kBlock}, 0});
    return with_score_params(std::move(g));
  }();
  for (const SequenceMechanism& m : generated)
    if (name == m.name) return &m;
  return nullptr;
}

std::string sequence_mechanism_names() {
  std::string s;
  for (const SequenceMechanism& m : sequence_mechanisms()) s += std::string(s.empty() ? "" : ", ") + m.name;
  for (const Mechanism& m : mechanisms())
    if (m.attention_type && !listed(m.name) && !m.own_functions) s += std::string(", ") + m.name;
  return s;
}

const SequenceMechanism* find_weighted_sequence_mechanism(std::string_view name) {
  // Queries and keys arrive projected (the function's job), so the score
  // runs on one head of the attention dimension.
  static const std::vector<SequenceMechanism> weighted = with_score_params({
      {"additive", "dot-product", "O((L+S)*a*d + L*S*a)", "learned relevance between vectors of different spaces",
       "Bahdanau et al. 2015", "additive", HeadMap::Equal, MaskKind::None, {kCausalFalse, kBlock}, 0},
  });
  for (const SequenceMechanism& m : weighted)
    if (name == m.name) return &m;
  return nullptr;
}

void score_params(const SequenceMechanism& m, const double* params, double* out) {
  if (!m.score) return;
  const std::vector<ParamSpec>& specs = find_mechanism(m.score)->params;
  for (size_t i = 0; i < specs.size(); ++i) {
    const int at = specs[i].internal ? -1 : param_index(m.params, specs[i].name);
    out[i] = at < 0 ? specs[i].default_value : params[at];
  }
}

double alibi_slope(int h, int H) { return std::exp2(-8.0 * (h + 1) / H); }

void rope_rotate(const float* x, int d, int pos, double base, float* out) {
  for (int t = 0; 2 * t + 1 < d; ++t) {
    const double angle = pos * std::pow(base, -2.0 * t / d);
    const double c = std::cos(angle), s = std::sin(angle), a = x[2 * t], b = x[2 * t + 1];
    out[2 * t] = static_cast<float>(a * c - b * s);
    out[2 * t + 1] = static_cast<float>(a * s + b * c);
  }
}

}  // namespace rvj::ir
