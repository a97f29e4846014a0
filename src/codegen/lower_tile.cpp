// The flash tile kernel (FlashAttention-2's inner step) in LLVM IR.
//
// Layout: queries run along the vector lanes (the caller transposes a block
// of them once per head), keys along registers. A Q.K^T tile then needs no
// horizontal reduction, the row max of the online softmax is a vertical max,
// and every lane performs exactly the scalar arithmetic interpret_tile() in
// src/ir/interpreter.cpp performs, so the vector width never changes a bit.
//   1. scores: key_group keys x query_vectors vectors of accumulators, one
//      f32 fma chain per (query, key) over the head dimension; the score
//      program's scalar ops lane-wise in f64; masked keys get -inf.
//   2. online softmax: new max, p = exp32(logit - max) in place, l.
//   3. P.V: query_group queries x value_vectors vectors of accumulators over
//      the keys, merged into the f64 state as o = o * alpha + acc.
// With sigmoid weights (ir::TileWeights::Sigmoid) step 1 writes each key's
// w = sigmoid32(logit + bias) (0 where masked) and keeps the max logit, step
// 2 only stores that max, and step 3 merges as o = o + acc.
#include <algorithm>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

#include "codegen/emit.h"
#include "codegen/jit.h"
#include "codegen/lower.h"
#include "codegen/schedule.h"
#include "ir/limits.h"

