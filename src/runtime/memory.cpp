#include "runtime/memory.h"

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace rvj::runtime {

void prefer_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
// The mapping behind an aligned start: up to 2 MB before it, whole.
size_t mapped_size(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage + kHugePage; }
}  // namespace

void* map_huge(size_t bytes) {
#if defined(__linux__)
  const size_t size = mapped_size(bytes);
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  // Trim to a 2 MB-aligned window so that every page of it can be huge.
  const uintptr_t base = reinterpret_cast<uintptr_t>(m);
  const uintptr_t start = (base + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  const size_t window = size - kHugePage;
  if (start > base) munmap(m, start - base);
  if (base + size > start + window) munmap(reinterpret_cast<void*>(start + window), base + size - (start + window));
  prefer_huge_pages(reinterpret_cast<void*>(start), window);
  return reinterpret_cast<void*>(start);
#else
  (void)bytes;
  return nullptr;
#endif
}

void unmap_huge(void* p, size_t bytes) {
#if defined(__linux__)
  if (p) munmap(p, mapped_size(bytes) - kHugePage);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace rvj::runtime
