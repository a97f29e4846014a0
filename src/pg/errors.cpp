#include "pg/errors.h"

namespace rvj::pg {

void capture(EngineError& err, const std::exception* e, const rvj::Error* typed, bool oom) noexcept {
  const char* what = e ? e->what() : "unknown C++ exception";
  snprintf(err.message, sizeof err.message, "%s", what);
  err.hint[0] = '\0';
  if (typed) {
    snprintf(err.hint, sizeof err.hint, "%s", typed->hint().c_str());
    switch (typed->kind()) {
      case ErrorKind::InvalidArgument: err.sqlstate = ERRCODE_INVALID_PARAMETER_VALUE; break;
      case ErrorKind::DataException: err.sqlstate = ERRCODE_DATA_EXCEPTION; break;
      case ErrorKind::OutOfRange: err.sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE; break;
      case ErrorKind::Unsupported: err.sqlstate = ERRCODE_FEATURE_NOT_SUPPORTED; break;
      case ErrorKind::LimitExceeded: err.sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED; break;
      case ErrorKind::CompileFailure:
      case ErrorKind::Internal: err.sqlstate = ERRCODE_INTERNAL_ERROR; break;
    }
  } else {
    err.sqlstate = oom ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR;
  }
}

bool interrupt_probe() noexcept {
  // What ProcessInterrupts() would act on: a cancel (statement_timeout,
  // pg_cancel_backend) or a termination, when not held off. Plain reads of
  // sig_atomic_t flags: safe from any thread.
  return (QueryCancelPending || ProcDiePending) && InterruptHoldoffCount == 0 && CritSectionCount == 0 &&
         (ProcDiePending || QueryCancelHoldoffCount == 0);
}

void report_notices() {
  if (!rvj::runtime::backend_cache().has_notices()) return;
  struct Copy {
    bool warning;
    char text[1024];
  } copies[8];
  int n = 0;
  EngineError err;
  // Copy out of the C++ objects first; report after they are gone.
  engine_try(err, [&] {
    for (const rvj::runtime::Notice& notice : rvj::runtime::backend_cache().take_notices()) {
      if (n == 8) break;
      copies[n].warning = notice.warning;
      snprintf(copies[n].text, sizeof copies[n].text, "%s", notice.text.c_str());
      n++;
    }
  });
  for (int i = 0; i < n; i++) ereport(copies[i].warning ? WARNING : LOG, (errmsg("%s", copies[i].text)));
}

void raise(const EngineError& err) {
  if (err.cancelled) {
    // The probe saw QueryCancelPending or ProcDiePending: PostgreSQL's own
    // cancel, timeout or termination error, with its own message.
    CHECK_FOR_INTERRUPTS();
    ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to a pending interrupt")));
  }
  ereport(ERROR, (errcode(err.sqlstate), errmsg("%s", err.message),
                  err.hint[0] ? errhint("%s", err.hint) : 0));
  pg_unreachable();
}

}  // namespace rvj::pg
