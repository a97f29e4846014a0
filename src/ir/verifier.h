#pragma once
#include "ir/ir.h"

namespace rvj::ir {
// Throws rvj::Error(Internal) naming the first malformed node.
void verify(const Function& fn);
}
