// Plain distance functions behind the ruvector operators (<->, <#>, <=>).
// They are fixed-form loops, compiled ahead of time with reassociation
// allowed so they vectorise; the JIT is for attention kernels.
#pragma once

namespace rvj::runtime {

double l2_squared(const float* a, const float* b, int n);
double inner_product(const float* a, const float* b, int n);
// 1 - cos(a, b); NaN when either vector is zero (as pgvector).
double cosine_distance(const float* a, const float* b, int n);
double norm(const float* a, int n);

}  // namespace rvj::runtime
