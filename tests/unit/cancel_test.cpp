// Cancellation: every long path polls the probe between bounded units of
// work and stops with rvj::Cancelled; TBB workers block signals, the calling
// thread never does.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "codegen/jit.h"
#include "ir/cancel.h"
#include "ir/recipes/sequence.h"
#include "runtime/schedules/flash.h"
#include "runtime/schedules/linear.h"
#include "runtime/schedules/parallel.h"

using namespace rvj;
using namespace rvj::runtime;

namespace {
std::atomic<int> polls{0};
std::atomic<int> cancel_after{-1};  // the probe says "pending" from this poll on
bool counting_probe() noexcept {
  const int n = polls.fetch_add(1);
  return cancel_after >= 0 && n >= cancel_after;
}

struct ProbeScope {
  explicit ProbeScope(int after) {
    polls = 0;
    cancel_after = after;
    set_interrupt_probe(counting_probe);
  }
  ~ProbeScope() { set_interrupt_probe(nullptr); }
};

// SigBlk of a thread of this process, from /proc.
std::string blocked_mask(const std::string& tid) {
  std::ifstream in("/proc/self/task/" + tid + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("SigBlk:", 0) == 0) return line.substr(7);
  return "";
}

struct Rows {
  std::vector<float> data;
  std::vector<const float*> rows;
  Rows(int n, int d) : data(static_cast<size_t>(n) * d), rows(n) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>((i * 7919) % 13) / 13.0f - 0.5f;
    for (int i = 0; i < n; ++i) rows[i] = data.data() + static_cast<size_t>(i) * d;
  }
};

// Runs `mechanism` over L queries and S keys of d dims until the probe fires
// at poll `after`; returns whether it stopped with Cancelled.
bool cancels(const char* mechanism, int L, int S, int d, int after, int threads = 1) {
  const ir::SequenceMechanism& m = *ir::find_sequence_mechanism(mechanism);
  std::vector<double> p(m.params.size());
  ir::default_params(m.params, p.data());
  SequencePlan plan = plan_sequence(m, p.data(), L, S, d, d, d);
  Rows q(L, d), k(S, d);
  std::vector<float> out(static_cast<size_t>(L) * plan.out_dims());
  ProbeScope probe(after);
  try {
    if (m.schedule == ir::Schedule::Linear) {
      std::vector<double> state(linear_state_size(plan));
      linear_init(plan, state.data());
      linear_add_keys(plan, k.rows.data(), k.rows.data(), 0, S, state.data());
      run_linear(plan, plan.params.eps, q.rows.data(), k.rows.data(), k.rows.data(), 0, L, state.data(), out.data(),
                 plan.out_dims());
    } else {
      Bound score = bind_sequence(plan, true);
      run_flash_parallel(plan, score, q.rows.data(), k.rows.data(), k.rows.data(), 0, L, out.data(), threads);
    }
  } catch (const Cancelled&) {
    return polls.load() > after;
  }
  return false;
}
}  // namespace

TEST(Cancel, EveryPathStopsAtAPoll) {
  // Tile, single query, per-row (poincare), normaliser, linear: each polls
  // per key block or row, so a cancel at the 3rd poll ends the call.
  EXPECT_TRUE(cancels("scaled_dot", 64, 512, 16, 3));
  EXPECT_TRUE(cancels("scaled_dot", 1, 512, 16, 3));
  EXPECT_TRUE(cancels("poincare", 8, 512, 4, 3));
  EXPECT_TRUE(cancels("sparsemax", 8, 20000, 4, 3));
  EXPECT_TRUE(cancels("linear", 64, 512, 8, 3));
  EXPECT_TRUE(cancels("scaled_dot", 256, 512, 16, 3, 2));  // on worker threads too
  // Without a pending interrupt, nothing is cancelled.
  EXPECT_FALSE(cancels("scaled_dot", 64, 512, 16, -1));
}

TEST(Cancel, ACompileStopsBetweenItsPhases) {
  ProbeScope probe(1);  // the second poll: after lowering
  EXPECT_THROW(codegen::compile(ir::build_scaled_dot(33)), Cancelled);
  EXPECT_GE(polls.load(), 2);
  set_interrupt_probe(nullptr);
  EXPECT_NE(codegen::compile(ir::build_scaled_dot(33)).fn, nullptr);  // the JIT is fine afterwards
}

TEST(Cancel, WorkersBlockSignalsAndTheCallerDoesNot) {
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  std::atomic<int> running{0};
  parallel_for_blocks(8, 2, [&](int) {
    ++running;
    for (int spin = 0; spin < 2000000 && running < 2; ++spin) asm volatile("");
  });
  const std::string self = std::to_string(gettid());
  DIR* d = opendir("/proc/self/task");
  ASSERT_NE(d, nullptr);
  int workers = 0;
  while (dirent* e = readdir(d)) {
    const std::string tid = e->d_name;
    if (tid == "." || tid == "..") continue;
    const unsigned long long mask = std::stoull(blocked_mask(tid), nullptr, 16);
    if (tid == self) {
      EXPECT_EQ(mask, 0u) << "the calling thread blocks signals";
      continue;
    }
    // Every other thread here is a TBB worker: PostgreSQL's signals blocked.
    for (int sig : {SIGINT, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT})
      EXPECT_TRUE(mask >> (sig - 1) & 1) << "thread " << tid << " takes signal " << sig;
    ++workers;
  }
  closedir(d);
  EXPECT_GE(workers, 1);
}
