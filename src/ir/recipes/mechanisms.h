// Every kernel ruvector_jit ships is written once, here, as a recipe: the
// data that describes it (for ruvector_attention_types(), validation, explain
// and the docs) plus the function that builds its IR for given dims.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"
#include "ir/recipes/params.h"

namespace rvj::ir {

// How a kernel's result scales with its vector inputs. Float32 sums of
// tiny inputs (entries below about 1e-6) can underflow; when the recipe's
// `underflowed` says the outputs show it, the runtime runs the kernel again
// on the inputs scaled by powers of two (exact) and scales the result back,
// so such inputs get what a float64 reference gives while every other input
// keeps the float32 kernel's bits.
enum class Scaling : uint8_t {
  None,       // no rescue
  Joint,      // f(s a, s b) = s f(a, b): both inputs by one factor (l2)
  Each,       // f(s a, t b) = s t f(a, b): each input by its own (dot products)
  Invariant,  // f(s a, t b) = f(a, b): each input by its own (cosines)
};

struct Mechanism {
  const char* name;
  bool attention_type;      // listed by ruvector_attention_types(); else an internal kernel
  const char* family;
  const char* complexity;   // per call, in terms of d
  const char* best_for;
  const char* score_form;   // the per-row formula
  const char* paper;
  std::vector<const char*> input_names;  // names of the vector inputs, for messages
  std::vector<ParamSpec> params;         // scalar runtime params, in kernel order
  Function (*build)(int dims);
  // Validates the kernel's auxiliary outputs (slots past 0; every slot of a
  // kernel with a vector output) after a call and throws rvj::Error on
  // invalid input. May be null.
  void (*check)(const Mechanism& m, const double* out, const double* params);
  // Set when the mechanism has learned weights, which are arguments of its
  // own SQL functions (named here); the generic forms (ruvector_attention_score,
  // _weights, _attend, ruvector_attention) reject it and point there.
  const char* own_functions = nullptr;
  Scaling scaling = Scaling::None;
  // Whether the outputs show a float32 sum that may have underflowed.
  bool (*underflowed)(const double* out) = nullptr;
};

// How far (relative) a point may lie from the hyperboloid <x,x>_L = -k and
// still count as on it: float32 rounding of a point computed in f64.
inline constexpr double kHyperboloidTolerance = 1e-5;

// Entries of magnitude below this are rescaled before a rescue (2^-20).
inline constexpr double kTinyEntry = 9.5367431640625e-07;

// Throws rvj::Error(Unsupported) for a mechanism with own_functions, saying
// which functions take its weights.
void reject_own_functions(const Mechanism& m);

const std::vector<Mechanism>& mechanisms();
const Mechanism* find_mechanism(std::string_view name);

inline void check_params(const Mechanism& m, const double* params) { check_params(m.params, params); }

// Whether sequence attention can run m's score in flash tiles (and the
// single-query kernel): ir::tile_error is empty and m has no input check
// (a check needs the auxiliary outputs tiles do not produce).
bool tileable(const Mechanism& m);

// Comma-separated names: every kernel, or only the attention types the
// generic functions take by name (not those with own_functions).
std::string mechanism_names(bool attention_types_only);

// Mechanisms computed by a SQL function of their own outside the IR (their
// pieces run with different lengths, which a kernel's one length cannot
// take); listed by ruvector_attention_types().
struct FunctionMechanism {
  const char* name;
  const char* family;
  const char* complexity;
  const char* best_for;
  const char* params;
  const char* score_form;
  const char* paper;
  const char* sql;
};
const std::vector<FunctionMechanism>& function_mechanisms();

// The SQL that runs a mechanism served outside the generic forms (a router,
// a function mechanism, a model kind of ruvector_model_attention), or "".
std::string own_sql_form(std::string_view name);

// A mechanism of the product catalogue, shipped or not. `shape` is the SQL
// shape its result needs when it has no per-row score form, else nullptr.
struct CatalogueEntry {
  const char* name;
  const char* shape;
};
const CatalogueEntry* catalogue_entry(std::string_view name);

// Shared recipe pieces (one piece of code per idea).
int poincare_distance(Builder& b, int x, int y, int c, int* cxx_out, int* cyy_out);

// Recipes, one per mechanism; each lives with its family.
Function build_scaled_dot(int dims);
Function build_feature_dot(int dims);
Function build_additive(int dims);
Function build_alibi_score(int dims);
Function build_cosine(int dims);
Function build_poincare(int dims);
Function build_lorentz(int dims);
void check_lorentz(const Mechanism& m, const double* out, const double* params);
Function build_lorentz_distance(int dims);
Function build_poincare_distance(int dims);
Function build_l2_distance(int dims);
Function build_negative_inner_product(int dims);
Function build_cosine_distance(int dims);
Function build_norm(int dims);
void check_cosine(const Mechanism& m, const double* out, const double* params);
void check_poincare(const Mechanism& m, const double* out, const double* params);
// Internal kernels with a vector output (ir.h): the Poincare ball's maps.
Function build_poincare_expmap0(int dims);
Function build_poincare_logmap0(int dims);
Function build_poincare_mobius_add(int dims);
void check_poincare_points(const Mechanism& m, const double* out, const double* params);
// Graph: per-edge scores of PyG's layers (ruvector_gat_search, ruvector_gat_forward).
Function build_gat(int dims);
Function build_gat_edge(int dims);
Function build_gatv2(int dims);
Function build_graph_transformer(int dims);
Function build_agnn(int dims);

}  // namespace rvj::ir
