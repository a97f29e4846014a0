// Sinkformer attention (Sander et al. 2022), per head, in f64: the kernel
// K0 = exp(Q K^T / sqrt(d)) is normalised by rows (each row sums to 1), then
// by columns (each sums to L / S, 1 when square), and so on in turn for
// `iterations` steps, in the log domain (log-sum-exp); out = K V. One step is
// the softmax; many make the square plan doubly stochastic.
#pragma once

#include <cstddef>

#include "runtime/schedules/plan.h"

namespace rvj::runtime {

// Doubles one head needs (its L x S plan).
size_t sinkhorn_memory(const SequencePlan& p);
// Every query of head h: out rows of out_dims() (the head's slice written).
void run_sinkhorn_head(const SequencePlan& p, int h, const float* const* q, const float* const* k,
                       const float* const* v, float* out);

}  // namespace rvj::runtime
