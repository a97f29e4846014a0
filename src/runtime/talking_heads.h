// Talking-heads attention (Shazeer et al. 2020): each query's logits are
// mixed across heads by a learned H x H matrix before the softmax, and its
// weights by another after it. The mixing couples the heads, so this runs a
// block of queries over all of its keys: O(B * S * H) f64 of state.
#pragma once

#include <cstddef>

namespace rvj::runtime {

// out[i] (H * dv floats) for queries [q0, q1): q and k rows of H * dh, v rows
// of H * dv; logits_proj and weights_proj are H x H, [from][to] (the
// paper's P_l and P_w). Logits (q . k) / sqrt(dh) in f64, the products in
// Eigen (f64; their order is Eigen's, so the last bits may differ between
// ISAs). A block of B queries needs talking_heads_memory(B, S, H) doubles.
// Polls cancels per head.
void talking_heads(const float* const* q, const float* const* k, const float* const* v, int q0, int q1, int S, int H,
                   int dh, int dv, const float* logits_proj, const float* weights_proj, float* out);
inline size_t talking_heads_memory(int B, int S, int H, int dh, int dv) {
  return 2 * static_cast<size_t>(B) * S * H + static_cast<size_t>(S) * (dh + dv) + static_cast<size_t>(B) * dh;
}
// Queries per block.
inline constexpr int kTalkingHeadsBlock = 32;

}  // namespace rvj::runtime
