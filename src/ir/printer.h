#pragma once
#include <string>
#include "ir/ir.h"

namespace rvj::ir {
// Human-readable text of a function; also its canonical form for hashing.
std::string print(const Function& fn);
}
