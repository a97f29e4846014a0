#include "runtime/schedules/windows.h"

#include <algorithm>
#include <string>

#include "ir/errors.h"

namespace rvj::runtime {

std::vector<Window> sliding_windows(int n, int window, int stride) {
  if (window < 1)
    throw Error(ErrorKind::InvalidArgument, "window_size must be at least 1, not " + std::to_string(window));
  if (stride < 1 || stride > window)
    throw Error(ErrorKind::InvalidArgument,
                "stride must be between 1 and window_size (" + std::to_string(window) + "), not " +
                    std::to_string(stride),
                "Windows start every stride positions; a stride past the window would skip positions.");
  std::vector<Window> out;
  for (long start = 0; start < n; start += stride) {
    const int end = static_cast<int>(std::min<long>(n, start + window));
    out.push_back({static_cast<int>(start), end});
    if (end == n) break;  // this window reached the end: no later one adds a position
  }
  return out;
}

}  // namespace rvj::runtime
