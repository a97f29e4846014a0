// The schedules' only source of threads: oneTBB, capped per call. Workers
// run plain C++ over plain buffers; they never see PostgreSQL.
#pragma once

#include <functional>

#include "ir/limits.h"

namespace rvj::runtime {

// Runs work(i) for i in [0, n) on up to `threads` threads (the caller's
// included). Worker threads block every signal; the caller's thread keeps
// its mask, so a cancel reaches the backend while workers run and they stop
// at their next rvj::check_cancel(). The first exception thrown by any
// work(i) is rethrown here, after the other blocks stopped.
void parallel_for_blocks(int n, int threads, const std::function<void(int)>& work);

}  // namespace rvj::runtime
