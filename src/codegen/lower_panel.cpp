// The panel product kernel (ir::KernelKind::Panel) in LLVM IR: rows of one
// operand against packed panels of the other (the PanelFn contract in
// codegen/abi.h), the linear schedule's state products.
//
// A register block is R rows x V vectors of columns (schedule.h:
// panel_blocking): per element t, V column vectors are loaded, each row's
// element is broadcast, and R x V fmas update the sums. Every product is one
// f32 fma chain from 0 in element order, whatever the block, the vector
// width or the pass, so the bits are the same on every target and equal to
// runtime/dot_block's hand-written code.
//   for each pass of elements [t0, t1) (kPanelChunk):
//     whole blocks of R rows, columns in groups of V vectors (the last group
//     narrower); then each row left over, over up to row_vectors vectors.
// Each (rows, vectors) block is an internal function; the entry only loops.
#include <string>
#include <vector>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>

#include "codegen/emit.h"
#include "codegen/lower.h"
#include "codegen/schedule.h"
#include "ir/ir.h"

namespace rvj::codegen {

using namespace llvm;

namespace {

// for (iv = lo; iv < hi; iv += step): the body runs only when lo < hi.
void emit_range(IRBuilder<>& b, Value* lo, Value* hi, int64_t step, const std::string& name,
                const std::function<void(Value*)>& body) {
  LLVMContext& ctx = b.getContext();
  Function* f = b.GetInsertBlock()->getParent();
  BasicBlock* pre = b.GetInsertBlock();
  BasicBlock* head = BasicBlock::Create(ctx, name, f);
  BasicBlock* exit = BasicBlock::Create(ctx, name + ".end", f);
  b.CreateCondBr(b.CreateICmpSLT(lo, hi), head, exit);
  b.SetInsertPoint(head);
  PHINode* iv = b.CreatePHI(b.getInt64Ty(), 2, name + ".i");
  iv->addIncoming(lo, pre);
  body(iv);
  Value* next = b.CreateAdd(iv, b.getInt64(step), name + ".next", true, true);
  iv->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, hi), head, exit);
  b.SetInsertPoint(exit);
}

struct Types {
  Type *f32, *i64, *i1, *f32p;
  FixedVectorType* vf;
};

// block(a, ai, at, panels, n, j0, out, ld, t0, t1, first): rows a[0..R) x
// the V column vectors from column j0, elements [t0, t1) of their chains,
// continued from out unless `first`.
Function* emit_block(Module& mod, const Target& target, const Types& ty, int R, int V, const std::string& name) {
  LLVMContext& ctx = mod.getContext();
  auto* fty = FunctionType::get(Type::getVoidTy(ctx),
                                {ty.f32p, ty.i64, ty.i64, ty.f32p, ty.i64, ty.i64, ty.f32p, ty.i64, ty.i64, ty.i64, ty.i1},
                                false);
  Function* f = Function::Create(fty, Function::InternalLinkage, name, &mod);
  set_kernel_attributes(f, target);
  f->addParamAttr(0, Attribute::NoAlias);
  f->addParamAttr(3, Attribute::NoAlias);
  f->addParamAttr(6, Attribute::NoAlias);
  Value *a = f->getArg(0), *ai = f->getArg(1), *at = f->getArg(2), *panels = f->getArg(3), *n = f->getArg(4),
        *j0 = f->getArg(5), *out = f->getArg(6), *ld = f->getArg(7), *t0 = f->getArg(8), *t1 = f->getArg(9),
        *first = f->getArg(10);
  IRBuilder<> b(ctx);
  b.SetInsertPoint(BasicBlock::Create(ctx, "entry", f));
  Mem mem{b};
  const int W = static_cast<int>(ty.vf->getNumElements()), P = ir::kPanelWidth;
  // Column j lies in panel j / P at offset j % P; a panel is n x P floats.
  std::vector<Value*> col(V);
  for (int v = 0; v < V; ++v) {
    Value* j = b.CreateAdd(j0, mem.idx(v * W));
    Value* panel = b.CreateMul(b.CreateUDiv(j, mem.idx(P)), b.CreateMul(n, mem.idx(P)));
    col[v] = mem.at(ty.f32, panels, b.CreateAdd(panel, b.CreateURem(j, mem.idx(P))));
  }
  std::vector<Value*> dst(R * V), acc(R * V);
  Value* zero = ConstantFP::get(ty.vf, 0.0);
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      dst[r * V + v] = b.CreateAdd(b.CreateMul(mem.idx(r), ld), b.CreateAdd(j0, mem.idx(v * W)));
      acc[r * V + v] = b.CreateSelect(first, zero, mem.load_vec(ty.vf, ty.f32, out, dst[r * V + v]));
    }
  acc = emit_loop(b, b.CreateSub(t1, t0), acc, "t", [&](Value* iv, const std::vector<Value*>& s) {
    Value* t = b.CreateAdd(t0, iv);
    Value* row = b.CreateMul(t, mem.idx(P));
    std::vector<Value*> next = s, cv(V);
    for (int v = 0; v < V; ++v) cv[v] = mem.load_vec(ty.vf, ty.f32, col[v], row);
    for (int r = 0; r < R; ++r) {
      Value* e = b.CreateLoad(ty.f32, mem.at(ty.f32, a, b.CreateAdd(b.CreateMul(mem.idx(r), ai), b.CreateMul(t, at))));
      Value* bc = b.CreateVectorSplat(W, e);
      for (int v = 0; v < V; ++v) next[r * V + v] = mem.fma(bc, cv[v], s[r * V + v]);
    }
    return next;
  });
  for (int i = 0; i < R * V; ++i) mem.store_vec(acc[i], ty.f32, out, dst[i]);
  b.CreateRetVoid();
  return f;
}

}  // namespace

