#include "ir/recipes/sequence.h"

#include <cmath>
#include <limits>

#include "ir/errors.h"

namespace rvj::ir {

namespace {
const ParamSpec kNumHeads = integer_param(
    "num_heads", 1, 1, kMaxHeads, "heads the query (and, unless grouped, key and value) vectors split into",
    Field::NumHeads);
const ParamSpec kNumKvHeads =
    integer_param("num_kv_heads", 1, 1, kMaxHeads, "key/value heads; must divide num_heads", Field::NumKvHeads);
const ParamSpec kBlock = integer_param("block_size", 64, 1, kMaxBlockSize,
                                       "rows per tile of the flash schedule (queries and keys)", Field::BlockSize);
const ParamSpec kWindow = integer_param("window", 256, 1, kMaxLength,
                                        "keys each query sees: i - window < j <= i, or |i - j| <= window", Field::Window);
const ParamSpec kCausalTrue = bool_param("causal", true, "true: keys after the query are masked (j <= i)", Field::Causal);
const ParamSpec kCausalFalse = bool_param("causal", false, "true: keys after the query are masked (j <= i)", Field::Causal);
const ParamSpec kWindowCausal =
    bool_param("causal", true, "true: the window looks back only (Mistral); false: both ways", Field::Causal);
const ParamSpec kDilatedWindow =
    integer_param("window", 64, 1, kMaxLength,
                  "window positions: j = i - t*dilation, 0 <= t < window (causal) or |t| <= window", Field::Window);
const ParamSpec kDilation =
    integer_param("dilation", 2, 1, kMaxLength, "distance between the keys of the window", Field::Dilation);
const ParamSpec kBand = integer_param("window", 128, 0, kMaxLength, "the band: |i - j| <= window", Field::Window);
const ParamSpec kGlobalTokens = integer_param("global_tokens", 1, 0, kMaxLength,
                                              "tokens 0..global_tokens-1 see and are seen by every token",
                                              Field::GlobalTokens);
const ParamSpec kStride = integer_param("stride", 64, 1, kMaxLength,
                                        "Child et al.'s l: blocks of stride keys, and every stride-th key", Field::Stride);
const ParamSpec kSummary = integer_param("summary", 8, 1, kMaxLength,
                                         "Child et al.'s c: the last summary keys of every block are seen by all (at "
                                         "most stride)",
                                         Field::Summary);
const ParamSpec kSparseBlock =
    integer_param("sparse_block", 64, 1, kMaxLength, "tokens per block of the pattern", Field::SparseBlock);
const ParamSpec kGlobalBlocks =
    integer_param("global_blocks", 1, 0, kMaxLength, "blocks 0..global_blocks-1 are global", Field::GlobalBlocks);
const ParamSpec kRandomBlocks = integer_param("random_blocks", 2, 0, kMaxRandomBlocks,
                                              "random key blocks per query block", Field::RandomBlocks);
const ParamSpec kSeed = seed_param("seed", "seed of the random blocks (splitmix64; see README)");
const ParamSpec kTopK = integer_param("top_k", 32, 1, kMaxLength,
                                      "logits kept per query (ties: the lower key index first)", Field::TopK);
const ParamSpec kSigmoidBias = optional_real_param(
    "bias", "added to each logit before the sigmoid; default -ln(number of keys)", Field::Bias);
const ParamSpec kRopeBase = positive_param("base", 10000, "RoPE base: pair t of a head turns by pos * base^(-2t/d)",
                                           Field::RopeBase);
const ParamSpec kMidpoint = bool_param("midpoint", false,
                                       "true: values are points of the ball, aggregated by their weighted "
                                       "gyromidpoint; false: the weighted sum",
                                       Field::Midpoint);
const ParamSpec kEps =
    positive_param("eps", 1e-6, "added to the normaliser phi(q).sum phi(k) (fast-transformers' default)", Field::Eps);
const ParamSpec kFeatures = integer_param("num_features", 128, 1, kMaxFeatures,
                                          "FAVOR+ random features m (more: closer to the softmax)", Field::NumFeatures);
const ParamSpec kFeatureSeed = seed_param("seed", "seed of the random features W (splitmix64; see README)");
const ParamSpec kGamma = optional_real_param(
    "gamma", "the decay per position, in (0, 1], the same for every head; default RetNet's 1 - 2^(-5-h) for head h",
    Field::Gamma);
const ParamSpec kLandmarks = integer_param("num_landmarks", 64, 1, 4096,
                                           "landmarks: segment means of the queries and of the keys (at most the "
                                           "number of queries and of keys)",
                                           Field::Landmarks);
const ParamSpec kPinvIterations = integer_param("pinv_iterations", 6, 1, 100,
                                                "iterations of the Newton-Schulz pseudo-inverse (the paper's 6)",
                                                Field::PinvIterations);
const ParamSpec kSinkhornIterations =
    integer_param("iterations", 5, 1, 1000,
                  "normalisations, rows first then columns in turn (1: the softmax; odd: each query's weights sum to 1)",
                  Field::SinkhornIterations);
const ParamSpec kRecurrent = bool_param("recurrent", false,
                                        "compute with the recurrent form (a d x d_v state per head, carried from "
                                        "position to position) instead of the parallel one; they agree",
                                        Field::Recurrent);
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
// and records where each of the score's params sits in the list (-1 for one
// the schedule sets), so that typed_params() copies them by position.
std::vector<SequenceMechanism> with_score_params(std::vector<SequenceMechanism> list) {
  for (SequenceMechanism& m : list) {
    m.schedule_params = m.params.size();
    if (!m.score) continue;
    for (const ParamSpec& p : find_mechanism(m.score)->params) {
      m.score_slots.push_back(p.internal ? -1 : static_cast<int>(m.params.size()));
      if (!p.internal) m.params.push_back(p);
    }
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
      {"sparsemax", "sparse normaliser", "O(L*S*(d + p)), p threshold passes (few in practice)", "weights with exact zeros: only the relevant keys",
       "Martins & Astudillo 2016, sparsemax", "scaled_dot", H::Equal, M::None, {kNumHeads, kCausalFalse, kBlock},
       0, Schedule::Flash, Normaliser::Sparsemax},
      {"entmax15", "sparse normaliser", "O(L*S*(d + n)), n Newton steps (at most 64)", "sparse weights, smoother than sparsemax",
       "Peters et al. 2019, 1.5-entmax", "scaled_dot", H::Equal, M::None, {kNumHeads, kCausalFalse, kBlock}, 0,
       Schedule::Flash, Normaliser::Entmax15},
      {"topk_sparse", "sparse", "O(L*S*d), the k best by selection", "each query attends to its k strongest keys only",
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
      {"retention", "kernel / recurrent", "O(L*S*d) parallel, O(L*d*d_v) recurrent",
       "decaying memory without a softmax: parallel to compute, recurrent to serve (RetNet)",
       "Sun et al. 2023, Retentive Network (retention, eqs. 5-6)", nullptr, H::Equal, M::Causal,
       {kNumHeads, kGamma, kRecurrent}, 0, Schedule::Retention},
      {"nystrom", "low-rank", "O((L+S)*m*d + m^3)",
       "long sequences: an approximation of softmax attention that improves with the landmarks",
       "Xiong et al. 2021, Nystromformer", nullptr, H::Equal, M::None, {kNumHeads, kLandmarks, kPinvIterations}, 0,
       Schedule::Nystrom},
      {"sinkhorn", "optimal transport", "O(L*S*(d + iterations))",
       "attention as a transport plan: every key is attended to as much as every query attends (doubly stochastic)",
       "Sander et al. 2022, Sinkformers", nullptr, H::Equal, M::None, {kNumHeads, kSinkhornIterations}, 0,
       Schedule::Sinkhorn},
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

SequenceParams typed_params(const SequenceMechanism& m, const double* values) {
  check_params(m.params, values);
  SequenceParams t;
  // Every value is checked against its range above, so the casts are exact.
  for (size_t i = 0; i < m.params.size(); ++i) {
    const double v = values[i];
    const auto whole = static_cast<int>(m.params[i].kind == ParamKind::Integer ? v : 0);
    switch (m.params[i].field) {
      case Field::None: break;
      case Field::NumHeads: t.heads = whole; break;
      case Field::NumKvHeads: t.kv_heads = whole; break;
      case Field::BlockSize: t.block = whole; break;
      case Field::Window: t.window = whole; break;
      case Field::Dilation: t.dilation = whole; break;
      case Field::Causal: t.causal = v != 0; break;
      case Field::GlobalTokens:
      case Field::GlobalBlocks: t.global = whole; break;
      case Field::RandomBlocks: t.random = whole; break;
      case Field::Seed: t.seed = static_cast<int64_t>(v); break;
      case Field::Stride: t.stride = whole; break;
      case Field::Summary: t.summary = whole; break;
      case Field::SparseBlock: t.sparse_block = whole; break;
      case Field::TopK: t.top_k = whole; break;
      case Field::Bias: t.bias = v; break;
      case Field::RopeBase: t.rope_base = v; break;
      case Field::Midpoint: t.midpoint = v != 0; break;
      case Field::Eps: t.eps = v; break;
      case Field::NumFeatures: t.num_features = whole; break;
      case Field::Curvature: t.curvature = v; break;
      case Field::Gamma: t.gamma = v; break;
      case Field::Recurrent: t.recurrent = v != 0; break;
      case Field::Landmarks: t.landmarks = whole; break;
      case Field::PinvIterations: t.pinv_iterations = whole; break;
      case Field::SinkhornIterations: t.sinkhorn_iterations = whole; break;
      case Field::Slope: break;  // per head, by the schedule
    }
  }
  if (m.score) {
    const std::vector<ParamSpec>& specs = find_mechanism(m.score)->params;
    for (size_t i = 0; i < specs.size(); ++i)
      t.score[i] = m.score_slots[i] < 0 ? specs[i].default_value : values[m.score_slots[i]];
  }
  return t;
}

void default_params(const std::vector<ParamSpec>& specs, double* out) {
  for (size_t i = 0; i < specs.size(); ++i) out[i] = specs[i].default_value;
}

void set_param(const SequenceMechanism& m, Field field, double value, double* values) {
  for (size_t i = 0; i < m.params.size(); ++i)
    if (m.params[i].field == field) {
      values[i] = value;
      return;
    }
  throw Error(ErrorKind::Internal, std::string(m.name) + " has no such parameter");
}

double alibi_slope(int h, int H) {
  // Press et al.'s get_slopes: for a power of two, 2^(-8 (h + 1) / H); else
  // the slopes of the largest power of two P below H, then the first H - P
  // of the even-indexed slopes for 2P heads.
  int P = 1;
  while (P * 2 <= H) P *= 2;
  if (h < P) return std::exp2(-8.0 * (h + 1) / P);
  return std::exp2(-8.0 * (2 * (h - P) + 1) / (2.0 * P));
}

void rope_rotate(const float* x, int d, int pos, double base, float* out) {
  for (int t = 0; 2 * t + 1 < d; ++t) {
    const double angle = pos * std::pow(base, -2.0 * t / d);
    const double c = std::cos(angle), s = std::sin(angle), a = x[2 * t], b = x[2 * t + 1];
    out[2 * t] = static_cast<float>(a * c - b * s);
    out[2 * t + 1] = static_cast<float>(a * s + b * c);
  }
}

}  // namespace rvj::ir
