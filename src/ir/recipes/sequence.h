// Sequence mechanisms: attention of L queries over S (key, value) rows, with
// heads, masks, positions, a normaliser and a schedule. Each is written once
// here, as data: which per-row score program gives each head's logits (a
// recipe in mechanisms.cpp), how query heads map to key/value heads, the
// mask (ir/mask.h), the positional term, the normaliser (ir/normaliser.h),
// and which parameters it takes. The schedules in src/runtime/schedules/
// run them.
#pragma once

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
};

enum class Positional {
  None,
  Alibi,  // logits += m_h (j - i), m_h = 2^(-8 (h + 1) / H) for head h = 0..H-1 (Press et al. 2022)
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

// The score's params (in the score mechanism's order) from a sequence
// mechanism's params: by name; internal ones (set by the schedule) at their
// defaults. `out` has room for kMaxParams.
void score_params(const SequenceMechanism& m, const double* params, double* out);

// The ALiBi slope of head h (0-based) of H.
double alibi_slope(int h, int H);
// RoPE: x rotated for position pos: pairs (x[2t], x[2t+1]) turned by
// pos * base^(-2t/d), in f64, rounded to f32 once. d must be even.
void rope_rotate(const float* x, int d, int pos, double base, float* out);

}  // namespace rvj::ir
