// Mechanism parameters given as jsonb ('{"tau": 0.07}'), checked against the
// recipe's parameter list: unknown keys and non-numeric values are errors
// that name what is allowed.
#pragma once

#include "pg/vector.h"

extern "C" {
#include "utils/jsonb.h"
}

namespace rvj::pg {
// Fills params[0..m.params.size()) with defaults overridden by `jb`.
void parse_params(Jsonb* jb, const rvj::ir::Mechanism& m, double* params);
}
