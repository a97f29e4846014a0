// Sequence mechanisms: attention of L queries over S (key, value) rows, with
// heads, masks and a schedule. Each is written once here, as data: which
// per-row score kernel gives its logits (a recipe in mechanisms.cpp), how
// query heads map to key/value heads, whether it is causal, and which
// parameters it takes. The flash schedule (src/runtime/schedules/) runs them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/recipes/mechanisms.h"

namespace rvj::ir {

enum class HeadMap {
  Equal,    // H query heads over H key/value heads
  Grouped,  // H query heads share num_kv_heads key/value heads (GQA)
  Single,   // H query heads share one key/value head (MQA)
};

enum class Schedule {
  Flash,   // exact softmax attention, tiled online softmax
  Linear,  // kernelised attention: phi(q)^T (sum phi(k) v^T) / (phi(q)^T sum phi(k) + eps)
};

struct SequenceMechanism {
  const char* name;
  const char* family;
  const char* complexity;
  const char* best_for;
  const char* paper;
  const char* score;     // the per-row mechanism giving each head's logits (Flash only)
  HeadMap heads;
  bool causal;           // key j visible to query i iff j <= i (top-left aligned)
  std::vector<ParamSpec> params;  // schedule params, then the score's own
  size_t schedule_params;         // how many of params are the schedule's
  Schedule schedule = Schedule::Flash;
  // A sliding window (params "window" and "causal"): key j is visible to
  // query i iff i - window < j <= i (causal, Mistral) or |i - j| <= window.
  bool windowed = false;
};

const std::vector<SequenceMechanism>& sequence_mechanisms();
// A sequence mechanism by name; a per-row attention type also works as one
// (its logits, one head, no mask) and is returned as a generated entry.
const SequenceMechanism* find_sequence_mechanism(std::string_view name);
std::string sequence_mechanism_names();

}  // namespace rvj::ir
