// The schedules' only source of threads: oneTBB, capped per call. Workers
// run plain C++ over plain buffers; they never see PostgreSQL.
#pragma once

#include <functional>

namespace rvj::runtime {

// Runs work(i) for i in [0, n) on up to `threads` threads (the caller's
// included). Asynchronous signals are blocked while workers run, so that no
// PostgreSQL signal handler can run on a worker thread (new workers inherit
// the mask); signals that arrive meanwhile are delivered when it returns.
// The first exception thrown by any work(i) is rethrown here.
void parallel_for_blocks(int n, int threads, const std::function<void(int)>& work);

}  // namespace rvj::runtime
