// What turns a query's logits into weights: the softmax, or one of the
// alternatives of the catalogue. Written once here (f64) for the schedules
// and the references alike.
#pragma once

#include <cstdint>
#include <vector>

namespace rvj::ir {

enum class Normaliser : uint8_t {
  Softmax,    // exp(z - max) / sum
  Sigmoid,    // 1 / (1 + exp(-(z + bias))), not normalised (Ramapuram et al. 2024)
  Sparsemax,  // Euclidean projection onto the simplex (Martins & Astudillo 2016)
  Entmax15,   // 1.5-entmax, exact sort-based threshold (Peters et al. 2019)
  TopK,       // softmax over the top_k largest logits, the rest 0; ties: lower index first
};

const char* normaliser_name(Normaliser n);

// Weights of n >= 1 logits (finite) into w. `bias` is Sigmoid's, `top_k` TopK's.
void normalise(Normaliser kind, const double* z, int n, double* w, double bias, int top_k);

}  // namespace rvj::ir
