// The C/C++ boundary. Engine work runs inside engine_try(): every C++
// exception is caught there and copied into a plain struct; the caller
// raises the PostgreSQL ERROR only after the C++ scope has closed, so no
// longjmp ever crosses a live C++ object and no exception reaches C frames.
#pragma once

#include "pg/pg.h"

namespace rvj::pg {

struct EngineError {
  int sqlstate = 0;
  bool cancelled = false;  // rvj::Cancelled: PostgreSQL raises its own error
  char message[1024] = {};
  char hint[1024] = {};
};

void capture(EngineError& err, const std::exception* e, const rvj::Error* typed, bool oom) noexcept;

// Runs f; returns false (with err filled) if it threw.
template <typename F>
bool engine_try(EngineError& err, F&& f) noexcept {
  try {
    f();
    return true;
  } catch (const rvj::Cancelled&) {
    err.cancelled = true;
  } catch (const rvj::Error& e) {
    capture(err, &e, &e, false);
  } catch (const std::bad_alloc& e) {
    capture(err, &e, nullptr, true);
  } catch (const std::exception& e) {
    capture(err, &e, nullptr, false);
  } catch (...) {
    capture(err, nullptr, nullptr, false);
  }
  return false;
}

// The probe the engine polls (rvj::set_interrupt_probe, in _PG_init).
bool interrupt_probe() noexcept;

// ereport(ERROR) from a captured engine error. Call with no live C++ objects.
[[noreturn]] void raise(const EngineError& err);

// Reports what the engine noticed on the way (the disk cache's warnings) as
// WARNING or LOG. Cheap when there is nothing: one branch.
void report_notices();

// Convenience: run f and raise on failure. f's temporaries are gone before
// raise() runs because engine_try() has returned.
#define RVJ_ENGINE(...)                                                \
  do {                                                                 \
    ::rvj::pg::EngineError rvj_err_;                                   \
    if (!::rvj::pg::engine_try(rvj_err_, [&]() { __VA_ARGS__; }))      \
      ::rvj::pg::raise(rvj_err_);                                      \
    ::rvj::pg::report_notices();                                       \
  } while (0)

}  // namespace rvj::pg
