// IR -> LLVM IR. Internal to src/codegen (it exposes LLVM types).
// The reductions are vectorised here explicitly: vector width and register
// blocking come from the Target, so each ISA gets its own schedule.
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
// All reductions run in one fused loop over dims (a constant), with
// reassociation allowed so the vectoriser can split them into lanes; the
// scalar epilogue keeps strict IEEE semantics.
std::unique_ptr<llvm::Module> lower(const ir::Function& fn, const Target& target,
                                    const std::string& symbol, llvm::LLVMContext& ctx);

}  // namespace rvj::codegen
