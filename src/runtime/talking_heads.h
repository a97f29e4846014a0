// Talking-heads attention (Shazeer et al. 2020): each query's logits are
// mixed across heads by a learned H x H matrix before the softmax, and its
// weights by another after it. The mixing couples the heads, so this runs
// per query row over all of its keys: O(S * H) f64 of state per query.
#pragma once

#include <cstddef>

namespace rvj::runtime {

// out[i] (H * dv floats) for queries [q0, q1): q and k rows of H * dh, v rows
// of H * dv; logits_proj and weights_proj are H x H, [from][to] (the
// paper's P_l and P_w). Logits (q . k) / sqrt(dh) in f64. scratch holds
// talking_heads_scratch(S, H) doubles. Polls cancels per query.
void talking_heads(const float* const* q, const float* const* k, const float* const* v, int q0, int q1, int S, int H,
                   int dh, int dv, const float* logits_proj, const float* weights_proj, double* scratch, float* out);
inline size_t talking_heads_scratch(int S, int H) { return 2 * static_cast<size_t>(S) * H; }

}  // namespace rvj::runtime
