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

namespace detail {
inline std::atomic<InterruptProbe> interrupt_probe{nullptr};
}

// Installs the probe (null: never cancelled). Any thread may call the probe.
inline void set_interrupt_probe(InterruptProbe probe) { detail::interrupt_probe.store(probe); }

inline bool interrupt_pending() noexcept {
  const InterruptProbe probe = detail::interrupt_probe.load(std::memory_order_relaxed);
  return probe && probe();
}

// Throws rvj::Cancelled when an interrupt is pending. Cheap: call it between
// units of work of a few microseconds or more.
inline void check_cancel() {
  if (interrupt_pending()) throw Cancelled();
}

}  // namespace rvj
