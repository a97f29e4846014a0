// Runs IR directly, slowly and obviously: the JIT-off path and the oracle
// that codegen tests compare against.
#pragma once
#include "ir/ir.h"

namespace rvj::ir {
// inputs[i] points at dims floats; params has num_params values; out receives
// num_outputs values; inputs[num_inputs + j] is vector output j (ir.h), dims
// floats written.
void interpret(const Function& fn, const float* const* inputs, const double* params, double* out);

// A Tile kernel (the TileFn contract of codegen/abi.h) for buffers laid out by `shape`. Per
// query i, lane by lane, in this order:
//   logit[j] = the score program on (query i, key j) with every reduction a
//              plain sequential f32 fma chain over t, the scalar ops in f64,
//              rounded to f32; -inf where key j is not visible
//   mb  = max_j logit[j];  m' = max(m[i], mb);  ms = m' == -inf ? 0 : m'
//   p_j = exp32(logit[j] - ms);  lb = sum_j p_j          (f32, j ascending)
//   a   = exp32(m[i] - ms);  m[i] = m'
//   l[i] = fma(l[i], a, lb);  o[i][c] = fma(o[i][c], a, sum_j fma p_j v_j[c])  (f64 state, f32 sums)
void interpret_tile(const Function& fn, const TileShape& shape, const float* qt, const float* const* k,
                    const float* const* v, const int32_t* lo, const int32_t* hi, const uint8_t* vis,
                    const int32_t* qpos, const int32_t* kpos, const double* params, float* s, float* m, double* l,
                    double* o, int64_t n);

// A Query kernel (the QueryFn contract of codegen/abi.h). Per key j (scores in the Row
// order, as interpret() computes them, rounded to f32; -inf for padding):
//   the block max: 16 partial maxima (key j into partial j mod 16, j
//   ascending, a later key wins only if greater), folded by halving
//   m', ms, p_j, a, m, l as in interpret_tile
//   lb = 16 partials (p_j into partial j mod 16, j ascending), halving fold
//   o[c] = fma(o[c], a, even + odd) where even/odd = sum of fma p_j v_j[c]
//          over even/odd j ascending (f32)
void interpret_query(const Function& fn, const float* q, const float* const* k, const float* const* v,
                     int64_t koff, int64_t voff, const uint8_t* vis, int32_t qpos, const int32_t* kpos, double* params, float* s, float* m,
                     double* l, double* o, int64_t n);

// exp32.h's function on one float.
float exp32(float x);
// tanh64.h's function on one double.
double tanh64(double x);
}
