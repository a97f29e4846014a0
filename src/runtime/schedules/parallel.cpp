#include "runtime/schedules/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <thread>

#include <pthread.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>
#include <tbb/task_arena.h>
#include <tbb/task_scheduler_observer.h>

#include "ir/limits.h"

namespace rvj::runtime {

namespace {
void block_all_signals(sigset_t* old = nullptr) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, old);
}

// Every TBB worker blocks every signal when it joins one of our arenas, so
// PostgreSQL's handlers only ever run on the backend's own thread (which
// keeps its mask: a cancel or SIGTERM lands there while workers run, and the
// workers see it through the interrupt probe).
class BlockSignalsInWorkers : public tbb::task_scheduler_observer {
 public:
  explicit BlockSignalsInWorkers(tbb::task_arena& a) : tbb::task_scheduler_observer(a) { observe(true); }
  void on_scheduler_entry(bool is_worker) override {
    if (is_worker) block_all_signals();
  }
};

// One arena per thread cap, each created on first use (never in the
// postmaster: schedules only run in backends) and kept.
tbb::task_arena& arena(int threads) {
  // Kept for the process's life (reachable: no leak), like the JIT.
  struct Pool {
    tbb::task_arena* arena;
    BlockSignalsInWorkers* observer;
  };
  static Pool pools[ir::kMaxThreads + 1] = {};
  threads = std::clamp(threads, 1, ir::kMaxThreads);
  if (!pools[threads].arena) {
    // Workers are created while this thread blocks every signal, so they
    // start with the full mask (a thread inherits its creator's); the
    // observer covers workers created later.
    sigset_t old;
    block_all_signals(&old);
    auto* a = new tbb::task_arena(threads);
    a->initialize();
    auto* observer = new BlockSignalsInWorkers(*a);
    std::atomic<int> joined{0};
    a->execute([&] {
      tbb::parallel_for(0, threads, [&](int) {
        ++joined;
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
        while (joined.load() < threads && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      });
    });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pools[threads] = {a, observer};
  }
  return *pools[threads].arena;
}
}  // namespace

void parallel_for_blocks(int n, int threads, const std::function<void(int)>& work) {
  if (threads <= 1 || n <= 1) {
    for (int i = 0; i < n; ++i) work(i);
    return;
  }
  // Work on other threads stops at the first failure (a cancel included):
  // the rest of the blocks are skipped, and the failure is rethrown here.
  std::exception_ptr failure;
  std::atomic<bool> failed{false};
  arena(threads).execute([&] {
    tbb::parallel_for(0, n, [&](int i) {
      if (failed.load(std::memory_order_relaxed)) return;
      try {
        work(i);
      } catch (...) {
        if (!failed.exchange(true)) failure = std::current_exception();
      }
    });
  });
  if (failure) std::rethrow_exception(failure);
}

struct BackgroundBlocks::State {
  tbb::task_arena* arena = nullptr;
  tbb::task_group group;
  std::function<void(int)> work;
  std::exception_ptr failure;
  std::atomic<bool> failed{false}, running{false};
};

BackgroundBlocks::BackgroundBlocks() : state_(std::make_unique<State>()) {}

BackgroundBlocks::~BackgroundBlocks() {
  if (!state_->running) return;
  state_->failed = true;  // blocks not yet started are skipped
  try {
    wait();
  } catch (...) {
  }
}

void BackgroundBlocks::start(int n, int threads, std::function<void(int)> work) {
  State& s = *state_;
  s.work = std::move(work);
  s.failure = nullptr;
  s.failed = false;
  s.running = true;
  s.arena = &arena(std::max(threads, 2));
  s.arena->execute([&s, n] {
    s.group.run([&s, n] {
      tbb::parallel_for(0, n, [&s](int i) {
        if (s.failed.load(std::memory_order_relaxed)) return;
        try {
          s.work(i);
        } catch (...) {
          if (!s.failed.exchange(true)) s.failure = std::current_exception();
        }
      });
    });
  });
}

void BackgroundBlocks::wait() {
  State& s = *state_;
  if (!s.running) return;
  s.arena->execute([&s] { s.group.wait(); });
  s.running = false;
  if (s.failure) {
    std::exception_ptr f = s.failure;
    s.failure = nullptr;
    std::rethrow_exception(f);
  }
}

}  // namespace rvj::runtime
