// Feature maps of kernelised (linear) attention: phi(q) . phi(k) stands in
// for the softmax's exp(q . k / sqrt d), so sum_j phi(k_j) v_j^T is built once
// and each query costs O(F d_v). Written once here (f64) for the linear
// schedule and its tests.
#pragma once

#include <cstdint>

namespace rvj::ir {

enum class FeatureMap : uint8_t {
  EluPlus1,   // elu(x) + 1 (Katharopoulos et al. 2020); F = d
  Favor,      // FAVOR+ positive random features (Choromanski et al. 2021):
              // m^-1/2 exp(W x^ - |x^|^2 / 2), x^ = x d^-1/4; F = m
  CosFormer,  // relu(x) with cos re-weighting (Qin et al. 2022): the pair
              // [relu(x) cos(pi pos / 2M), relu(x) sin(pi pos / 2M)], so that
              // phi_i . phi_j = relu(q) . relu(k) cos(pi (i - j) / 2M); F = 2d
};

const char* feature_map_name(FeatureMap f);
// F, the length of phi(x) for head dimension d (m: FAVOR+'s features).
int feature_dim(FeatureMap f, int d, int m);

// phi(x) into out[F]. pos and M: CosFormer's position and M = max(L, S);
// W (m x d, row-major): FAVOR+'s random features.
void feature_map(FeatureMap f, const float* x, int d, int pos, int M, const double* W, int m, double* out);

// The f32 arithmetic of the linear schedule's maps (its Features kernels
// and runtime's hand-written loops compute exactly this, element by
// element, so both give these bits):
//   EluPlus1:  out[i] = (x > 0 ? x : 0) + (x > 0 ? 1 : exp32(x < 0 ? x : 0))
//   CosFormer: r = x > 0 ? x : 0; out[i] = r * c[0], out[n + i] = r * c[1]
//              (c: the row's cos and sin)
//   Favor:     FAVOR+'s exp, c[0] * exp(x) for any x: t = (x > 0 ? 44 : 0) +
//              (x > 44 ? 44 : 0), r = x - t, w = r > 0 ? 0 : r, k = x > 88 ?
//              inf : x > 44 ? e^88 : x > 0 ? e^44 : 1 (f32), out[i] = c[0] *
//              (exp32(w) * k): exp32's argument stays in (-44, 0]
// exp32 as ir/exp32.h. x: n floats.
void feature_map32(FeatureMap f, const float* x, int64_t n, float* out, const float* c);
inline constexpr float kExp44 = 0x1.64b41cp+63f, kExp88 = 0x1.f1056ep+126f;  // e^44, e^88 in f32

// FAVOR+'s W, m x d, from seed: orthogonal Gaussian rows (Performer's
// "orthogonal random features"). Blocks of d rows: a d x d matrix of
// standard normals, its rows orthonormalised by modified Gram-Schmidt in
// order, row r then scaled by the norm of a fresh standard normal d-vector;
// the first m rows of the blocks. Normals: Box-Muller on splitmix64 from
// state seed (both outputs used, cos first).
void favor_weights(int m, int d, uint64_t seed, double* W);

}  // namespace rvj::ir
