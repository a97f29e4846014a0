// IR -> LLVM IR. Internal to src/codegen (it exposes LLVM types).
// The reductions are vectorised here explicitly: the vector width comes from
// the Target, the order of the arithmetic from the IR.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <vector>

#include <llvm/IR/IRBuilder.h>
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
// interpreter's on every target. Vector outputs (ir.h: written through
// inputs[num_inputs + j]) are computed after the scalar epilogue by a second
// loop over dims, elementwise in f64 lanes.
// Tile, Query, Panel and Features kernels are lowered by lower_tile,
// lower_query, lower_panel and lower_features, with the TileFn, QueryFn,
// PanelFn and FeatureFn conventions of codegen/abi.h.
std::unique_ptr<llvm::Module> lower(const ir::Function& fn, const Target& target,
                                    const std::string& symbol, llvm::LLVMContext& ctx);
std::unique_ptr<llvm::Module> lower_query(const ir::Function& fn, const Target& target,
                                          const std::string& symbol, llvm::LLVMContext& ctx);
std::unique_ptr<llvm::Module> lower_features(const ir::Function& fn, const Target& target,
                                             const std::string& symbol, llvm::LLVMContext& ctx);
std::unique_ptr<llvm::Module> lower_panel(const ir::Function& fn, const Target& target,
                                          const std::string& symbol, llvm::LLVMContext& ctx);
std::unique_ptr<llvm::Module> lower_tile(const ir::Function& fn, const Target& target,
                                         const std::string& symbol, llvm::LLVMContext& ctx);

// One scalar op of the IR (not Input/Param/Dot/SqDist/Output) on values of
// type `ty`: f64, or a vector of f64 when a tile evaluates a score lane-wise.
// One lowering for both, so a lane computes exactly what a row kernel does.
llvm::Value* emit_scalar_op(llvm::IRBuilder<>& b, const ir::Node& node, const std::vector<llvm::Value*>& val,
                            llvm::Type* ty, llvm::FunctionCallee log1p_fn);

// The score program after its reductions, on vectors whose lanes are
// independent (query, key) pairs: lane-wise in f64, the ops the Row kernel
// runs per pair (emit_scalar_op), the logit rounded to f32. reduction(id)
// gives the f32 vector of reduction node id; param(id) and position() the
// f64 vectors of a Param node and of the Position op.
llvm::Value* emit_score_lanes(llvm::IRBuilder<>& b, const ir::Function& fn, llvm::Type* vd,
                              const std::function<llvm::Value*(int)>& reduction,
                              const std::function<llvm::Value*(int)>& param,
                              const std::function<llvm::Value*()>& position);
// The same, the logit left in f64 (the sigmoid tile adds its bias first).
llvm::Value* emit_logit_lanes(llvm::IRBuilder<>& b, const ir::Function& fn, llvm::Type* vd,
                              const std::function<llvm::Value*(int)>& reduction,
                              const std::function<llvm::Value*(int)>& param,
                              const std::function<llvm::Value*()>& position);


// CPU, features, vector width, nounwind: every kernel function has them.
void set_kernel_attributes(llvm::Function* f, const Target& target);

[[noreturn]] void fail_internal(const std::string& what);

}  // namespace rvj::codegen
