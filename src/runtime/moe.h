// Mixture-of-experts routing (ir/recipes/routing.h): gate scores
// g = W x + b for every expert, and the routers that read them.
//
// A gate score is 16 fused multiply-add chains, chain l over the elements
// t = l, l + 16, ... in order, then summed by a fixed tree (l + 8, + 4, + 2,
// + 1). AVX-512, AVX2 and scalar code run exactly these operations, so every
// ISA gives the same bits.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/recipes/routing.h"
#include "runtime/simd.h"

namespace rvj::runtime {

// A view of a gate laid out for gate_scores (plain data, so that src/pg can
// keep one in a memory context).
struct Gate {
  int experts = 0, dims = 0, padded = 0;  // padded: dims rounded up to 16
  const float* weight = nullptr;          // experts x padded, zero past dims
  const float* bias = nullptr;            // experts, or null (0)
};

inline int gate_padded(int dims) { return (dims + 15) / 16 * 16; }
// Rows of storage: experts rounded up to 8 (the kernels take 8 or 4 at a
// time, the extra rows zero).
inline int gate_rows(int experts) { return (experts + 7) / 8 * 8; }
inline size_t gate_storage_floats(int experts, int dims) { return (size_t)gate_rows(experts) * gate_padded(dims); }

// Lays weight (experts x dims, row-major) out in storage
// (gate_storage_floats) and returns the view; bias (experts) or null is
// referenced, not copied.
Gate lay_out_gate(const float* weight, const float* bias, int experts, int dims, float* storage);

// The gate used without a model, into weight (experts x dims): row e holds
// standard normals drawn in order from ir::Normals{ir::kDefaultGateSeed}
// (row 0 first), minus the row's mean when dims >= 2 (so adding a constant
// to every entry of x changes no choice), scaled to unit norm; no bias.
// Built in f64, rounded once to f32.
void default_gate_weight(int experts, int dims, float* weight);

// A gate with its own storage, for C++ callers (tests, benchmarks).
struct OwnedGate {
  std::vector<float> storage, bias;
  Gate gate;
  OwnedGate(const float* weight, const float* b, int experts, int dims);
};

// scores[i * experts + e] for the n rows of x (n x dims, row-major).
void gate_scores(const Gate& g, const float* x, int64_t n, float* scores, SimdIsa isa = SimdIsa::Best);

struct Routed {
  int expert;
  float weight;
};

// Routes one row from its scores: top_k experts by score (ties: the lower
// index first), weights by `router` (TopK: softmax over the kept scores;
// Switch: top_k is 1 and the weight is the full softmax's). out[top_k], in
// descending weight. Softmax in f64. Throws rvj::Error(OutOfRange) on a
// score that is not finite.
void route_scores(const float* scores, int experts, int top_k, ir::Router router, Routed* out);

// gate_scores then route_scores for n rows (out: n x top_k); the buffer of
// scores is a block of rows at a time, and cancels are polled between blocks.
void route(const Gate& g, const float* x, int64_t n, int top_k, ir::Router router, Routed* out);

// Expert choice (Zhou et al. 2022) over a set of n rows: S = softmax over
// experts of each row's scores; expert e takes the `capacity` rows with the
// largest S[., e] (ties: the lower row first). Returned expert by expert,
// rows in descending weight.
struct Chosen {
  int expert;
  int64_t row;
  float weight;
};
std::vector<Chosen> expert_choice(const Gate& g, const float* x, int64_t n, int capacity);

// Lloyd's k-means with a seeded k-means++ start (moe.cpp says how each draw
// is made, so that a reference can repeat it), then at most max_iter rounds of
// assigning each row to its nearest centroid (squared L2 in f64, ties: the
// lower index) and moving each centroid to its rows' mean (f64); a centroid
// that loses all its rows stays where it is. Stops when no assignment
// changes. centroids: k x dims. Returns the rounds run. Needs n >= k.
int kmeans(const float* x, int64_t n, int dims, int k, uint64_t seed, int max_iter, float* centroids);

// The gate that routes a row to its nearest centroid: weight = c_e,
// bias = -|c_e|^2 / 2 (argmax of c.x - |c|^2/2 is argmin of |x - c|^2).
void centroid_gate(const float* centroids, int k, int dims, float* weight, float* bias);

}  // namespace rvj::runtime
