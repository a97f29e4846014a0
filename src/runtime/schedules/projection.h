// Learned projections through Eigen: rows x W^T + b, as nn.Linear computes
// them (multi-head attention's in_proj and out_proj). f32 storage, Eigen's
// f32 GEMM in chunks of rows (the rows need not be contiguous); a single row
// takes dots against W's rows where they are, without gathering W.
#pragma once

namespace rvj::runtime {

// out[r] = W rows[r] + bias for r < n: rows of in_dims floats, W given as
// out_dims rows of in_dims floats, bias out_dims floats or null; out is n x
// out_dims, row-major.
void project_rows(const float* const* rows, int n, int in_dims, const float* const* w, int out_dims,
                  const float* bias, float* out);

}  // namespace rvj::runtime
