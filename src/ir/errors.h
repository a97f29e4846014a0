// The engine's typed errors. src/pg maps each kind to a SQLSTATE; nothing
// else in the engine knows about PostgreSQL.
#pragma once

#include <stdexcept>
#include <string>

namespace rvj {

enum class ErrorKind {
  InvalidArgument,  // 22023 invalid_parameter_value
  DataException,    // 22000-class: bad values inside vectors
  OutOfRange,       // 22003 numeric_value_out_of_range: float32 arithmetic overflowed
  Unsupported,      // 0A000 feature_not_supported
  LimitExceeded,    // 54000 program_limit_exceeded: a documented limit (ir/limits.h, a memory budget)
  CompileFailure,   // XX000 internal_error, from LLVM
  Internal,         // XX000
};

// Thrown by a schedule step (on any thread) when the backend has a cancel or
// termination pending (runtime/interrupts.h); src/pg then lets PostgreSQL
// raise its own error for it.
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "canceled"; }
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string hint = {})
      : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& hint() const { return hint_; }

 private:
  ErrorKind kind_;
  std::string hint_;
};

}  // namespace rvj
