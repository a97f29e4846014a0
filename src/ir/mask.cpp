#include "ir/mask.h"

#include <algorithm>
#include <cstdlib>

#include "ir/random.h"

namespace rvj::ir {

namespace {
// b divides a, for any sign of a.
bool divides(int b, int a) { return a % b == 0; }
}  // namespace

const char* mask_kind_name(MaskKind k) {
  switch (k) {
    case MaskKind::None: return "";
    case MaskKind::Causal: return "causal mask";
    case MaskKind::Window: return "sliding window mask";
    case MaskKind::DilatedWindow: return "dilated window mask";
    case MaskKind::Longformer: return "band and global tokens mask";
    case MaskKind::Strided: return "strided mask";
    case MaskKind::Fixed: return "fixed mask";
    case MaskKind::BlockLocal: return "block-diagonal mask";
    case MaskKind::BigBird: return "BigBird block mask";
  }
  return "?";
}

int Mask::random_blocks(int I, int* out) const {
  const int blocks = (keys + block - 1) / block;
  auto candidate = [&](int J) { return std::abs(I - J) > 1 && J >= global; };
  // Counted, not scanned: visible() calls this for every pair a tile masks.
  // Non-candidates are the window [I-1, I+1] and the globals [0, global),
  // both clipped to the blocks that exist.
  const int w0 = std::max(0, I - 1), w1 = std::min(blocks - 1, I + 1), g = std::clamp(global, 0, blocks);
  const int window = std::max(0, w1 - w0 + 1), overlap = std::max(0, std::min(w1, g - 1) - w0 + 1);
  const int candidates = blocks - (window + g - overlap);
  int n = 0;
  if (candidates <= random) {
    for (int J = 0; J < blocks; ++J)
      if (candidate(J)) out[n++] = J;
    return n;
  }
  uint64_t state = seed + static_cast<uint64_t>(I + 1) * kGolden;
  while (n < random) {
    const int J = static_cast<int>(splitmix64(state) % static_cast<uint64_t>(blocks));
    if (candidate(J) && std::find(out, out + n, J) == out + n) out[n++] = J;
  }
  return n;
}

bool Mask::visible(int i, int j) const {
  if (causal && j > i) return false;
  switch (kind) {
    case MaskKind::None: return true;
    case MaskKind::Causal: return j <= i;
    case MaskKind::Window: return causal ? int64_t{i} - j < window : std::abs(int64_t{i} - j) <= window;
    case MaskKind::DilatedWindow:
      if (!divides(dilation, i - j)) return false;
      return causal ? (int64_t{i} - j) / dilation < window : std::abs(int64_t{i} - j) / dilation <= window;
    case MaskKind::Longformer: return std::abs(int64_t{i} - j) <= window || i < global || j < global;
    case MaskKind::Strided: return i / stride == j / stride || divides(stride, i - j);
    case MaskKind::Fixed: return i / stride == j / stride || j % stride >= stride - summary;
    case MaskKind::BlockLocal: return i / block == j / block;
    case MaskKind::BigBird: {
      const int I = i / block, J = j / block;
      if (std::abs(I - J) <= 1 || I < global || J < global) return true;
      int r[kMaxRandomBlocks];
      const int n = random_blocks(I, r);
      return std::find(r, r + n, J) != r + n;
    }
  }
  return false;
}

// Bounds in 64 bits: window x dilation reaches 2^60.
int Mask::first_key(int i) const {
  const int64_t w = window, d = dilation;
  switch (kind) {
    case MaskKind::Window: return static_cast<int>(std::max<int64_t>(0, causal ? i - w + 1 : i - w));
    case MaskKind::DilatedWindow: return static_cast<int>(std::max<int64_t>(0, causal ? i - (w - 1) * d : i - w * d));
    case MaskKind::BlockLocal: return i / block * block;
    default: return 0;
  }
}

int Mask::last_key(int i) const {
  int last = keys - 1;
  const int64_t w = window, d = dilation;
  switch (kind) {
    case MaskKind::Causal: last = std::min(last, i); break;
    case MaskKind::Window:
      if (!causal) last = std::min<int64_t>(last, i + w);
      break;
    case MaskKind::DilatedWindow:
      if (!causal) last = static_cast<int>(std::min<int64_t>(last, i + w * d));
      break;
    case MaskKind::Longformer:
      if (i >= global) last = static_cast<int>(std::min<int64_t>(last, std::max<int64_t>(i + w, global - 1)));
      break;
    case MaskKind::BlockLocal: last = std::min(last, (i / block + 1) * block - 1); break;
    default: break;
  }
  return causal ? std::min(last, i) : last;
}

bool Mask::contiguous() const {
  switch (kind) {
    case MaskKind::None:
    case MaskKind::Causal:
    case MaskKind::Window:
    case MaskKind::BlockLocal: return true;
    case MaskKind::DilatedWindow: return dilation == 1;
    default: return false;
  }
}

void Mask::key_blocks(int i0, int i1, int B, std::vector<int>& out) const {
  out.clear();
  int lo = keys, hi = -1;
  for (int i = i0; i < i1; ++i) lo = std::min(lo, first_key(i)), hi = std::max(hi, last_key(i));
  if (hi < lo) return;
  for (int k0 = lo / B * B; k0 <= hi; k0 += B) {
    const int k1 = std::min(keys, k0 + B);
    bool any = false;
    switch (kind) {
      case MaskKind::None:
      case MaskKind::Causal:
      case MaskKind::Window:
      case MaskKind::BlockLocal: any = true; break;  // contiguous: inside the bounds
      case MaskKind::Longformer:  // globals, or the band
        any = k0 < global || i0 < global ||
              (k0 <= int64_t{i1} - 1 + window && int64_t{k1} - 1 >= int64_t{i0} - window);
        break;
      case MaskKind::BigBird:  // block pairs
        for (int I = i0 / block; I <= (i1 - 1) / block && !any; ++I)
          for (int J = k0 / block; J <= (k1 - 1) / block && !any; ++J)
            any = visible(I * block, J * block);  // the rule is per block pair
        break;
      default:  // Strided, Fixed, DilatedWindow: the first visible pair ends the scan
        for (int i = i0; i < i1 && !any; ++i)
          for (int j = std::max(k0, first_key(i)); j < std::min(k1, last_key(i) + 1) && !any; ++j) any = visible(i, j);
    }
    if (any) out.push_back(k0);
  }
}

std::string Mask::describe() const {
  const std::string c = causal ? ", causal (j <= i)" : "";
  auto n = [](int v) { return std::to_string(v); };
  switch (kind) {
    case MaskKind::None: return "none";
    case MaskKind::Causal: return "causal (j <= i)";
    case MaskKind::Window:
      return "sliding window " + n(window) + (causal ? " (i - window < j <= i)" : " (|i - j| <= window)");
    case MaskKind::DilatedWindow:
      return "dilated window " + n(window) + ", dilation " + n(dilation) +
             (causal ? " (j = i - t*dilation, 0 <= t < window)" : " (j = i + t*dilation, |t| <= window)");
    case MaskKind::Longformer: return "band |i - j| <= " + n(window) + " plus global tokens 0.." + n(global - 1);
    case MaskKind::Strided: return "strided " + n(stride) + " (same block of stride, or stride divides i - j)" + c;
    case MaskKind::Fixed:
      return "fixed " + n(stride) + " (same block, or the last " + n(summary) + " keys of every block)" + c;
    case MaskKind::BlockLocal: return "block-diagonal blocks of " + n(block) + c;
    case MaskKind::BigBird:
      return "BigBird blocks of " + n(block) + ": window of 3 blocks, " + n(global) + " global block(s), " +
             n(random) + " random block(s) per query block from seed " + std::to_string(seed);
  }
  return "?";
}

}  // namespace rvj::ir
