// Kinds of learned models (ruvector_models): the tensors each kind holds and
// their shapes, named by symbols that must agree across tensors. Loading
// checks a model here, so a mismatch names the expected shape.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/recipes/params.h"

namespace rvj::ir {

struct TensorSpec {
  const char* name;
  std::vector<const char*> dims;  // symbols, e.g. {"num_experts", "dims"}, or literal sizes ("1")
  bool optional;
  const char* doc;
};

struct GivenTensor {
  std::string name;
  std::vector<int64_t> shape;
};
using Bindings = std::vector<std::pair<std::string, int64_t>>;

struct ModelKind {
  const char* name;
  const char* doc;
  std::vector<TensorSpec> tensors;
  std::vector<ParamSpec> config;  // settings beside the tensors (jsonb), with defaults
  // Relations between symbols and config that shapes alone cannot state;
  // throws rvj::Error(DataException). May be null.
  void (*relate)(const ModelKind& kind, const Bindings& b, const double* config,
                 const std::vector<GivenTensor>& given) = nullptr;
  // Set for a kind that is an attention mechanism of its own, run by
  // ruvector_model_attention and listed by ruvector_attention_types().
  struct Listing {
    const char* family;
    const char* complexity;
    const char* best_for;
    const char* form;
    const char* paper;
  };
  const Listing* listing = nullptr;
};

const std::vector<ModelKind>& model_kinds();
const ModelKind* find_model_kind(std::string_view name);  // nullptr if unknown
std::string model_kind_names();                         // "moe_gate, ..."


// Checks the tensors against the kind: every required one present, no
// unknown or repeated names, every shape of the right rank, each symbol one
// value, literal sizes as stated; then the kind's relations with `config`
// (its config params, checked by the caller; null: the defaults). Returns
// the symbols' values, in the order they first appear in the kind's specs.
// Throws rvj::Error(DataException) naming the expected shape.
Bindings check_model(const ModelKind& kind, const std::vector<GivenTensor>& given, const double* config = nullptr);

// The value bound to `symbol` (0 if not bound).
int64_t binding(const Bindings& b, std::string_view symbol);

}  // namespace rvj::ir
