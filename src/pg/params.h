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
}
