// Mechanism parameters as typed specs: each recipe declares, per parameter,
// its kind, its allowed range and its default. Parsing (src/pg/params.cpp,
// the prewarm tool), validation, explain, ruvector_attention_types() and the
// README read these specs; schedules read the typed values (SequenceParams),
// never a parameter by its name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/limits.h"

namespace rvj::ir {

enum class ParamKind : uint8_t {
  Integer,  // a whole number in [lo, hi]
  Real,     // a finite number in the range (ends open or closed)
  Boolean,  // true/false in jsonb, 1/0 here
  Seed,     // a whole number of at most 2^53 in magnitude (exact in a double)
};

// The typed slot a parameter fills (SequenceParams), or None for a score
// parameter the kernel reads as a runtime argument.
enum class Field : uint8_t {
  None,
  NumHeads,
  NumKvHeads,
  BlockSize,
  Window,
  Dilation,
  Causal,
  GlobalTokens,
  GlobalBlocks,
  RandomBlocks,
  Seed,
  Stride,
  Summary,
  SparseBlock,
  TopK,
  Bias,
  RopeBase,
  Midpoint,
  Eps,
  NumFeatures,
  Curvature,
  Gamma,      // retention's decay
  Recurrent,  // retention's form
  Landmarks,       // Nystrom's landmarks
  PinvIterations,  // Nystrom's pseudo-inverse iterations
  SinkhornIterations,  // Sinkhorn's normalisations
  Slope,  // ALiBi's per-head slope, set by the schedule
};

struct ParamSpec {
  const char* name;
  ParamKind kind;
  double default_value;  // NaN with `optional`: "not given" (doc says what then)
  double lo, hi;         // the range; for Integer and Seed both ends are inclusive
  bool lo_open, hi_open; // Real only: whether an end is excluded
  const char* doc;
  Field field = Field::None;
  bool optional = false;
  bool internal = false;  // set by a schedule, never by users
};

// Spec builders, so that a recipe's list reads as a declaration.
ParamSpec integer_param(const char* name, double def, double lo, double hi, const char* doc, Field f = Field::None);
ParamSpec positive_param(const char* name, double def, const char* doc, Field f = Field::None);  // (0, inf)
ParamSpec real_param(const char* name, double def, const char* doc, Field f = Field::None);      // any finite
ParamSpec bool_param(const char* name, bool def, const char* doc, Field f = Field::None);
ParamSpec seed_param(const char* name, const char* doc, Field f = Field::Seed);
ParamSpec optional_real_param(const char* name, const char* doc, Field f = Field::None);
ParamSpec internal_param(const char* name, const char* doc, Field f);

// Callers hold a mechanism's params in arrays of this size (a test checks
// every registry entry against it).
inline constexpr size_t kMaxParams = 8;

// Position of the param called `name`, or -1: for parsers only (jsonb keys).
int param_index(const std::vector<ParamSpec>& specs, std::string_view name);

// "a whole number from 0 to 64", "a number greater than 0", "true or false".
std::string describe_range(const ParamSpec& p);
// "name=default (range)" for docs and ruvector_attention_types().
std::string describe_param(const ParamSpec& p);

// Throws rvj::Error(InvalidArgument) unless every param is allowed by its
// spec, naming the param, its range and the value given.
void check_params(const std::vector<ParamSpec>& specs, const double* params);

}  // namespace rvj::ir
