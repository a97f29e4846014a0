// Sliding windows over a sequence (ruvector_sliding_attention): windows of
// `window` positions start every `stride` positions from the first; the last
// is clipped at the end, and no window starts once one has reached the end.
#pragma once

#include <vector>

namespace rvj::runtime {

struct Window {
  int start, end;  // positions [start, end), 0-based
};

// Throws rvj::Error(InvalidArgument) unless 1 <= stride <= window.
std::vector<Window> sliding_windows(int n, int window, int stride);

}  // namespace rvj::runtime
