// Mechanism parameters given as jsonb ('{"tau": 0.07}'), checked against the
// recipe's parameter list: unknown keys and non-numeric values are errors
// that name what is allowed.
#pragma once

#include "pg/vector.h"

extern "C" {
#include "utils/jsonb.h"
}

namespace rvj::pg {
// Fills params[0..specs.size()) with defaults overridden by `jb`. `specs`
// must be static registry data (no C++ object may be live here: this ERRORs).
void parse_params(Jsonb* jb, const char* owner, const std::vector<rvj::ir::ParamSpec>& specs, double* params);
inline void parse_params(Jsonb* jb, const rvj::ir::Mechanism& m, double* params) {
  parse_params(jb, m.name, m.params, params);
}

// The attention of a call that postgres_fdw must ship to a shard whole:
// '{"attention_type": "cosine", "params": {"tau": 0.07}}' (both keys
// optional: scaled_dot, {}). PostgreSQL 15's postgres_fdw ships no call with
// a text argument (an argument's collation must come from a foreign column),
// so the per-partition aggregates take the type inside jsonb.
struct AttentionOptions {
  const char* type;
  Jsonb* params;
};
AttentionOptions attention_options(Jsonb* jb, const char* function);
// The jsonb of attention_options for (type, params).
Jsonb* attention_options_jsonb(const char* type, Jsonb* params);
}
