// Sequence mechanisms: attention of L queries over S (key, value) rows, with
// heads, masks, positions, a normaliser and a schedule. Each is written once
// here, as data: which per-row score program gives each head's logits (a
// recipe in mechanisms.cpp), how query heads map to key/value heads, the
// mask (ir/mask.h), the positional term, the normaliser (ir/normaliser.h),
// and which parameters it takes. The schedules in src/runtime/schedules/
// run them.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "ir/feature_map.h"
#include "ir/mask.h"
#include "ir/normaliser.h"
#include "ir/recipes/mechanisms.h"

namespace rvj::ir {

enum class HeadMap {
  Equal,    // H query heads over H key/value heads
  Grouped,  // H query heads share num_kv_heads key/value heads (GQA)
  Single,   // H query heads share one key/value head (MQA)
};

enum class Schedule {
  Flash,   // exact attention, tiled (softmax: online; other normalisers: per query row)
  Linear,  // kernelised attention: phi(q)^T (sum phi(k) v^T) / (phi(q)^T sum phi(k) + eps)
  Retention,  // RetNet: sum over m <= n of gamma^(n-m) (q_n . k_m) v_m, no normaliser
  Nystrom,    // Nystromformer: softmax attention through landmarks and a pseudo-inverse
  Sinkhorn,   // Sinkformer: the logits' exponentials normalised by rows and columns in turn
};

enum class Positional {
  None,
  Alibi,  // logits += m_h (j - i), m_h of head h from alibi_slope() (Press et al. 2022)
  Rope,   // q and k rotated by their positions before the score (Su et al. 2021)
};

struct SequenceMechanism {
  const char* name;
  const char* family;
  const char* complexity;
  const char* best_for;
  const char* paper;
  const char* score;     // the per-row mechanism giving each head's logits (Flash only)
  HeadMap heads;
  MaskKind mask;         // its numbers (window, stride, ...) come from params
  std::vector<ParamSpec> params;  // schedule params, then the score's own
  size_t schedule_params;         // how many of params are the schedule's
  Schedule schedule = Schedule::Flash;
  Normaliser normaliser = Normaliser::Softmax;
  Positional positional = Positional::None;
  FeatureMap features = FeatureMap::EluPlus1;  // Linear only
  std::vector<int> score_slots = {};  // per score param: its index in params, or -1 (set by the schedule)
};

const std::vector<SequenceMechanism>& sequence_mechanisms();
// A sequence mechanism by name; a per-row attention type also works as one
// (its logits, one head, no mask) and is returned as a generated entry.
const SequenceMechanism* find_sequence_mechanism(std::string_view name);
std::string sequence_mechanism_names();
// The sequence form of a mechanism with learned weights (Mechanism::
// own_functions), which its own SQL function runs; ruvector_attention does
// not find these.
const SequenceMechanism* find_weighted_sequence_mechanism(std::string_view name);

// A sequence mechanism's params, typed: what the schedules read. Fields a
// mechanism does not take keep these defaults.
struct SequenceParams {
  int heads = 1, kv_heads = 1, block = 64;
  int window = 0, dilation = 1, global = 0, random = 0, stride = 0, summary = 0, sparse_block = 0;
  int top_k = 1, num_features = 0;
  int64_t seed = 0;
  bool causal = false, midpoint = false;
  double bias = std::numeric_limits<double>::quiet_NaN();  // Sigmoid; NaN: not given
  double rope_base = 10000, eps = 1e-6, curvature = 1;
  double gamma = std::numeric_limits<double>::quiet_NaN();  // Retention; NaN: RetNet's per-head decays
  bool recurrent = false;
  int landmarks = 64, pinv_iterations = 6;  // Nystrom
  int sinkhorn_iterations = 5;
  double score[kMaxParams] = {};  // the score kernel's params, in its order (internal ones at defaults)
};
// Checks `values` (m.params' order) against their specs and types them.
// Throws rvj::Error(InvalidArgument) naming a value out of its range.
SequenceParams typed_params(const SequenceMechanism& m, const double* values);
// The specs' defaults into out.
void default_params(const std::vector<ParamSpec>& specs, double* out);
// Sets the value of m's param that fills `field` (functions whose SQL
// arguments carry a param, such as num_heads); throws if m has none.
void set_param(const SequenceMechanism& m, Field field, double value, double* values);

// The ALiBi slope of head h (0-based) of H (Press et al.'s reference code).
double alibi_slope(int h, int H);
// RoPE: x rotated for position pos: pairs (x[2t], x[2t+1]) turned by
// pos * base^(-2t/d), in f64, rounded to f32 once. d must be even.
void rope_rotate(const float* x, int d, int pos, double base, float* out);

}  // namespace rvj::ir
