// Runs IR directly, slowly and obviously: the JIT-off path and the oracle
// that codegen tests compare against.
#pragma once
#include "ir/ir.h"

namespace rvj::ir {
// inputs[i] points at dims floats; params has num_params values; out receives
// num_outputs values.
void interpret(const Function& fn, const float* const* inputs, const double* params, double* out);
}
