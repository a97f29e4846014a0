// The one generator behind every seeded choice (BigBird's random blocks,
// FAVOR+'s features, the default MoE gate): splitmix64 (Steele et al. 2014),
// documented in the README so that any language can reproduce the draws.
#pragma once

#include <cmath>
#include <cstdint>

namespace rvj::ir {

inline constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += kGolden);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Standard normals by Box-Muller on splitmix64: u1 = (top 53 bits + 1) / 2^53
// in (0, 1], u2 = top 53 bits / 2^53 in [0, 1); both outputs used, cos first.
struct Normals {
  uint64_t state;
  double spare = 0;
  bool has_spare = false;
  double operator()() {
    if (has_spare) {
      has_spare = false;
      return spare;
    }
    const double u1 = (static_cast<double>(splitmix64(state) >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2 * std::log(u1));
    spare = r * std::sin(2 * M_PI * u2);
    has_spare = true;
    return r * std::cos(2 * M_PI * u2);
  }
};

}  // namespace rvj::ir
