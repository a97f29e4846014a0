// Nystromformer (Xiong et al. 2021), per head, in f64: landmarks Q~ and K~
// are the means of m contiguous segments of the queries and of the keys
// (segment i: rows [i n / m, (i + 1) n / m)); with logits q.k / sqrt(d),
//   out = softmax(Q K~^T) pinv(softmax(Q~ K~^T)) (softmax(Q~ K^T) V),
// pinv by the paper's Newton-Schulz iteration from V0 = K^T / max column
// sum: V <- V (13 I - KV (15 I - KV (7 I - KV))) / 4. No mask and no
// convolution skip (the official code's optional extras).
#pragma once

#include <cstddef>

#include "runtime/schedules/plan.h"

namespace rvj::runtime {

// Doubles of working memory one head needs (its matrices, in Eigen).
size_t nystrom_memory(const SequencePlan& p);
// Every query of head h: out rows of out_dims() (the head's slice written).
void run_nystrom_head(const SequencePlan& p, int h, const float* const* q, const float* const* k,
                      const float* const* v, float* out);

}  // namespace rvj::runtime
