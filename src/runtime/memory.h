// Memory the schedules write once and whole (a large result), and large
// buffers a call fills once (a TOASTed argument).
#pragma once

#include <cstddef>

namespace rvj::runtime {

// Asks the kernel to back the 2 MB pages inside [p, p + bytes) with huge
// pages on first touch (where transparent huge pages are in madvise mode):
// one fault per 2 MB instead of 512, for a fresh result of megabytes that
// is written at once. A hint, never an error: memory already touched (a
// heap block reused) keeps its pages.
void prefer_huge_pages(void* p, size_t bytes);

// A fresh mapping of at least `bytes`, its start aligned to 2 MB and
// backed by huge pages where the kernel grants them (prefer_huge_pages), for
// a large buffer read once per call; null when the kernel refuses. Release
// with unmap_huge(p, bytes).
void* map_huge(size_t bytes);
void unmap_huge(void* p, size_t bytes);

}  // namespace rvj::runtime
