#include "codegen/lower.h"

#include <map>
#include <vector>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Type.h>

namespace rvj::codegen {

using namespace llvm;

std::unique_ptr<Module> lower(const ir::Function& fn, const Target& target, const std::string& symbol,
                              LLVMContext& ctx) {
  auto mod = std::make_unique<Module>("rvj_" + fn.name, ctx);
  mod->setTargetTriple(target.triple);

  Type* f32 = Type::getFloatTy(ctx);
  Type* f64 = Type::getDoubleTy(ctx);
  Type* i64 = Type::getInt64Ty(ctx);
  Type* f32p = PointerType::getUnqual(f32);
  Type* f64p = PointerType::getUnqual(f64);
  auto* fty = FunctionType::get(Type::getVoidTy(ctx), {PointerType::getUnqual(f32p), f64p, f64p}, false);
  Function* f = Function::Create(fty, Function::ExternalLinkage, symbol, mod.get());
  f->addFnAttr("target-cpu", target.cpu);
  if (!target.features.empty()) f->addFnAttr("target-features", target.features);
  f->addFnAttr("prefer-vector-width", std::to_string(target.vector_bits));
  f->addFnAttr(Attribute::NoUnwind);
  for (unsigned i = 0; i < 3; ++i) f->addParamAttr(i, Attribute::NoAlias);
  Argument* in_arg = f->getArg(0);
  Argument* param_arg = f->getArg(1);
  Argument* out_arg = f->getArg(2);

  BasicBlock* entry = BasicBlock::Create(ctx, "entry", f);
  BasicBlock* loop = BasicBlock::Create(ctx, "reduce", f);
  BasicBlock* exit = BasicBlock::Create(ctx, "epilogue", f);
  IRBuilder<> b(entry);

  const size_t n = fn.nodes.size();
  std::vector<Value*> val(n, nullptr);

  // Entry: input pointers and params.
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    if (node.op == ir::Op::Input) {
      Value* slot = b.CreateConstInBoundsGEP1_64(f32p, in_arg, node.index);
      val[id] = b.CreateLoad(f32p, slot, "in" + std::to_string(node.index));
    }
  }
  b.CreateBr(loop);

  // The fused reduction loop: every Dot/SqDist accumulates in its own phi.
  b.SetInsertPoint(loop);
  FastMathFlags reassoc;
  reassoc.setAllowReassoc();
  reassoc.setAllowContract();
  PHINode* iv = b.CreatePHI(i64, 2, "i");
  iv->addIncoming(b.getInt64(0), entry);
  std::map<int, Value*> elem32;  // input node -> element i as f32
  auto element = [&](int input, Type* ty) -> Value* {
    auto it = elem32.find(input);
    if (it == elem32.end()) {
      Value* p = b.CreateInBoundsGEP(f32, val[input], iv);
      it = elem32.emplace(input, b.CreateLoad(f32, p)).first;
    }
    return ty == f32 ? it->second : b.CreateFPExt(it->second, f64);
  };
  // PHIs first (they must head the block), then the loads and arithmetic.
  std::vector<std::pair<int, PHINode*>> accs;
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    if (node.op != ir::Op::Dot && node.op != ir::Op::SqDist) continue;
    Type* ty = node.precision == ir::Precision::F32 ? f32 : f64;
    PHINode* acc = b.CreatePHI(ty, 2, "acc" + std::to_string(id));
    acc->addIncoming(ConstantFP::get(ty, 0.0), entry);
    accs.emplace_back(static_cast<int>(id), acc);
  }
  {
    IRBuilder<>::FastMathFlagGuard guard(b);
    b.setFastMathFlags(reassoc);
    for (auto& [id, acc] : accs) {
      const ir::Node& node = fn.nodes[id];
      Type* ty = acc->getType();
      Value* x = element(node.a, ty);
      Value* y = element(node.b, ty);
      Value* term;
      if (node.op == ir::Op::Dot) {
        term = b.CreateFMul(x, y);
      } else {
        Value* d = b.CreateFSub(x, y);
        term = b.CreateFMul(d, d);
      }
      Value* next = b.CreateFAdd(acc, term);
      acc->addIncoming(next, loop);
      val[id] = next;  // the value leaving the loop
    }
  }
  Value* iv_next = b.CreateAdd(iv, b.getInt64(1), "i.next", true, true);
  iv->addIncoming(iv_next, loop);
  b.CreateCondBr(b.CreateICmpEQ(iv_next, b.getInt64(fn.dims)), exit, loop);

  // Epilogue: scalar arithmetic in f64, strict IEEE.
  b.SetInsertPoint(exit);
  for (auto& [id, acc] : accs) {
    (void)acc;
    Value* v = val[id];
    val[id] = v->getType() == f64 ? v : b.CreateFPExt(v, f64);
  }
  FunctionCallee log1p_fn = mod->getOrInsertFunction(
      "log1p", FunctionType::get(f64, {f64}, false));
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    Value* a = node.a >= 0 ? val[node.a] : nullptr;
    Value* c = node.b >= 0 ? val[node.b] : nullptr;
    switch (node.op) {
      case ir::Op::Input:
      case ir::Op::Dot:
      case ir::Op::SqDist:
        break;
      case ir::Op::Param:
        val[id] = b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(f64, param_arg, node.index));
        break;
      case ir::Op::Const: val[id] = ConstantFP::get(f64, node.value); break;
      case ir::Op::Add: val[id] = b.CreateFAdd(a, c); break;
      case ir::Op::Sub: val[id] = b.CreateFSub(a, c); break;
      case ir::Op::Mul: val[id] = b.CreateFMul(a, c); break;
      case ir::Op::Div: val[id] = b.CreateFDiv(a, c); break;
      case ir::Op::Neg: val[id] = b.CreateFNeg(a); break;
      case ir::Op::Sqrt: val[id] = b.CreateUnaryIntrinsic(Intrinsic::sqrt, a); break;
      case ir::Op::Log1p: val[id] = b.CreateCall(log1p_fn, {a}); break;
      // Same NaN behaviour as std::min / std::max in the interpreter.
      case ir::Op::Min: val[id] = b.CreateSelect(b.CreateFCmpOLT(c, a), c, a); break;
      case ir::Op::Max: val[id] = b.CreateSelect(b.CreateFCmpOLT(a, c), c, a); break;
      case ir::Op::Output:
        b.CreateStore(a, b.CreateConstInBoundsGEP1_64(f64, out_arg, node.index));
        break;
    }
  }
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen
