#include "codegen/lower.h"

#include <algorithm>
#include <string>

#include "codegen/emit.h"
#include "codegen/jit.h"
#include "ir/errors.h"

#include <functional>
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

// One Dot/SqDist as laid out in registers: the kernel's P partial sums (the
// canonical order, ir.h) held in `accs` vectors of `lanes` lanes each, so that
// acc j lane l is partial j*lanes + l. Only this layout depends on the ISA.
struct Reduction {
  int id;
  ir::Op op;
  int a, b;        // input nodes
  Type* ty;        // f32 or f64 accumulation
  int lanes;
  std::vector<Value*> acc;
};

}  // namespace

void set_kernel_attributes(Function* f, const Target& target) {
  f->addFnAttr("target-cpu", target.cpu);
  if (!target.features.empty()) f->addFnAttr("target-features", target.features);
  f->addFnAttr("prefer-vector-width", std::to_string(target.vector_bits));
  f->addFnAttr(Attribute::NoUnwind);
}

Value* emit_scalar_op(IRBuilder<>& b, const ir::Node& node, const std::vector<Value*>& val, Type* ty,
                      FunctionCallee log1p_fn) {
  Value* a = node.a >= 0 ? val[node.a] : nullptr;
  Value* c = node.b >= 0 ? val[node.b] : nullptr;
  switch (node.op) {
    case ir::Op::Const: return ConstantFP::get(ty, node.value);
    case ir::Op::Add: return b.CreateFAdd(a, c);
    case ir::Op::Sub: return b.CreateFSub(a, c);
    case ir::Op::Mul: return b.CreateFMul(a, c);
    case ir::Op::Div: return b.CreateFDiv(a, c);
    case ir::Op::Neg: return b.CreateFNeg(a);
    case ir::Op::Sqrt: return b.CreateUnaryIntrinsic(Intrinsic::sqrt, a);
    case ir::Op::Log1p:
      if (ty->isVectorTy()) break;  // tile_error() keeps log1p out of vector epilogues
      return b.CreateCall(log1p_fn, {a});
    case ir::Op::Tanh:
    case ir::Op::Atanh: {
      if (ty->isVectorTy()) break;  // tile_error() keeps them out of vector epilogues too
      Module* m = b.GetInsertBlock()->getModule();
      FunctionCallee fn = m->getOrInsertFunction(node.op == ir::Op::Tanh ? "tanh" : "atanh",
                                                 FunctionType::get(ty, {ty}, false));
      return b.CreateCall(fn, {a});
    }
    // Same NaN behaviour as std::min / std::max in the interpreter.
    case ir::Op::Min: return b.CreateSelect(b.CreateFCmpOLT(c, a), c, a);
    case ir::Op::Max: return b.CreateSelect(b.CreateFCmpOLT(a, c), c, a);
    case ir::Op::LeakyRelu: return b.CreateSelect(b.CreateFCmpOLT(a, ConstantFP::get(a->getType(), 0.0)), b.CreateFMul(c, a), a);
    default: break;
  }
  fail_internal(std::string("no scalar lowering for ") + ir::op_name(node.op));
}

Value* emit_score_lanes(IRBuilder<>& b, const ir::Function& fn, Type* vd, const std::function<Value*(int)>& reduction,
                        const std::function<Value*(int)>& param, const std::function<Value*()>& position) {
  Value* logit = emit_logit_lanes(b, fn, vd, reduction, param, position);
  return b.CreateFPTrunc(logit, FixedVectorType::get(b.getFloatTy(), cast<FixedVectorType>(vd)->getNumElements()));
}

Value* emit_logit_lanes(IRBuilder<>& b, const ir::Function& fn, Type* vd, const std::function<Value*(int)>& reduction,
                        const std::function<Value*(int)>& param, const std::function<Value*()>& position) {
  std::vector<Value*> val(fn.nodes.size(), nullptr);
  for (size_t id = 0; id < fn.nodes.size(); ++id) {
    const ir::Node& node = fn.nodes[id];
    const int i = static_cast<int>(id);
    switch (node.op) {
      case ir::Op::Input: break;
      case ir::Op::Param: val[id] = param(i); break;
      case ir::Op::Position: val[id] = position(); break;
      case ir::Op::Dot:
      case ir::Op::SqDist: val[id] = b.CreateFPExt(reduction(i), vd); break;
      case ir::Op::Output: return val[node.a];
      default: val[id] = emit_scalar_op(b, node, val, vd, FunctionCallee());
    }
  }
  fail_internal("a score program without an output");
}

