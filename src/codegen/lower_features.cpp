// The feature map kernel (ir::KernelKind::Features) in LLVM IR: phi over a
// row in one pass (the FeatureFn contract in codegen/abi.h), the arithmetic
// of ir::feature_map32 on vectors of the target's width, then one element
// at a time for the tail. Every lane computes what the scalar form does
// (ordered compares, selects, exp32 as emit_exp32), so the bits are the
// same on every target.
#include <string>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>

#include "codegen/emit.h"
#include "codegen/lower.h"
#include "ir/feature_map.h"
#include "ir/ir.h"

namespace rvj::codegen {

using namespace llvm;

namespace {

// phi of the lanes of x (a vector of floats): one vector, or two for
// cosFormer's (cos, sin) halves. c0 and c1: the constants, splat.
std::pair<Value*, Value*> emit_map(IRBuilder<>& b, ir::FeatureMap f, Value* x, Value* c0, Value* c1,
                                   const Target& target) {
  Type* vt = x->getType();
  auto k = [&](float v) { return ConstantFP::get(vt, v); };
  Value* positive = b.CreateFCmpOGT(x, k(0.0f));
  switch (f) {
    case ir::FeatureMap::EluPlus1: {
      Value* e = emit_exp32(b, b.CreateSelect(b.CreateFCmpOLT(x, k(0.0f)), x, k(0.0f)), target);
      return {b.CreateFAdd(b.CreateSelect(positive, x, k(0.0f)), b.CreateSelect(positive, k(1.0f), e)), nullptr};
    }
    case ir::FeatureMap::CosFormer: {
      Value* r = b.CreateSelect(positive, x, k(0.0f));
      return {b.CreateFMul(r, c0), b.CreateFMul(r, c1)};
    }
    case ir::FeatureMap::Favor: {
      Value* above44 = b.CreateFCmpOGT(x, k(44.0f));
      Value* t = b.CreateFAdd(b.CreateSelect(positive, k(44.0f), k(0.0f)), b.CreateSelect(above44, k(44.0f), k(0.0f)));
      Value* r = b.CreateFSub(x, t);
      Value* w = b.CreateSelect(b.CreateFCmpOGT(r, k(0.0f)), k(0.0f), r);
      Value* k1 = b.CreateSelect(above44, k(ir::kExp88), b.CreateSelect(positive, k(ir::kExp44), k(1.0f)));
      Value* scale = b.CreateSelect(b.CreateFCmpOGT(x, k(88.0f)), k(INFINITY), k1);
      return {b.CreateFMul(c0, b.CreateFMul(emit_exp32(b, w, target), scale)), nullptr};
    }
  }
  fail_internal("unknown feature map");
}

}  // namespace

std::unique_ptr<Module> lower_features(const ir::Function& fn, const Target& target, const std::string& symbol,
                                       LLVMContext& ctx) {
  auto mod = std::make_unique<Module>("rvj_features_" + fn.name, ctx);
  mod->setTargetTriple(target.triple);
  IRBuilder<> b(ctx);
  Type* f32 = b.getFloatTy();
  Type* i64 = b.getInt64Ty();
  Type* f32p = PointerType::getUnqual(f32);
  auto* fty = FunctionType::get(b.getVoidTy(), {f32p, i64, f32p, f32p}, false);
  Function* f = Function::Create(fty, Function::ExternalLinkage, symbol, mod.get());
  set_kernel_attributes(f, target);
  f->addParamAttr(0, Attribute::NoAlias);
  f->addParamAttr(2, Attribute::NoAlias);
  Value *x = f->getArg(0), *n = f->getArg(1), *out = f->getArg(2), *c = f->getArg(3);
  b.SetInsertPoint(BasicBlock::Create(ctx, "entry", f));
  Mem mem{b};
  const bool pair = fn.features == ir::FeatureMap::CosFormer;
  const bool constants = fn.features != ir::FeatureMap::EluPlus1;
  Value* c0 = constants ? b.CreateLoad(f32, c) : nullptr;
  Value* c1 = pair ? b.CreateLoad(f32, mem.at(f32, c, mem.idx(1))) : nullptr;

  // One step of `lanes` elements from i (lanes == 1: a one-lane vector).
  auto step = [&](Value* i, int lanes) {
    auto* vt = FixedVectorType::get(f32, lanes);
    Value* v = mem.load_vec(vt, f32, x, i);
    Value* s0 = c0 ? b.CreateVectorSplat(lanes, c0) : nullptr;
    Value* s1 = c1 ? b.CreateVectorSplat(lanes, c1) : nullptr;
    auto [o0, o1] = emit_map(b, fn.features, v, s0, s1, target);
    mem.store_vec(o0, f32, out, i);
    if (o1) mem.store_vec(o1, f32, out, b.CreateAdd(n, i));
  };
  // for (i = lo; i < hi; i += by)
  auto range = [&](Value* lo, Value* hi, int by, const std::string& name, const std::function<void(Value*)>& body) {
    BasicBlock* pre = b.GetInsertBlock();
    BasicBlock* head = BasicBlock::Create(ctx, name, f);
    BasicBlock* exit = BasicBlock::Create(ctx, name + ".end", f);
    b.CreateCondBr(b.CreateICmpSLT(lo, hi), head, exit);
    b.SetInsertPoint(head);
    PHINode* iv = b.CreatePHI(i64, 2);
    iv->addIncoming(lo, pre);
    body(iv);
    Value* next = b.CreateAdd(iv, mem.idx(by));
    iv->addIncoming(next, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpSLT(next, hi), head, exit);
    b.SetInsertPoint(exit);
  };
  const int W = target.vector_bits / 32;
  Value* whole = b.CreateMul(b.CreateSDiv(n, mem.idx(W)), mem.idx(W));
  range(mem.idx(0), whole, W, "vectors", [&](Value* i) { step(i, W); });
  range(whole, n, 1, "tail", [&](Value* i) { step(i, 1); });
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen
