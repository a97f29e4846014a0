// The engine's entry points for src/pg: resolve a kernel, run it, explain it.
// Plain C++: pointers in, numbers out, rvj::Error on bad input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/normaliser.h"
#include "ir/recipes/mechanisms.h"
#include "ir/recipes/sequence.h"
#include "runtime/dot_block.h"
#include "runtime/kernel_cache.h"

namespace rvj::runtime {

// The attention type for a per-row score; throws with the valid names, or
// with the SQL shape a non-per-row mechanism needs instead.
const ir::Mechanism& row_score_mechanism(std::string_view name);
// What ruvector_attention_weights(query, keys, name) computes: the logits of
// `score` for each key, then `normaliser`. A per-row attention type uses the
// softmax; the sparse normalisers (sparsemax, entmax15, topk_sparse, sigmoid)
// use their sequence mechanism's score. `params` are the score's, then the
// normaliser's own (top_k; bias, optional: -ln n when not given). Throws like
// row_score_mechanism for other names.
struct WeightsForm {
  const ir::Mechanism* score;
  ir::Normaliser normaliser;
  std::vector<ir::ParamSpec> params;
};
const WeightsForm& weights_form(std::string_view name);

// Any kernel by name (attention types and internal kernels).
const ir::Mechanism& kernel_mechanism(std::string_view name);

// Keys' and values' lengths for a sequence mechanism over query vectors of
// `dims` with typed params t, as its head map expects them (0 when the heads
// do not divide dims: plan_sequence then says so).
std::pair<int, int> key_value_dims(const ir::SequenceMechanism& m, const ir::SequenceParams& t, int dims);
// Throws unless 1 <= dims <= kMaxDims (explain's dims argument).
void check_explain_dims(int dims);

// The pgvector error for vectors of different lengths.
void check_same_dims(int a, int b);

// A kernel ready to run at one call site: resolved once, then reused per row.
struct Bound {
  Kernel* kernel = nullptr;
  uint64_t generation = 0;  // backend_cache().generation() when bound
  bool jit = false;
  double params[4] = {};
};

// Resolve (and, with jit, compile) the kernel of `m` for `dims`; params start
// at their defaults. A Tile kernel also needs the value rows' length.
Bound bind(const ir::Mechanism& m, int dims, bool jit, ir::KernelKind kind = ir::KernelKind::Row,
           int value_dims = 0, ir::TileWeights weights = ir::TileWeights::Softmax);
// False once the cache has dropped kernels since `b` was bound.
bool still_valid(const Bound& b);

struct SequencePlan;
// The kernel a sequence plan runs, with the score's params from the plan:
// when the score can be tiled
// (ir::tile_error), its single-query kernel for one query row and its tile
// kernel for more; else its per-row kernel.
Bound bind_sequence(const SequencePlan& p, bool jit);

// The linear schedule's generated kernels (SequencePlan::panel and
// feature_map): feature_dot's panel kernel and the kernel of p's feature
// map, compiled or loaded now (on the calling thread, before the workers
// start) and valid until the kernel cache's next lookup; with the JIT off,
// none (the hand-written products and maps, the same bits).
void bind_linear(SequencePlan& p, bool jit);

// Run a kernel on its vector inputs (b is unused by one-input kernels): JIT
// code or the interpreter, then the mechanism's input checks. Returns out[0].
double run(const Bound& k, const float* a, const float* b);
// The same with `params` instead of k.params (num_params values, then the
// Position slot for scores that use it); c is a third input (additive's v).
double run_with_params(const Bound& k, const double* params, const float* a, const float* b,
                       const float* c = nullptr);

// Run a kernel with any number of vector inputs (the graph layers' per-edge
// scores take four), then the mechanism's checks. Returns out[0].
double run_inputs(const Bound& k, const double* params, const float* const* in);
// Run a kernel with one vector output (ir.h) into `result`, dims floats, not
// overlapping a or b: JIT code or the interpreter, then the mechanism's input
// checks, then check_finite_result.
void run_vec(const Bound& k, const float* a, const float* b, float* result);
// Throws rvj::Error(OutOfRange) if one of the n floats is NaN or infinite:
// the f32 arithmetic that made them overflowed (finite inputs give no other),
// and such a vector is never returned. `what` names them in the message.
void check_finite_result(std::string_view what, const float* x, size_t n);
// The same for `rows` rows of `dims` floats, ld floats apart (a result
// written in place); elements are numbered as if the rows were contiguous.
void check_finite_rows(std::string_view what, const float* x, int64_t ld, size_t rows, size_t dims);

// EXPLAIN-style text rows for a kernel (compiling it if needed): with
// `params` (null: the defaults) and the assembly for `isa` ("" = the host).
// A Tile or Query kind explains that kernel of the mechanism's score instead.
std::vector<std::string> explain(std::string_view mechanism, int dims, bool jit, const double* params = nullptr,
                                 std::string_view isa = {}, ir::KernelKind kind = ir::KernelKind::Row,
                                 int value_dims = 0, ir::TileWeights weights = ir::TileWeights::Softmax,
                                 ir::FeatureMap features = ir::FeatureMap::EluPlus1);

// The same for a sequence mechanism over query vectors of `dims`: its plan
// (heads, mask, flash tiles, threads), then its per-head score kernel.
// `params` follows the mechanism's parameter list.
std::vector<std::string> explain_sequence(std::string_view mechanism, int dims, bool jit, const double* params,
                                          std::string_view isa, int threads);

}  // namespace rvj::runtime
