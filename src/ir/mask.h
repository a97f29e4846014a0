// Attention masks as data: which keys each query sees. One definition serves
// the schedules (which keys to walk, which to mask inside a tile), the
// explain output and the test references (scripts/gen_fixtures.py transcribes
// the same rules into dense boolean masks for torch SDPA).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/limits.h"

namespace rvj::ir {

enum class MaskKind : uint8_t {
  None,           // every key
  Causal,         // j <= i (top-left aligned when L != S)
  Window,         // causal: i - window < j <= i; else |i - j| <= window (Mistral; Longformer's band)
  DilatedWindow,  // every dilation-th key of the window: i - j = t * dilation with
                  // 0 <= t < window (causal) or |t| <= window
  Longformer,     // |i - j| <= window, or i < global, or j < global (global tokens 0..global-1)
  Strided,        // floor(j / stride) == floor(i / stride), or stride divides i - j (Child 2019)
  Fixed,          // floor(j / stride) == floor(i / stride), or j mod stride >= stride - summary (Child 2019)
  BlockLocal,     // floor(j / block) == floor(i / block)
  BigBird,        // blocks I = i / block, J = j / block: |I - J| <= 1, or I < global, or J < global,
                  // or J is one of `random` blocks drawn for I from `seed` (random_blocks())
};

// "causal mask", "sliding window mask", ...; "" for None.
const char* mask_kind_name(MaskKind k);

struct Mask {
  MaskKind kind = MaskKind::None;
  bool causal = false;  // also j <= i (Window, DilatedWindow, Strided, Fixed, BlockLocal)
  int window = 0;
  int dilation = 1;
  int global = 0;
  int stride = 0;
  int summary = 0;
  int block = 0;
  int random = 0;
  uint64_t seed = 0;
  int keys = 0;  // S: BigBird draws among the key blocks that exist

  bool visible(int i, int j) const;
  // Bounds of the keys query i can see: visible(i, j) implies first <= j <= last.
  int first_key(int i) const;
  int last_key(int i) const;
  // True when every key between the bounds is visible (no holes).
  bool contiguous() const;
  // The starts of the key blocks [k0, k0 + B) in which some query of
  // [i0, i1) sees a key, ascending: the sparse schedule walks only these.
  void key_blocks(int i0, int i1, int B, std::vector<int>& out) const;
  // BigBird's random key blocks for query block I: `random` distinct blocks
  // among the candidates (those the window and the globals do not already
  // give): all of them when there are at most `random`; else splitmix64 from
  // state seed + (I + 1) * golden draws J = next % blocks, keeping candidates
  // not drawn before, until `random` are kept. Writes them to out (room for
  // kMaxRandomBlocks), returns how many. No allocation: a plain value type.
  static constexpr int kMaxRandomBlocks = ir::kMaxRandomBlocks;
  int random_blocks(int I, int* out) const;
  std::string describe() const;
};

}  // namespace rvj::ir
