#include "ir/recipes/sequence.h"

namespace rvj::ir {

namespace {
const ParamSpec kNumHeads{"num_heads", 1, true, "heads the query (and, unless grouped, key and value) vectors split into", true};
const ParamSpec kNumKvHeads{"num_kv_heads", 1, true, "key/value heads; must divide num_heads", true};
const ParamSpec kBlock{"block_size", 64, true, "rows per tile of the flash schedule (queries and keys)", true};
const ParamSpec kWindow{"window", 256, true, "keys each query sees: i - window < j <= i, or |i - j| <= window", true};
const ParamSpec kWindowCausal{"causal", 1, false, "true: the window looks back only (Mistral); false: both ways", false, true};
const ParamSpec kEps{"eps", 1e-6, true, "added to the normaliser phi(q).sum phi(k) (fast-transformers' default)"};
}  // namespace

const std::vector<SequenceMechanism>& sequence_mechanisms();

namespace {
bool listed(std::string_view name) {
  for (const SequenceMechanism& m : sequence_mechanisms())
    if (name == m.name) return true;
  return false;
}
}  // namespace

namespace {
// Appends the score mechanism's params to each entry's schedule params.
std::vector<SequenceMechanism> with_score_params(std::vector<SequenceMechanism> list) {
  for (SequenceMechanism& m : list) {
    m.schedule_params = m.params.size();
    if (m.score)
      for (const ParamSpec& p : find_mechanism(m.score)->params) m.params.push_back(p);
  }
  return list;
}
}  // namespace

const std::vector<SequenceMechanism>& sequence_mechanisms() {
  static const std::vector<SequenceMechanism> all = with_score_params({
      {"scaled_dot", "dot-product", "O(L*S*d)", "attention over a sequence, bidirectional",
       "Vaswani et al. 2017", "scaled_dot", HeadMap::Equal, false, {kNumHeads, kBlock}, 0},
      {"multi_head", "dot-product", "O(L*S*d)", "several attention patterns in one pass (identity projections)",
       "Vaswani et al. 2017 (nn.MultiheadAttention)", "scaled_dot", HeadMap::Equal, false, {kNumHeads, kBlock}, 0},
      {"flash_v2", "dot-product (tiled, exact)", "O(L*S*d), extra memory O(block)",
       "long sequences: exact attention without the L x S matrix", "Dao 2023, FlashAttention-2", "scaled_dot",
       HeadMap::Equal, false, {kNumHeads, kBlock}, 0},
      {"causal", "dot-product", "O(L*S*d / 2)", "autoregressive sequences: query i sees keys 0..i",
       "Vaswani et al. 2017 (masked)", "scaled_dot", HeadMap::Equal, true, {kNumHeads, kBlock}, 0},
      {"cross", "dot-product, two sources", "O(L*S*d)", "queries from one table attending over another (L != S)",
       "Vaswani et al. 2017 (encoder-decoder)", "scaled_dot", HeadMap::Equal, false, {kNumHeads, kBlock}, 0},
      {"grouped_query", "dot-product", "O(L*S*d)", "smaller key/value memory: heads share key/value heads",
       "Ainslie et al. 2023, GQA", "scaled_dot", HeadMap::Grouped, false, {kNumHeads, kNumKvHeads, kBlock}, 0},
      {"multi_query", "dot-product", "O(L*S*d)", "smallest key/value memory: one key/value head",
       "Shazeer 2019, MQA", "scaled_dot", HeadMap::Single, false, {kNumHeads, kBlock}, 0},
      {"sliding_window", "local", "O(L*window*d)", "long sequences with local context (Mistral, Longformer)",
       "Beltagy et al. 2020 (Longformer); Jiang et al. 2023 (Mistral)", "scaled_dot", HeadMap::Equal, false,
       {kNumHeads, kWindow, kWindowCausal, kBlock}, 0, Schedule::Flash, true},
      {"linear", "kernel", "O((L+S)*d*d_v)", "long sequences and whole tables: the state is built once",
       "Katharopoulos et al. 2020, Transformers are RNNs (phi = elu + 1)", nullptr, HeadMap::Equal, false,
       {kNumHeads, kEps}, 0, Schedule::Linear},
      {"linear_causal", "kernel", "O((L+S)*d*d_v)", "autoregressive sequences in linear time (prefix sums)",
       "Katharopoulos et al. 2020, Transformers are RNNs (causal)", nullptr, HeadMap::Equal, true,
       {kNumHeads, kEps}, 0, Schedule::Linear},
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
      if (m.attention_type && !listed(m.name))
        g.push_back({m.name, m.family, "O(L*S*d)", m.best_for, m.paper, m.name, HeadMap::Equal, false,
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
    if (m.attention_type && !listed(m.name)) s += std::string(", ") + m.name;
  return s;
}

}  // namespace rvj::ir
