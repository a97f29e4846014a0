// Building blocks the kernel kinds share. Internal to src/codegen.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <llvm/IR/IRBuilder.h>

#include "codegen/isa.h"

namespace rvj::codegen {

// for (iv = 0; iv < count; ++iv), count >= 1 (i64), with loop-carried values:
// body(iv, carried) returns their next state; the final state is returned.
std::vector<llvm::Value*> emit_loop(
    llvm::IRBuilder<>& b, llvm::Value* count, std::vector<llvm::Value*> carried, const std::string& name,
    const std::function<std::vector<llvm::Value*>(llvm::Value*, const std::vector<llvm::Value*>&)>& body);

// Memory access through LLVM 14's typed pointers, and fma: the vocabulary
// the kernel kinds' lowerings share.
struct Mem {
  llvm::IRBuilder<>& b;
  llvm::Value* idx(int64_t i) { return b.getInt64(i); }
  llvm::Value* at(llvm::Type* elem, llvm::Value* base, llvm::Value* index);
  llvm::Value* load_vec(llvm::Type* vty, llvm::Type* elem, llvm::Value* base, llvm::Value* index);
  void store_vec(llvm::Value* v, llvm::Type* elem, llvm::Value* base, llvm::Value* index);
  llvm::Value* fma(llvm::Value* x, llvm::Value* y, llvm::Value* z);
  // count (<= lanes of vty) floats of a row from element e0, the rest 0: a
  // masked load when the row ends inside the vector, never past its end.
  llvm::Value* load_row(llvm::Type* vty, llvm::Value* row, int e0, int count);
};

// ir/exp32.h's exp on a vector of floats, for x <= 0 (or NaN).
llvm::Value* emit_exp32(llvm::IRBuilder<>& b, llvm::Value* x, const Target& target);
// ir/exp32.h's sigmoid32 on a vector of floats (exp32 of -|x|, one division).
llvm::Value* emit_sigmoid32(llvm::IRBuilder<>& b, llvm::Value* x, const Target& target);

// ir/tanh64.h's tanh on a vector of doubles.
llvm::Value* emit_tanh64(llvm::IRBuilder<>& b, llvm::Value* x);

// The halving fold of the canonical order (ir.h): partials held in `acc`
// (vectors of equal width, partial j * lanes + l in acc j lane l), folded
// across vectors and then across lanes; returns the scalar sum.
llvm::Value* emit_fold(llvm::IRBuilder<>& b, std::vector<llvm::Value*> acc);

}  // namespace rvj::codegen
