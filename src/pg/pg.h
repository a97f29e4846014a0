// The one place PostgreSQL's headers are included. Every C++ header comes
// FIRST: libstdc++'s <cstdio>/<cstring> #undef PostgreSQL's printf/strerror
// redirections, so including them after postgres.h would silently lose them.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "ir/cancel.h"
#include "ir/errors.h"
#include "ir/limits.h"
#include "runtime/codegen_loader.h"
#include "runtime/engine.h"
#include "runtime/native.h"

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
}

// Declares a SQL-callable entry point, exported from the hidden-visibility module.
#define RVJ_FUNCTION(name)                                  \
  extern "C" {                                              \
  PG_FUNCTION_INFO_V1(name);                                \
  }                                                         \
  extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS)
