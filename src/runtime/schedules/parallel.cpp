#include "runtime/schedules/parallel.h"

#include <algorithm>
#include <csignal>
#include <exception>
#include <memory>

#include <pthread.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace rvj::runtime {

namespace {
// One arena per thread cap (1..64, the GUC's range), each created on first
// use (never in the postmaster: schedules only run in backends) and kept.
tbb::task_arena& arena(int threads) {
  static tbb::task_arena* arenas[65] = {};
  threads = std::min(std::max(threads, 1), 64);
  if (!arenas[threads]) arenas[threads] = new tbb::task_arena(threads);
  return *arenas[threads];
}
}  // namespace

void parallel_for_blocks(int n, int threads, const std::function<void(int)>& work) {
  if (threads <= 1 || n <= 1) {
    for (int i = 0; i < n; ++i) work(i);
    return;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::exception_ptr failure;
  try {
    arena(threads).execute([&] { tbb::parallel_for(0, n, [&](int i) { work(i); }); });
  } catch (...) {
    failure = std::current_exception();
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace rvj::runtime
