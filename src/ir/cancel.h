// Cancellation, shared by every layer that runs long: the schedules' steps
// (on any thread) and the code generator's compile phases poll one probe,
// which src/pg installs to read the backend's pending cancel or termination.
// A poll that finds one throws rvj::Cancelled; src/pg then lets PostgreSQL
// raise its own error once every C++ frame is gone.
#pragma once

#include <atomic>

#include "ir/errors.h"

namespace rvj {

using InterruptProbe = bool (*)() noexcept;

// The probe and the test delay. A module loaded later (the LLVM code
// generator, its own copy of these inlines) is pointed at its host's state.
struct CancelState {
  std::atomic<InterruptProbe> probe{nullptr};
  std::atomic<int> poll_delay_us{0};
};

namespace detail {
inline CancelState own_cancel_state;
inline std::atomic<CancelState*> cancel_state{&own_cancel_state};
void sleep_us(int us);
}  // namespace detail

inline CancelState* cancel_state() { return detail::cancel_state.load(std::memory_order_relaxed); }
inline void share_cancel_state(CancelState* state) { detail::cancel_state.store(state); }

// Installs the probe (null: never cancelled). Any thread may call the probe.
inline void set_interrupt_probe(InterruptProbe probe) { cancel_state()->probe.store(probe); }

// Tests only: every check_cancel() first sleeps `us` microseconds, so that a
// short call runs long enough to be cancelled at a known place.
inline void set_poll_delay_for_testing(int us) { cancel_state()->poll_delay_us.store(us); }

inline bool interrupt_pending() noexcept {
  const InterruptProbe probe = cancel_state()->probe.load(std::memory_order_relaxed);
  return probe && probe();
}

// Throws rvj::Cancelled when an interrupt is pending. Cheap: call it between
// units of work of a few microseconds or more.
inline void check_cancel() {
  if (const int us = cancel_state()->poll_delay_us.load(std::memory_order_relaxed)) detail::sleep_us(us);
  if (interrupt_pending()) throw Cancelled();
}

}  // namespace rvj