namespace rvj::codegen {

using namespace llvm;

std::unique_ptr<Module> lower_tile(const ir::Function& fn, const Target& target, const std::string& symbol,
                                   LLVMContext& ctx) {
  auto mod = std::make_unique<Module>("rvj_tile_" + fn.name, ctx);
  mod->setTargetTriple(target.triple);
  const Blocking k = blocking(fn, target);
  const ir::TileShape shape = tile_shape(fn, target);
  const int W = k.lanes, QV = k.query_vectors, Q = shape.queries, NK = k.key_group;
  const int d = fn.dims, dv = fn.value_dims;

  IRBuilder<> b(ctx);
  Type* f32 = b.getFloatTy();
  Type* f64 = b.getDoubleTy();
  Type* i32 = b.getInt32Ty();
  Type* i64 = b.getInt64Ty();
  auto* vf = FixedVectorType::get(f32, W);
  auto* vd = FixedVectorType::get(f64, W);
  auto* vi = FixedVectorType::get(i32, W);
  Type* f32p = PointerType::getUnqual(f32);
  Type* f64p = PointerType::getUnqual(f64);
  Type* i32p = PointerType::getUnqual(i32);
  Type* i8 = b.getInt8Ty();
  Type* i8p = PointerType::getUnqual(i8);
  auto* vb = FixedVectorType::get(i8, W);
  auto* fty = FunctionType::get(b.getVoidTy(),
                                {f32p, PointerType::getUnqual(f32p), PointerType::getUnqual(f32p), i32p, i32p, i8p,
                                 i32p, i32p, f64p, f32p, f32p, f64p, f64p, i64},
                                false);
  Function* f = Function::Create(fty, Function::ExternalLinkage, symbol, mod.get());
  set_kernel_attributes(f, target);
  for (unsigned i = 0; i < 13; ++i) f->addParamAttr(i, Attribute::NoAlias);
  Value *qt = f->getArg(0), *kp = f->getArg(1), *vp = f->getArg(2), *lo = f->getArg(3), *hi = f->getArg(4),
        *vis = f->getArg(5), *qpos = f->getArg(6), *kpos = f->getArg(7), *params = f->getArg(8),
        *s = f->getArg(9), *m = f->getArg(10), *l = f->getArg(11), *o = f->getArg(12), *n = f->getArg(13);

  b.SetInsertPoint(BasicBlock::Create(ctx, "entry", f));
  Mem mem{b};
  Value* neg_inf = ConstantFP::get(vf, -std::numeric_limits<float>::infinity());
  Value* zero_f = ConstantFP::get(vf, 0.0);

  Value* groups = b.CreateUDiv(b.CreateAdd(n, mem.idx(NK - 1)), mem.idx(NK));
  Value* padded = b.CreateMul(groups, mem.idx(NK));
  Value* alpha_mem = b.CreateAlloca(f32, b.getInt32(Q), "alpha");
  std::vector<Value*> lo_v(QV), hi_v(QV), qpos_v(QV);
  for (int v = 0; v < QV; ++v) {
    lo_v[v] = mem.load_vec(vi, i32, lo, mem.idx(v * W));
    hi_v[v] = mem.load_vec(vi, i32, hi, mem.idx(v * W));
    qpos_v[v] = mem.load_vec(vi, i32, qpos, mem.idx(v * W));
  }
  const bool sigmoid = fn.weights == ir::TileWeights::Sigmoid;
  Value* bias_v = sigmoid ? b.CreateVectorSplat(W, b.CreateLoad(f64, mem.at(f64, params, mem.idx(fn.num_params))))
                          : nullptr;
  // Runtime params, splat once.
  std::vector<Value*> param_v(fn.nodes.size(), nullptr);
  for (size_t id = 0; id < fn.nodes.size(); ++id)
    if (fn.nodes[id].op == ir::Op::Param)
      param_v[id] = b.CreateVectorSplat(W, b.CreateLoad(f64, mem.at(f64, params, mem.idx(fn.nodes[id].index))));
  std::vector<int> reds;
  for (size_t id = 0; id < fn.nodes.size(); ++id)
    if (fn.nodes[id].op == ir::Op::Dot || fn.nodes[id].op == ir::Op::SqDist) reds.push_back(static_cast<int>(id));
  const int R = static_cast<int>(reds.size());

  // ---- 1. scores, masked, and their max ------------------------------------
  // Emitted twice: with the mask (bounds lo, hi and the vis bits), and
  // without it when vis is null (the ABI: every query sees every key; the
  // dense blocks of most masks), five vector ops fewer per score vector.
  auto scores = [&](bool masked) {
   return emit_loop(
      b, groups, std::vector<Value*>(QV, neg_inf), "keys", [&](Value* g, const std::vector<Value*>& mb_in) {
        std::vector<Value*> mb_out = mb_in;
        Value* j0 = b.CreateMul(g, mem.idx(NK));
        std::vector<Value*> krow(NK);
        for (int j = 0; j < NK; ++j)
          krow[j] = b.CreateLoad(f32p, mem.at(f32p, kp, b.CreateAdd(j0, mem.idx(j))));
        // acc[(r * NK + j) * QV + v]
        std::vector<Value*> acc = emit_loop(
            b, mem.idx(d), std::vector<Value*>(R * NK * QV, zero_f), "dot",
            [&](Value* t, const std::vector<Value*>& in) {
              std::vector<Value*> out = in;
              std::vector<Value*> qv(QV), kb(NK);
              for (int v = 0; v < QV; ++v) qv[v] = mem.load_vec(vf, f32, qt, b.CreateAdd(b.CreateMul(t, mem.idx(Q)), mem.idx(v * W)));
              for (int j = 0; j < NK; ++j) kb[j] = b.CreateVectorSplat(W, b.CreateLoad(f32, mem.at(f32, krow[j], t)));
              for (int r = 0; r < R; ++r) {
                const ir::Node& node = fn.nodes[reds[r]];
                const int ia = fn.nodes[node.a].index, ib = fn.nodes[node.b].index;
                for (int j = 0; j < NK; ++j)
                  for (int v = 0; v < QV; ++v) {
                    Value* x = ia == 0 ? qv[v] : kb[j];
                    Value* y = ib == 0 ? qv[v] : kb[j];
                    if (node.op == ir::Op::SqDist) x = y = b.CreateFSub(x, y);
                    Value*& a = out[(r * NK + j) * QV + v];
                    a = mem.fma(x, y, a);
                  }
              }
              return out;
            });
        for (int j = 0; j < NK; ++j)
          for (int v = 0; v < QV; ++v) {
            // The score program, lane-wise in f64.
            Value* logit64 = emit_logit_lanes(
                b, fn, vd,
                [&](int id) {
                  const int r = static_cast<int>(std::find(reds.begin(), reds.end(), id) - reds.begin());
                  return acc[(r * NK + j) * QV + v];
                },
                [&](int id) { return param_v[id]; },
                [&] {  // kpos[j] - qpos[i] per lane, exact in f64
                  Value* kj = b.CreateVectorSplat(W, b.CreateLoad(i32, mem.at(i32, kpos, b.CreateAdd(j0, mem.idx(j)))));
                  return b.CreateSIToFP(b.CreateSub(kj, qpos_v[v]), vd);
                });
            Value* logit = b.CreateFPTrunc(logit64, vf);
            Value* weight = sigmoid ? emit_sigmoid32(b, b.CreateFPTrunc(b.CreateFAdd(logit64, bias_v), vf), target)
                                    : logit;
            if (masked) {
              Value* key = b.CreateVectorSplat(W, b.CreateTrunc(b.CreateAdd(j0, mem.idx(j)), i32));
              Value* visible = b.CreateAnd(b.CreateICmpSLE(lo_v[v], key), b.CreateICmpSLT(key, hi_v[v]));
              Value* vis_pos = b.CreateAdd(b.CreateMul(b.CreateAdd(j0, mem.idx(j)), mem.idx(Q)), mem.idx(v * W));
              Value* vis_v =
                  b.CreateAlignedLoad(vb, b.CreateBitCast(mem.at(i8, vis, vis_pos), PointerType::getUnqual(vb)), Align(1));
              visible = b.CreateAnd(visible, b.CreateICmpNE(vis_v, ConstantInt::get(vb, 0)));
              logit = b.CreateSelect(visible, logit, neg_inf);
              weight = sigmoid ? b.CreateSelect(visible, weight, zero_f) : logit;
            }
            mem.store_vec(weight, f32, s, b.CreateAdd(b.CreateMul(b.CreateAdd(j0, mem.idx(j)), mem.idx(Q)), mem.idx(v * W)));
            mb_out[v] = b.CreateSelect(b.CreateFCmpOGT(logit, mb_out[v]), logit, mb_out[v]);
          }
        return mb_out;
      });
  };
  Value* dense = b.CreateICmpEQ(vis, ConstantPointerNull::get(cast<PointerType>(i8p)));
  BasicBlock* dense_bb = BasicBlock::Create(ctx, "dense", f);
  BasicBlock* masked_bb = BasicBlock::Create(ctx, "masked", f);
  BasicBlock* scored_bb = BasicBlock::Create(ctx, "scored", f);
  b.CreateCondBr(dense, dense_bb, masked_bb);
  b.SetInsertPoint(dense_bb);
  std::vector<Value*> mb_dense = scores(false);
  BasicBlock* dense_end = b.GetInsertBlock();
  b.CreateBr(scored_bb);
  b.SetInsertPoint(masked_bb);
  std::vector<Value*> mb_masked = scores(true);
  BasicBlock* masked_end = b.GetInsertBlock();
  b.CreateBr(scored_bb);
  b.SetInsertPoint(scored_bb);
  std::vector<Value*> mb(QV);
  for (int v = 0; v < QV; ++v) {
    PHINode* phi = b.CreatePHI(vf, 2);
    phi->addIncoming(mb_dense[v], dense_end);
    phi->addIncoming(mb_masked[v], masked_end);
    mb[v] = phi;
  }

  // ---- 2. online softmax -------------------------------------------------
  // m keeps the max logit either way; the sigmoid's weights are final.
  std::vector<Value*> m_old(QV), ms(QV);
  for (int v = 0; v < QV; ++v) {
    m_old[v] = mem.load_vec(vf, f32, m, mem.idx(v * W));
    Value* m_new = b.CreateSelect(b.CreateFCmpOGT(mb[v], m_old[v]), mb[v], m_old[v]);
    ms[v] = b.CreateSelect(b.CreateFCmpOEQ(m_new, neg_inf), zero_f, m_new);
    mem.store_vec(m_new, f32, m, mem.idx(v * W));
  }
  if (!sigmoid) {
    std::vector<Value*> lb = emit_loop(b, padded, std::vector<Value*>(QV, zero_f), "softmax",
                                       [&](Value* j, const std::vector<Value*>& in) {
                                         std::vector<Value*> out = in;
                                         for (int v = 0; v < QV; ++v) {
                                           Value* pos = b.CreateAdd(b.CreateMul(j, mem.idx(Q)), mem.idx(v * W));
                                           Value* p = emit_exp32(b, b.CreateFSub(mem.load_vec(vf, f32, s, pos), ms[v]),
                                                                 target);
                                           mem.store_vec(p, f32, s, pos);
                                           out[v] = b.CreateFAdd(out[v], p);
                                         }
                                         return out;
                                       });
    for (int v = 0; v < QV; ++v) {
      Value* alpha = emit_exp32(b, b.CreateFSub(m_old[v], ms[v]), target);
      mem.store_vec(alpha, f32, alpha_mem, mem.idx(v * W));
      Value* lv = mem.load_vec(vd, f64, l, mem.idx(v * W));
      mem.store_vec(mem.fma(lv, b.CreateFPExt(alpha, vd), b.CreateFPExt(lb[v], vd)), f64, l, mem.idx(v * W));
    }
  }

  // ---- 3. P.V, merged into the f64 state ---------------------------------
  // Value vectors in groups of value_vectors; c0 is the group's first vector,
  // static (unrolled) or a loop index. Past ir::kMaxUnrolledHeadDim value
  // dims the groups of whole vectors run as a loop, so compile time stays
  // bounded; each output element's arithmetic is the same either way.
  const int VV = (dv + W - 1) / W, QG = k.query_group;
  auto pv_group = [&](Value* c0, int c0_static, int CV) {
    emit_loop(b, mem.idx(Q / QG), {}, "pv", [&](Value* qg, const std::vector<Value*>&) {
      Value* i0 = b.CreateMul(qg, mem.idx(QG));
      std::vector<Value*> acc = emit_loop(
          b, padded, std::vector<Value*>(QG * CV, zero_f), "pv.keys", [&](Value* j, const std::vector<Value*>& in) {
            std::vector<Value*> out = in;
            Value* vrow = b.CreateLoad(f32p, mem.at(f32p, vp, j));
            std::vector<Value*> vv(CV);
            for (int c = 0; c < CV; ++c) {
              if (c0_static >= 0) {
                const int e0 = (c0_static + c) * W;
                vv[c] = mem.load_row(vf, vrow, e0, std::min(W, dv - e0));
              } else {
                vv[c] = mem.load_vec(vf, f32, vrow, b.CreateMul(b.CreateAdd(c0, mem.idx(c)), mem.idx(W)));
              }
            }
            for (int qi = 0; qi < QG; ++qi) {
              Value* p = b.CreateVectorSplat(
                  W, b.CreateLoad(f32, mem.at(f32, s, b.CreateAdd(b.CreateMul(j, mem.idx(Q)), b.CreateAdd(i0, mem.idx(qi))))));
              for (int c = 0; c < CV; ++c) out[qi * CV + c] = mem.fma(p, vv[c], out[qi * CV + c]);
            }
            return out;
          });
      for (int qi = 0; qi < QG; ++qi) {
        Value* i = b.CreateAdd(i0, mem.idx(qi));
        Value* a = sigmoid ? nullptr
                           : b.CreateVectorSplat(W, b.CreateFPExt(b.CreateLoad(f32, mem.at(f32, alpha_mem, i)), f64));
        for (int c = 0; c < CV; ++c) {
          Value* pos = b.CreateAdd(b.CreateMul(i, mem.idx(shape.o_stride)),
                                   b.CreateMul(b.CreateAdd(c0, mem.idx(c)), mem.idx(W)));
          Value* ov = mem.load_vec(vd, f64, o, pos);
          Value* add = b.CreateFPExt(acc[qi * CV + c], vd);
          mem.store_vec(sigmoid ? b.CreateFAdd(ov, add) : mem.fma(ov, a, add), f64, o, pos);
        }
      }
      return std::vector<Value*>{};
    });
  };
  const int CVG = k.value_vectors;
  const int looped = dv > ir::kMaxUnrolledHeadDim ? dv / W / CVG : 0;  // groups of whole vectors in a loop
  if (looped > 0)
    emit_loop(b, mem.idx(looped), {}, "pv.groups", [&](Value* g, const std::vector<Value*>&) {
      pv_group(b.CreateMul(g, mem.idx(CVG)), -1, CVG);
      return std::vector<Value*>{};
    });
  for (int c0 = looped * CVG; c0 < VV; c0 += CVG) pv_group(mem.idx(c0), c0, std::min(CVG, VV - c0));
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen
