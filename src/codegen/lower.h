// IR -> LLVM IR. Internal to src/codegen (it exposes LLVM types).
// The reductions are vectorised here explicitly: the vector width comes from
// the Target, the order of the arithmetic from the IR.
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "codegen/isa.h"
#include "ir/ir.h"

namespace rvj::codegen {

// Emits `symbol` with the kernel ABI
//   void symbol(const float* const* inputs, const double* params, double* out)
// All reductions run in one loop over dims (a constant), in the canonical
// order of ir::reduction_partials, held in the target's vector registers;
// everything is strict IEEE, so the result is bit-identical to the
// interpreter's on every target.
std::unique_ptr<llvm::Module> lower(const ir::Function& fn, const Target& target,
                                    const std::string& symbol, llvm::LLVMContext& ctx);

}  // namespace rvj::codegen
