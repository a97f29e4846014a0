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

namespace {

// How the fused reduction over dims is laid out in registers. Dims are a
// constant, so every count here is known at compile time and the loop and
// its tails come out as exact straight-line code.
struct Blocking {
  int lanes;     // elements per vector register
  int unroll;    // independent accumulators per reduction
  int blocks;    // iterations of the main loop (lanes * unroll elements each)
  int vec_tail;  // whole vectors after the main loop
  int scalar_tail;
};

Blocking choose_blocking(const ir::Function& fn, const Target& t, int reductions, bool any_f64) {
  Blocking k{};
  k.lanes = t.vector_bits / (any_f64 ? 64 : 32);
  // Enough chains in flight to cover FMA latency x ports, shared between the
  // fused reductions so the accumulators still fit in registers.
  k.unroll = std::max(1, t.accumulators / std::max(1, reductions));
  const int block = k.lanes * k.unroll;
  k.blocks = fn.dims / block;
  const int rest = fn.dims - k.blocks * block;
  k.vec_tail = rest / k.lanes;
  k.scalar_tail = rest % k.lanes;
  return k;
}

// Pairwise sums: a tree, so the combine costs log2(n) adds of latency.
Value* tree_sum(IRBuilder<>& b, std::vector<Value*> v) {
  while (v.size() > 1) {
    std::vector<Value*> next;
    for (size_t i = 0; i + 1 < v.size(); i += 2) next.push_back(b.CreateFAdd(v[i], v[i + 1]));
    if (v.size() % 2) next.push_back(v.back());
    v = std::move(next);
  }
  return v[0];
}

}  // namespace

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
  IRBuilder<> b(entry);
  const size_t n = fn.nodes.size();
  std::vector<Value*> val(n, nullptr);

  // Input pointers.
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    if (node.op == ir::Op::Input)
      val[id] = b.CreateLoad(f32p, b.CreateConstInBoundsGEP1_64(f32p, in_arg, node.index),
                             "in" + std::to_string(node.index));
  }

  // ---- the fused reductions ------------------------------------------------
  std::vector<int> reds;
  bool any_f64 = false;
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    if (node.op == ir::Op::Dot || node.op == ir::Op::SqDist) {
      reds.push_back(static_cast<int>(id));
      any_f64 |= node.precision == ir::Precision::F64;
    }
  }
  const Blocking k = choose_blocking(fn, target, static_cast<int>(reds.size()), any_f64);
  auto acc_type = [&](int id) -> Type* {
    return fn.nodes[id].precision == ir::Precision::F32 ? f32 : f64;
  };
  auto vec_of = [&](Type* t) -> Type* { return FixedVectorType::get(t, k.lanes); };

  FastMathFlags reassoc;  // reductions may be reordered and contracted to FMA
  reassoc.setAllowReassoc();
  reassoc.setAllowContract();
  b.setFastMathFlags(reassoc);

  // acc[r][u]: the running vector sums, updated by `accumulate` at element
  // offset `base` (an i64 value) for accumulator u.
  std::vector<std::vector<Value*>> acc(reds.size(), std::vector<Value*>(k.unroll));
  for (size_t r = 0; r < reds.size(); ++r)
    for (int u = 0; u < k.unroll; ++u) acc[r][u] = ConstantFP::get(vec_of(acc_type(reds[r])), 0.0);

  auto accumulate = [&](Value* base, int u) {
    std::map<std::pair<int, Type*>, Value*> loaded;  // (input, type) -> vector
    auto load = [&](int input, Type* ty) -> Value* {
      auto key = std::make_pair(input, ty);
      auto it = loaded.find(key);
      if (it != loaded.end()) return it->second;
      Value* p = b.CreateInBoundsGEP(f32, val[input], base);
      Value* v = b.CreateAlignedLoad(vec_of(f32), p, Align(4));
      if (ty != f32) v = b.CreateFPExt(v, vec_of(ty));
      return loaded[key] = v;
    };
    for (size_t r = 0; r < reds.size(); ++r) {
      const ir::Node& node = fn.nodes[reds[r]];
      Type* ty = acc_type(reds[r]);
      Value* x = load(node.a, ty);
      Value* y = load(node.b, ty);
      Value* term;
      if (node.op == ir::Op::Dot) {
        term = b.CreateFMul(x, y);
      } else {
        Value* d = b.CreateFSub(x, y);
        term = b.CreateFMul(d, d);
      }
      acc[r][u] = b.CreateFAdd(acc[r][u], term);
    }
  };

  if (k.blocks > 0) {
    BasicBlock* loop = BasicBlock::Create(ctx, "reduce", f);
    BasicBlock* after = BasicBlock::Create(ctx, "tail", f);
    b.CreateBr(loop);
    b.SetInsertPoint(loop);
    PHINode* iv = b.CreatePHI(i64, 2, "block");
    iv->addIncoming(b.getInt64(0), entry);
    std::vector<std::vector<PHINode*>> phis(reds.size());
    for (size_t r = 0; r < reds.size(); ++r)
      for (int u = 0; u < k.unroll; ++u) {
        PHINode* p = b.CreatePHI(acc[r][u]->getType(), 2);
        p->addIncoming(acc[r][u], entry);
        phis[r].push_back(p);
        acc[r][u] = p;
      }
    Value* base = b.CreateMul(iv, b.getInt64(static_cast<int64_t>(k.lanes) * k.unroll));
    for (int u = 0; u < k.unroll; ++u) accumulate(b.CreateAdd(base, b.getInt64(u * k.lanes)), u);
    for (size_t r = 0; r < reds.size(); ++r)
      for (int u = 0; u < k.unroll; ++u) phis[r][u]->addIncoming(acc[r][u], loop);
    Value* next = b.CreateAdd(iv, b.getInt64(1), "block.next", true, true);
    iv->addIncoming(next, loop);
    b.CreateCondBr(b.CreateICmpEQ(next, b.getInt64(k.blocks)), after, loop);
    b.SetInsertPoint(after);
  }
  const int64_t tail_start = static_cast<int64_t>(k.blocks) * k.lanes * k.unroll;
  for (int v = 0; v < k.vec_tail; ++v) accumulate(b.getInt64(tail_start + v * k.lanes), v % k.unroll);

  // Combine: accumulators as a tree, lanes by a reassociating reduction, then
  // the last elements that do not fill a vector.
  const int64_t scalar_start = tail_start + static_cast<int64_t>(k.vec_tail) * k.lanes;
  for (size_t r = 0; r < reds.size(); ++r) {
    const ir::Node& node = fn.nodes[reds[r]];
    Type* ty = acc_type(reds[r]);
    // -0.0 is the identity of fadd, so the start value costs no add.
    Value* sum = b.CreateFAddReduce(ConstantFP::getNegativeZero(ty), tree_sum(b, acc[r]));
    for (int e = 0; e < k.scalar_tail; ++e) {
      auto elem = [&](int input) -> Value* {
        Value* v = b.CreateLoad(f32, b.CreateConstInBoundsGEP1_64(f32, val[input], scalar_start + e));
        return ty == f32 ? v : b.CreateFPExt(v, f64);
      };
      Value* x = elem(node.a);
      Value* y = elem(node.b);
      Value* term;
      if (node.op == ir::Op::Dot) {
        term = b.CreateFMul(x, y);
      } else {
        Value* d = b.CreateFSub(x, y);
        term = b.CreateFMul(d, d);
      }
      sum = b.CreateFAdd(sum, term);
    }
    val[reds[r]] = ty == f64 ? sum : b.CreateFPExt(sum, f64);
  }

  // ---- epilogue: scalar arithmetic in f64, strict IEEE -------------------
  b.clearFastMathFlags();
  FunctionCallee log1p_fn = mod->getOrInsertFunction("log1p", FunctionType::get(f64, {f64}, false));
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
