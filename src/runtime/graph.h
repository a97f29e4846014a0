// Graph attention over a node's neighbourhood (PyG's convention: the sources
// of the edges into the node, plus its self-loop).
#pragma once

namespace rvj::runtime {

// Parameter-free dot-product graph attention: heads are contiguous slices of
// the features (dims / heads each); per head, a softmax over the n
// neighbours of (h_t . h_j) / sqrt(d_head), in f64; alpha[j] is the mean
// over heads. Throws rvj::Error unless heads divides dims, or when a logit
// is not finite.
void dot_graph_weights(const float* target, const float* const* neighbours, int n, int dims, int heads,
                       double* alpha);

}  // namespace rvj::runtime
