// Building blocks the kernel kinds share. Internal to src/codegen.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <llvm/IR/IRBuilder.h>

namespace rvj::codegen {

// for (iv = 0; iv < count; ++iv), count >= 1 (i64), with loop-carried values:
// body(iv, carried) returns their next state; the final state is returned.
std::vector<llvm::Value*> emit_loop(
    llvm::IRBuilder<>& b, llvm::Value* count, std::vector<llvm::Value*> carried, const std::string& name,
    const std::function<std::vector<llvm::Value*>(llvm::Value*, const std::vector<llvm::Value*>&)>& body);

// ir/exp32.h's exp on a vector of floats.
llvm::Value* emit_exp32(llvm::IRBuilder<>& b, llvm::Value* x);

// The halving fold of the canonical order (ir.h): partials held in `acc`
// (vectors of equal width, partial j * lanes + l in acc j lane l), folded
// across vectors and then across lanes; returns the scalar sum.
llvm::Value* emit_fold(llvm::IRBuilder<>& b, std::vector<llvm::Value*> acc);

}  // namespace rvj::codegen
