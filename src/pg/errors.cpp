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
      case ErrorKind::Unsupported: err.sqlstate = ERRCODE_FEATURE_NOT_SUPPORTED; break;
      case ErrorKind::CompileFailure:
      case ErrorKind::Internal: err.sqlstate = ERRCODE_INTERNAL_ERROR; break;
    }
  } else {
    err.sqlstate = oom ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR;
  }
}

void raise(const EngineError& err) {
  ereport(ERROR, (errcode(err.sqlstate), errmsg("%s", err.message),
                  err.hint[0] ? errhint("%s", err.hint) : 0));
  pg_unreachable();
}

}  // namespace rvj::pg
