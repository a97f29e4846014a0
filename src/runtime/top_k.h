// The k best of a stream, in a caller-owned array (so a PostgreSQL aggregate
// can keep it in its flat state): a min-heap whose root is the worst kept
// entry. Higher value wins; equal values keep the smaller key, so the result
// does not depend on the order rows arrive in.
#pragma once

#include <algorithm>
#include <cstdint>

namespace rvj::runtime {

struct TopEntry {
  double value;
  int64_t key;
};

// a ranks before b.
inline bool ranks_before(const TopEntry& a, const TopEntry& b) {
  return a.value > b.value || (a.value == b.value && a.key < b.key);
}

// Offers e to heap[0..*size) of capacity k; true if it was kept.
inline bool top_k_offer(TopEntry* heap, int* size, int k, TopEntry e) {
  if (*size < k) {
    heap[(*size)++] = e;
    std::push_heap(heap, heap + *size, ranks_before);
    return true;
  }
  if (k == 0 || !ranks_before(e, heap[0])) return false;
  std::pop_heap(heap, heap + k, ranks_before);
  heap[k - 1] = e;
  std::push_heap(heap, heap + k, ranks_before);
  return true;
}

// The smallest value a new entry must beat (or tie) to be kept.
inline double top_k_floor(const TopEntry* heap, int size, int k) {
  return size < k ? -__builtin_inf() : heap[0].value;
}

// Sorts heap[0..size) best first (it is no longer a heap).
inline void top_k_sort(TopEntry* heap, int size) { std::sort_heap(heap, heap + size, ranks_before); }

}  // namespace rvj::runtime
