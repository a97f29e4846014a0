// The schedules' only source of threads: oneTBB, capped per call. Workers
// run plain C++ over plain buffers; they never see PostgreSQL.
#pragma once

#include <exception>
#include <functional>
#include <memory>

#include "ir/limits.h"

namespace rvj::runtime {

// Runs work(i) for i in [0, n) on up to `threads` threads (the caller's
// included). Worker threads block every signal; the caller's thread keeps
// its mask, so a cancel reaches the backend while workers run and they stop
// at their next rvj::check_cancel(). The first exception thrown by any
// work(i) is rethrown here, after the other blocks stopped.
void parallel_for_blocks(int n, int threads, const std::function<void(int)>& work);

// The same in the background: start() hands the blocks to up to threads - 1
// worker threads and returns, so the caller can go on (fetching the next
// rows); wait() joins in until they are done and rethrows the first
// failure. The destructor stops the blocks not yet started and waits,
// ignoring failures, so the work never outlives what it reads.
class BackgroundBlocks {
 public:
  BackgroundBlocks();
  ~BackgroundBlocks();
  BackgroundBlocks(const BackgroundBlocks&) = delete;
  BackgroundBlocks& operator=(const BackgroundBlocks&) = delete;
  void start(int n, int threads, std::function<void(int)> work);
  void wait();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rvj::runtime
