#include "ir/feature_map.h"

#include "ir/exp32.h"
#include "ir/random.h"

#include <cmath>
#include <vector>

namespace rvj::ir {

const char* feature_map_name(FeatureMap f) {
  switch (f) {
    case FeatureMap::EluPlus1: return "elu + 1";
    case FeatureMap::Favor: return "FAVOR+ positive random features";
    case FeatureMap::CosFormer: return "relu with cos re-weighting (cosFormer)";
  }
  return "?";
}

void feature_map32(FeatureMap f, const float* x, int64_t n, float* out, const float* c) {
  using exp_f32::exp32;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    switch (f) {
      case FeatureMap::EluPlus1:
        out[i] = (v > 0.0f ? v : 0.0f) + (v > 0.0f ? 1.0f : exp32(v < 0.0f ? v : 0.0f));
        break;
      case FeatureMap::CosFormer: {
        const float r = v > 0.0f ? v : 0.0f;
        out[i] = r * c[0];
        out[n + i] = r * c[1];
        break;
      }
      case FeatureMap::Favor: {
        const float t = (v > 0.0f ? 44.0f : 0.0f) + (v > 44.0f ? 44.0f : 0.0f);
        const float r = v - t, w = r > 0.0f ? 0.0f : r;
        const float k = v > 88.0f ? INFINITY : v > 44.0f ? kExp88 : v > 0.0f ? kExp44 : 1.0f;
        out[i] = c[0] * (exp32(w) * k);
        break;
      }
    }
  }
}

int feature_dim(FeatureMap f, int d, int m) {
  switch (f) {
    case FeatureMap::EluPlus1: return d;
    case FeatureMap::Favor: return m;
    case FeatureMap::CosFormer: return 2 * d;
  }
  return d;
}

void feature_map(FeatureMap f, const float* x, int d, int pos, int M, const double* W, int m, double* out) {
  switch (f) {
    case FeatureMap::EluPlus1:
      for (int i = 0; i < d; ++i) out[i] = x[i] > 0 ? x[i] + 1.0 : std::exp(static_cast<double>(x[i]));
      return;
    case FeatureMap::Favor: {
      const double s = std::pow(static_cast<double>(d), -0.25);
      double sq = 0;
      for (int i = 0; i < d; ++i) sq += (x[i] * s) * (x[i] * s);
      const double norm = 1 / std::sqrt(static_cast<double>(m));
      for (int r = 0; r < m; ++r) {
        double wx = 0;
        for (int i = 0; i < d; ++i) wx += W[static_cast<size_t>(r) * d + i] * (x[i] * s);
        out[r] = norm * std::exp(wx - sq / 2);
      }
      return;
    }
    case FeatureMap::CosFormer: {
      const double a = M_PI * pos / (2.0 * M), c = std::cos(a), sn = std::sin(a);
      for (int i = 0; i < d; ++i) {
        const double r = x[i] > 0 ? x[i] : 0.0;
        out[i] = r * c;
        out[d + i] = r * sn;
      }
      return;
    }
  }
}


void favor_weights(int m, int d, uint64_t seed, double* W) {
  Normals normal{seed};
  std::vector<double> block(static_cast<size_t>(d) * d);
  for (int r0 = 0; r0 < m; r0 += d) {
    for (double& g : block) g = normal();
    for (int r = 0; r < d; ++r) {  // modified Gram-Schmidt over the rows, in order
      double* row = &block[static_cast<size_t>(r) * d];
      for (int p = 0; p < r; ++p) {
        const double* prev = &block[static_cast<size_t>(p) * d];
        double dot = 0;
        for (int i = 0; i < d; ++i) dot += row[i] * prev[i];
        for (int i = 0; i < d; ++i) row[i] -= dot * prev[i];
      }
      double norm = 0;
      for (int i = 0; i < d; ++i) norm += row[i] * row[i];
      norm = std::sqrt(norm);
      for (int i = 0; i < d; ++i) row[i] /= norm;
    }
    for (int r = 0; r < d && r0 + r < m; ++r) {
      double len = 0;
      for (int i = 0; i < d; ++i) {
        const double g = normal();
        len += g * g;
      }
      len = std::sqrt(len);
      for (int i = 0; i < d; ++i) W[static_cast<size_t>(r0 + r) * d + i] = len * block[static_cast<size_t>(r) * d + i];
    }
  }
}

}  // namespace rvj::ir