std::unique_ptr<Module> lower_panel(const ir::Function& fn, const Target& target, const std::string& symbol,
                                    LLVMContext& ctx) {
  auto mod = std::make_unique<Module>("rvj_panel_" + fn.name, ctx);
  mod->setTargetTriple(target.triple);
  const PanelBlocking k = panel_blocking(target);
  const int W = k.lanes;
  IRBuilder<> b(ctx);
  Types ty{b.getFloatTy(), b.getInt64Ty(), b.getInt1Ty(), PointerType::getUnqual(b.getFloatTy()),
           FixedVectorType::get(b.getFloatTy(), W)};

  // The blocks: R rows x 1..vectors, and 1 row x 1..row_vectors.
  std::vector<Function*> wide(k.vectors + 1), single(k.row_vectors + 1);
  for (int v = 1; v <= k.vectors; ++v)
    wide[v] = emit_block(*mod, target, ty, k.rows, v, "block_" + std::to_string(k.rows) + "x" + std::to_string(v));
  for (int v = 1; v <= k.row_vectors; ++v) single[v] = emit_block(*mod, target, ty, 1, v, "row_" + std::to_string(v));

  auto* fty = FunctionType::get(b.getVoidTy(),
                                {ty.f32p, ty.i64, ty.i64, ty.i64, ty.f32p, ty.i64, ty.f32p, ty.i64, ty.i64}, false);
  Function* f = Function::Create(fty, Function::ExternalLinkage, symbol, mod.get());
  set_kernel_attributes(f, target);
  f->addParamAttr(0, Attribute::NoAlias);
  f->addParamAttr(4, Attribute::NoAlias);
  f->addParamAttr(6, Attribute::NoAlias);
  Value *a = f->getArg(0), *ai = f->getArg(1), *at = f->getArg(2), *rows = f->getArg(3), *panels = f->getArg(4),
        *cols = f->getArg(5), *out = f->getArg(6), *ld = f->getArg(7), *n = f->getArg(8);
  b.SetInsertPoint(BasicBlock::Create(ctx, "entry", f));
  Mem mem{b};
  Value* vectors = b.CreateUDiv(b.CreateAdd(cols, mem.idx(W - 1)), mem.idx(W));
  Value* whole = b.CreateMul(b.CreateSDiv(rows, mem.idx(k.rows)), mem.idx(k.rows));

  // Calls blocks[min(max, vectors - v0)] (a switch over the widths).
  auto call_width = [&](const std::vector<Function*>& blocks, Value* v0, const std::vector<Value*>& args_of_width) {
    const int most = static_cast<int>(blocks.size()) - 1;
    Value* left = b.CreateSub(vectors, v0);
    Value* nv = b.CreateSelect(b.CreateICmpSLT(left, mem.idx(most)), left, mem.idx(most));
    Function* cur = b.GetInsertBlock()->getParent();
    BasicBlock* done = BasicBlock::Create(ctx, "width.end", cur);
    SwitchInst* sw = b.CreateSwitch(nv, done, most);
    for (int v = 1; v <= most; ++v) {
      BasicBlock* bb = BasicBlock::Create(ctx, "width" + std::to_string(v), cur);
      sw->addCase(b.getInt64(v), bb);
      b.SetInsertPoint(bb);
      b.CreateCall(blocks[v], args_of_width);
      b.CreateBr(done);
    }
    b.SetInsertPoint(done);
  };

  emit_range(b, mem.idx(0), n, kPanelChunk, "pass", [&](Value* t0) {
    Value* end = b.CreateAdd(t0, mem.idx(kPanelChunk));
    Value* t1 = b.CreateSelect(b.CreateICmpSLT(end, n), end, n);
    Value* first = b.CreateICmpEQ(t0, mem.idx(0));
    emit_range(b, mem.idx(0), vectors, k.vectors, "cols", [&](Value* v0) {
      Value* j0 = b.CreateMul(v0, mem.idx(W));
      emit_range(b, mem.idx(0), whole, k.rows, "rows", [&](Value* i0) {
        call_width(wide, v0,
                   {mem.at(ty.f32, a, b.CreateMul(i0, ai)), ai, at, panels, n, j0,
                    mem.at(ty.f32, out, b.CreateMul(i0, ld)), ld, t0, t1, first});
      });
    });
    emit_range(b, whole, rows, 1, "row", [&](Value* i) {
      emit_range(b, mem.idx(0), vectors, k.row_vectors, "rcols", [&](Value* v0) {
        call_width(single, v0,
                   {mem.at(ty.f32, a, b.CreateMul(i, ai)), ai, at, panels, n, b.CreateMul(v0, mem.idx(W)),
                    mem.at(ty.f32, out, b.CreateMul(i, ld)), ld, t0, t1, first});
      });
    });
  });
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen
