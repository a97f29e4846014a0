// Memory the schedules write once and whole (a large result).
#pragma once

#include <cstddef>

namespace rvj::runtime {

// Asks the kernel to back the 2 MB pages inside [p, p + bytes) with huge
// pages on first touch (where transparent huge pages are in madvise mode):
// one fault per 2 MB instead of 512, for a fresh result of megabytes that
// is written at once. A hint, never an error: memory already touched (a
// heap block reused) keeps its pages.
void prefer_huge_pages(void* p, size_t bytes);

}  // namespace rvj::runtime