std::unique_ptr<Module> lower(const ir::Function& fn, const Target& target, const std::string& symbol,
                              LLVMContext& ctx) {
  if (fn.kind == ir::KernelKind::Tile) return lower_tile(fn, target, symbol, ctx);
  if (fn.kind == ir::KernelKind::Query) return lower_query(fn, target, symbol, ctx);
  if (fn.kind == ir::KernelKind::Panel) return lower_panel(fn, target, symbol, ctx);
  if (fn.kind == ir::KernelKind::Features) return lower_features(fn, target, symbol, ctx);
  auto mod = std::make_unique<Module>("rvj_" + fn.name, ctx);
  mod->setTargetTriple(target.triple);

  Type* f32 = Type::getFloatTy(ctx);
  Type* f64 = Type::getDoubleTy(ctx);
  Type* i64 = Type::getInt64Ty(ctx);
  Type* f32p = PointerType::getUnqual(f32);
  Type* f64p = PointerType::getUnqual(f64);
  auto* fty = FunctionType::get(Type::getVoidTy(ctx), {PointerType::getUnqual(f32p), f64p, f64p}, false);
  Function* f = Function::Create(fty, Function::ExternalLinkage, symbol, mod.get());
  set_kernel_attributes(f, target);
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
  // Strict IEEE arithmetic, no reassociation: the order written here (and in
  // the interpreter) is the order executed.
  const int partials = ir::reduction_partials(fn);
  std::vector<Reduction> reds;
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    if (node.op != ir::Op::Dot && node.op != ir::Op::SqDist) continue;
    Reduction r{static_cast<int>(id), node.op, node.a, node.b,
                node.precision == ir::Precision::F32 ? f32 : f64, 0, {}};
    r.lanes = std::min(partials, target.vector_bits / static_cast<int>(r.ty->getPrimitiveSizeInBits()));
    r.acc.assign(partials / r.lanes, ConstantFP::get(FixedVectorType::get(r.ty, r.lanes), 0.0));
    reds.push_back(std::move(r));
  }

  // Loads `count` floats of `input` at element `base` into a vector of `lanes`
  // (zero-padded past count: fma(0, 0, acc) leaves acc exactly as it is).
  auto load = [&](int input, Value* base, int lanes, int count, Type* ty) -> Value* {
    Type* vf32 = FixedVectorType::get(f32, lanes);
    Value* p = b.CreateInBoundsGEP(f32, val[input], base);
    Value* v;
    if (count == lanes) {
      v = b.CreateAlignedLoad(vf32, p, Align(4));
    } else {
      v = ConstantFP::get(vf32, 0.0);
      for (int e = 0; e < count; ++e)
        v = b.CreateInsertElement(v, b.CreateLoad(f32, b.CreateConstInBoundsGEP1_64(f32, p, e)), e);
    }
    return ty == f32 ? v : b.CreateFPExt(v, FixedVectorType::get(ty, lanes));
  };
  auto accumulate = [&](Reduction& r, int j, Value* base, int count) {
    Value* x = load(r.a, base, r.lanes, count, r.ty);
    Value* y = load(r.b, base, r.lanes, count, r.ty);
    if (r.op == ir::Op::SqDist) {
      Value* d = b.CreateFSub(x, y);
      x = d;
      y = d;
    }
    r.acc[j] = b.CreateIntrinsic(Intrinsic::fma, {x->getType()}, {x, y, r.acc[j]});
  };

  const int blocks = fn.dims / partials;
  if (blocks > 0) {
    BasicBlock* loop = BasicBlock::Create(ctx, "reduce", f);
    BasicBlock* after = BasicBlock::Create(ctx, "tail", f);
    b.CreateBr(loop);
    b.SetInsertPoint(loop);
    PHINode* iv = b.CreatePHI(i64, 2, "block");
    iv->addIncoming(b.getInt64(0), entry);
    std::vector<std::vector<PHINode*>> phis(reds.size());
    for (size_t r = 0; r < reds.size(); ++r)
      for (Value*& acc : reds[r].acc) {
        PHINode* phi = b.CreatePHI(acc->getType(), 2);
        phi->addIncoming(acc, entry);
        phis[r].push_back(phi);
        acc = phi;
      }
    Value* start = b.CreateMul(iv, b.getInt64(partials));
    for (Reduction& r : reds)
      for (size_t j = 0; j < r.acc.size(); ++j)
        accumulate(r, static_cast<int>(j), b.CreateAdd(start, b.getInt64(j * r.lanes)), r.lanes);
    for (size_t r = 0; r < reds.size(); ++r)
      for (size_t j = 0; j < phis[r].size(); ++j) phis[r][j]->addIncoming(reds[r].acc[j], loop);
    Value* next = b.CreateAdd(iv, b.getInt64(1), "block.next", true, true);
    iv->addIncoming(next, loop);
    b.CreateCondBr(b.CreateICmpEQ(next, b.getInt64(blocks)), after, loop);
    b.SetInsertPoint(after);
  }
  // The last dims mod P elements: whole vectors, then one zero-padded vector.
  const int64_t tail_start = static_cast<int64_t>(blocks) * partials;
  const int tail = fn.dims - static_cast<int>(tail_start);
  for (Reduction& r : reds)
    for (int j = 0; j * r.lanes < tail; ++j)
      accumulate(r, j, b.getInt64(tail_start + j * r.lanes), std::min(r.lanes, tail - j * r.lanes));

  // Fold by halving: across accumulators, then across lanes.
  for (Reduction& r : reds) {
    Value* sum = emit_fold(b, r.acc);
    val[r.id] = r.ty == f64 ? sum : b.CreateFPExt(sum, f64);
  }

  // ---- elementwise expressions, W f64 lanes per step --------------------
  // A vector node's value at elements [base, base + count) of a step: inputs
  // widened from f32 (zero past count), then plain IEEE ops per lane (no
  // contraction: the interpreter rounds each op the same way), tanh as
  // ir/tanh64.h. Scale reads a scalar, so it appears only after the epilogue.
  const int W = std::max(1, target.vector_bits / 64);
  std::vector<Value*> splat(n, nullptr);
  std::function<Value*(int, Value*, int, std::map<int, Value*>&)> lanes_of =
      [&](int id, Value* base, int count, std::map<int, Value*>& memo) -> Value* {
    if (auto it = memo.find(id); it != memo.end()) return it->second;
    const ir::Node& node = fn.nodes[id];
    Value* v = nullptr;
    switch (node.op) {
      case ir::Op::Input: v = load(id, base, W, count, f64); break;
      case ir::Op::Scale: v = b.CreateFMul(lanes_of(node.a, base, count, memo), splat[node.b]); break;
      case ir::Op::AddVec:
        v = b.CreateFAdd(lanes_of(node.a, base, count, memo), lanes_of(node.b, base, count, memo));
        break;
      case ir::Op::SubVec:
        v = b.CreateFSub(lanes_of(node.a, base, count, memo), lanes_of(node.b, base, count, memo));
        break;
      case ir::Op::MulVec:
        v = b.CreateFMul(lanes_of(node.a, base, count, memo), lanes_of(node.b, base, count, memo));
        break;
      case ir::Op::TanhVec: v = emit_tanh64(b, lanes_of(node.a, base, count, memo)); break;
      case ir::Op::LeakyReluVec: {
        Value* x = lanes_of(node.a, base, count, memo);
        Value* s = lanes_of(node.b, base, count, memo);
        v = b.CreateSelect(b.CreateFCmpOLT(x, ConstantFP::get(x->getType(), 0.0)), b.CreateFMul(s, x), x);
        break;
      }
      default: fail_internal(std::string("no elementwise lowering for ") + ir::op_name(node.op));
    }
    return memo[id] = v;
  };

  // ---- sums of elementwise expressions: the canonical order, plain adds --
  // acc j lane l holds partial j * W + l (W <= P); past dims, lanes add
  // nothing (a select, not zero-padded inputs: tanh(0) * 0 is 0 only by luck).
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    if (node.op != ir::Op::Sum) continue;
    if (partials % W != 0) fail_internal("the partials do not fill whole f64 vectors");
    const int groups = partials / W;
    Type* vty = FixedVectorType::get(f64, W);
    std::vector<Value*> acc(groups, ConstantFP::get(vty, 0.0));
    auto add_group = [&](std::vector<Value*>& a, int j, Value* base, int count) {
      std::map<int, Value*> memo;
      Value* x = lanes_of(node.a, base, count, memo);
      if (count < W) {
        std::vector<Constant*> keep;
        for (int l = 0; l < W; ++l) keep.push_back(b.getInt1(l < count));
        x = b.CreateSelect(ConstantVector::get(keep), x, ConstantFP::get(vty, 0.0));
      }
      a[j] = b.CreateFAdd(a[j], x);
    };
    const int sum_blocks = fn.dims / partials;
    if (sum_blocks > 0)
      acc = emit_loop(b, b.getInt64(sum_blocks), acc, "sum", [&](Value* iv, const std::vector<Value*>& cur) {
        std::vector<Value*> next = cur;
        Value* start = b.CreateMul(iv, b.getInt64(partials));
        for (int j = 0; j < groups; ++j) add_group(next, j, b.CreateAdd(start, b.getInt64(j * W)), W);
        return next;
      });
    const int64_t sum_tail_start = static_cast<int64_t>(sum_blocks) * partials;
    const int sum_tail = fn.dims - static_cast<int>(sum_tail_start);
    for (int j = 0; j * W < sum_tail; ++j)
      add_group(acc, j, b.getInt64(sum_tail_start + j * W), std::min(W, sum_tail - j * W));
    val[id] = emit_fold(b, acc);
  }

  // ---- epilogue: scalar arithmetic in f64, strict IEEE -------------------
  FunctionCallee log1p_fn = mod->getOrInsertFunction("log1p", FunctionType::get(f64, {f64}, false));
  for (size_t id = 0; id < n; ++id) {
    const ir::Node& node = fn.nodes[id];
    switch (node.op) {
      case ir::Op::Input:
      case ir::Op::Dot:
      case ir::Op::SqDist:
      case ir::Op::Sum:
        break;
      case ir::Op::Param:
        val[id] = b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(f64, param_arg, node.index));
        break;
      case ir::Op::Element:
        val[id] = b.CreateFPExt(b.CreateLoad(f32, b.CreateConstInBoundsGEP1_64(f32, val[node.a], node.index)), f64);
        break;
      case ir::Op::Position:  // supplied by the caller after the params (ir.h)
        val[id] = b.CreateLoad(f64, b.CreateConstInBoundsGEP1_64(f64, param_arg, fn.num_params));
        break;
      case ir::Op::Output:
        b.CreateStore(val[node.a], b.CreateConstInBoundsGEP1_64(f64, out_arg, node.index));
        break;
      case ir::Op::Scale:
      case ir::Op::AddVec:
      case ir::Op::SubVec:
      case ir::Op::MulVec:
      case ir::Op::TanhVec:
      case ir::Op::LeakyReluVec:
      case ir::Op::OutputVec:
        break;  // elementwise: in the loops around
      default:
        val[id] = emit_scalar_op(b, node, val, f64, log1p_fn);
    }
  }

  // ---- vector outputs: a last loop over dims, elementwise -----------------
  // Every scalar is known now; one f32 rounding at the store. The last dims
  // mod W elements go through one partial vector.
  if (fn.num_vec_outputs > 0) {
    std::vector<Value*> out_ptr(fn.num_vec_outputs, nullptr);
    for (size_t id = 0; id < n; ++id) {
      const ir::Node& node = fn.nodes[id];
      if (node.op == ir::Op::Scale) splat[node.b] = b.CreateVectorSplat(W, val[node.b]);
      if (node.op == ir::Op::OutputVec)  // the ABI: after the vector inputs
        out_ptr[node.index] = b.CreateLoad(
            f32p, b.CreateConstInBoundsGEP1_64(f32p, in_arg, fn.num_inputs + node.index), "vout");
    }
    auto step = [&](Value* base, int count) {
      std::map<int, Value*> memo;
      for (size_t id = 0; id < n; ++id) {
        const ir::Node& node = fn.nodes[id];
        if (node.op != ir::Op::OutputVec) continue;
        Value* v = b.CreateFPTrunc(lanes_of(node.a, base, count, memo), FixedVectorType::get(f32, W));
        Value* p = b.CreateInBoundsGEP(f32, out_ptr[node.index], base);
        if (count == W) {
          b.CreateAlignedStore(v, b.CreateBitCast(p, PointerType::getUnqual(v->getType())), Align(4));
        } else {
          for (int e = 0; e < count; ++e)
            b.CreateStore(b.CreateExtractElement(v, uint64_t(e)), b.CreateConstInBoundsGEP1_64(f32, p, e));
        }
      }
    };
    const int steps = fn.dims / W, rest = fn.dims % W;
    if (steps > 0)
      emit_loop(b, b.getInt64(steps), {}, "elementwise", [&](Value* iv, const std::vector<Value*>&) {
        step(b.CreateMul(iv, b.getInt64(W)), W);
        return std::vector<Value*>{};
      });
    if (rest > 0) step(b.getInt64(static_cast<int64_t>(steps) * W), rest);
  }
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen

namespace rvj::codegen {
void fail_internal(const std::string& what) { throw Error(ErrorKind::Internal, what); }
}  // namespace rvj::codegen
