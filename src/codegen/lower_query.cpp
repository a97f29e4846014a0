// The single-query kernel: one query over a block of keys with the score,
// the online softmax and P.V fused. The score is the Row kernel itself
// (lower()), inlined into a loop over the keys, so a one-row call scores
// exactly as ruvector_attention_score does. Keys then run along the vector
// lanes for exp32 and the normaliser (16 partials, ISA-independent), and the
// value dimension along the lanes for P.V (even and odd keys in two chains,
// so consecutive fmas do not wait on each other). interpret_query() in
// src/ir/interpreter.cpp is the same arithmetic on scalars.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "codegen/emit.h"
#include "codegen/lower.h"

namespace rvj::codegen {

using namespace llvm;

std::unique_ptr<Module> lower_query(const ir::Function& fn, const Target& target, const std::string& symbol,
                                    LLVMContext& ctx) {
  ir::Function row = fn;
  row.kind = ir::KernelKind::Row;
  auto mod = lower(row, target, symbol + ".score", ctx);
  Function* score = mod->getFunction(symbol + ".score");
  score->setLinkage(GlobalValue::InternalLinkage);
  score->addFnAttr(Attribute::AlwaysInline);

  const int W = target.vector_bits / 32, K = ir::kQueryKeys, dv = fn.value_dims;
  IRBuilder<> b(ctx);
  Type* f32 = b.getFloatTy();
  Type* f64 = b.getDoubleTy();
  Type* i64 = b.getInt64Ty();
  auto* vf = FixedVectorType::get(f32, W);
  auto* vd = FixedVectorType::get(f64, W);
  Type* f32p = PointerType::getUnqual(f32);
  Type* f64p = PointerType::getUnqual(f64);
  Type* i8 = b.getInt8Ty();
  Type* i32 = b.getInt32Ty();
  auto* fty = FunctionType::get(b.getVoidTy(),
                                {f32p, PointerType::getUnqual(f32p), PointerType::getUnqual(f32p), i64, i64,
                                 PointerType::getUnqual(i8), i32, PointerType::getUnqual(i32), f64p, f32p, f32p, f64p,
                                 f64p, i64},
                                false);
  Function* f = Function::Create(fty, Function::ExternalLinkage, symbol, mod.get());
  set_kernel_attributes(f, target);
  for (unsigned i : {0u, 1u, 2u, 5u, 7u, 8u, 9u, 10u, 11u, 12u}) f->addParamAttr(i, Attribute::NoAlias);
  Value *q = f->getArg(0), *kp = f->getArg(1), *vp = f->getArg(2), *koff = f->getArg(3), *voff = f->getArg(4),
        *vis = f->getArg(5), *qpos = f->getArg(6), *kpos = f->getArg(7), *params = f->getArg(8), *s = f->getArg(9),
        *m = f->getArg(10), *l = f->getArg(11), *o = f->getArg(12), *n = f->getArg(13);

  b.SetInsertPoint(BasicBlock::Create(ctx, "entry", f));
  Mem mem{b};
  Constant* neg_inf = ConstantFP::get(f32, -std::numeric_limits<float>::infinity());
  Value* zero_f = ConstantFP::get(vf, 0.0);

  Value* padded = b.CreateMul(b.CreateUDiv(b.CreateAdd(n, mem.idx(K - 1)), mem.idx(K)), mem.idx(K));
  Value* inputs = b.CreateAlloca(f32p, b.getInt32(2), "inputs");
  Value* out = b.CreateAlloca(f64, b.getInt32(fn.num_outputs), "out");
  b.CreateStore(q, mem.at(f32p, inputs, mem.idx(0)));

  // ---- 1. scores (the Row kernel, inlined) and their max ------------------
  Value* mb = emit_loop(b, padded, {neg_inf}, "score", [&](Value* j, const std::vector<Value*>& in) {
                Value* krow = mem.at(f32, b.CreateLoad(f32p, mem.at(f32p, kp, j)), koff);
                b.CreateStore(krow, mem.at(f32p, inputs, mem.idx(1)));
                // The Position slot after the params (ir.h), exact in f64.
                Value* kj = b.CreateLoad(i32, mem.at(i32, kpos, j));
                b.CreateStore(b.CreateSIToFP(b.CreateSub(kj, qpos), f64), mem.at(f64, params, mem.idx(fn.num_params)));
                b.CreateCall(score, {inputs, params, out});
                Value* logit = b.CreateFPTrunc(b.CreateLoad(f64, out), f32);
                Value* seen = b.CreateAnd(b.CreateICmpSLT(j, n),
                                          b.CreateICmpNE(b.CreateLoad(i8, mem.at(i8, vis, j)), b.getInt8(0)));
                logit = b.CreateSelect(seen, logit, neg_inf);
                b.CreateStore(logit, mem.at(f32, s, j));
                return std::vector<Value*>{b.CreateSelect(b.CreateFCmpOGT(logit, in[0]), logit, in[0])};
              })[0];

  // ---- 2. online softmax -------------------------------------------------
  Value* m_old = b.CreateLoad(f32, m);
  Value* m_new = b.CreateSelect(b.CreateFCmpOGT(mb, m_old), mb, m_old);
  Value* ms = b.CreateSelect(b.CreateFCmpOEQ(m_new, neg_inf), ConstantFP::get(f32, 0.0), m_new);
  b.CreateStore(m_new, m);
  Value* ms_v = b.CreateVectorSplat(W, ms);
  const int parts = std::max(1, K / W);  // vectors of the 16 partials
  std::vector<Value*> lb = emit_loop(b, b.CreateUDiv(padded, mem.idx(K)), std::vector<Value*>(parts, zero_f), "softmax",
                                     [&](Value* c, const std::vector<Value*>& in) {
                                       std::vector<Value*> acc = in;
                                       for (int u = 0; u < parts; ++u) {
                                         Value* pos = b.CreateAdd(b.CreateMul(c, mem.idx(K)), mem.idx(u * W));
                                         Value* p = emit_exp32(b, b.CreateFSub(mem.load_vec(vf, f32, s, pos), ms_v), target);
                                         mem.store_vec(p, f32, s, pos);
                                         acc[u] = b.CreateFAdd(acc[u], p);
                                       }
                                       return acc;
                                     });
  Value* alpha = b.CreateExtractElement(emit_exp32(b, b.CreateVectorSplat(W, b.CreateFSub(m_old, ms)), target), uint64_t{0});
  Value* alpha64 = b.CreateFPExt(alpha, f64);
  b.CreateStore(mem.fma(b.CreateLoad(f64, l), alpha64, b.CreateFPExt(emit_fold(b, lb), f64)), l);

  // ---- 3. P.V: even and odd keys in two chains ---------------------------
  const int VV = (dv + W - 1) / W, CV_MAX = 8;
  Value* alpha_v = b.CreateVectorSplat(W, alpha64);
  for (int c0 = 0; c0 < VV; c0 += CV_MAX) {
    const int CV = std::min(CV_MAX, VV - c0);
    std::vector<Value*> acc = emit_loop(
        b, b.CreateUDiv(padded, mem.idx(2)), std::vector<Value*>(2 * CV, zero_f), "pv",
        [&](Value* pair, const std::vector<Value*>& in) {
          std::vector<Value*> next = in;
          for (int parity = 0; parity < 2; ++parity) {
            Value* j = b.CreateAdd(b.CreateMul(pair, mem.idx(2)), mem.idx(parity));
            Value* p = b.CreateVectorSplat(W, b.CreateLoad(f32, mem.at(f32, s, j)));
            Value* vrow = mem.at(f32, b.CreateLoad(f32p, mem.at(f32p, vp, j)), voff);
            for (int c = 0; c < CV; ++c) {
              const int e0 = (c0 + c) * W;
              Value* vv = mem.load_row(vf, vrow, e0, std::min(W, dv - e0));
              next[parity * CV + c] = mem.fma(p, vv, next[parity * CV + c]);
            }
          }
          return next;
        });
    for (int c = 0; c < CV; ++c) {
      Value* pos = mem.idx((c0 + c) * W);
      Value* sum = b.CreateFPExt(b.CreateFAdd(acc[c], acc[CV + c]), vd);
      mem.store_vec(mem.fma(mem.load_vec(vd, f64, o, pos), alpha_v, sum), f64, o, pos);
    }
  }
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen
