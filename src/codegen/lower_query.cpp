// The single-query kernel: one query over a block of keys with the score,
// the online softmax and P.V fused. Scores follow the Row kernel's
// arithmetic (the canonical reduction order, then the score program in
// f64), so a one-row call scores exactly as ruvector_attention_score does;
// W keys are scored together so their lane folds share shuffles. Keys then
// run along the vector lanes for exp32 and the normaliser (16 partials,
// ISA-independent), and the value dimension along the lanes for P.V (even
// and odd keys in two chains, so consecutive fmas do not wait on each
// other). interpret_query() in src/ir/interpreter.cpp is the same arithmetic
// on scalars.
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
#include "ir/limits.h"

namespace rvj::codegen {

using namespace llvm;

namespace {

// One level of the lane fold for W keys at once. u and w each hold `keys`
// keys in blocks of 2h lanes (a key's partials 0..2h-1); the result holds
// their 2 * keys keys in blocks of h lanes, each lane the canonical
// part[p] + part[p + h] of its key (u's keys first).
Value* fold_level(IRBuilder<>& b, Value* u, Value* w, int W, int keys, int h) {
  std::vector<int> lo, hi;
  for (int src = 0; src < 2; ++src)
    for (int kk = 0; kk < keys; ++kk)
      for (int t = 0; t < h; ++t) {
        lo.push_back(src * W + kk * 2 * h + t);
        hi.push_back(src * W + kk * 2 * h + h + t);
      }
  return b.CreateFAdd(b.CreateShuffleVector(u, w, lo), b.CreateShuffleVector(u, w, hi));
}

}  // namespace

std::unique_ptr<Module> lower_query(const ir::Function& fn, const Target& target, const std::string& symbol,
                                    LLVMContext& ctx) {
  auto mod = std::make_unique<Module>("rvj_query_" + fn.name, ctx);
  mod->setTargetTriple(target.triple);
  const int W = target.vector_bits / 32, K = ir::kQueryKeys, dv = fn.value_dims, d = fn.dims;
  IRBuilder<> b(ctx);
  Type* f32 = b.getFloatTy();
  Type* f64 = b.getDoubleTy();
  Type* i64 = b.getInt64Ty();
  auto* vf = FixedVectorType::get(f32, W);
  auto* vd = FixedVectorType::get(f64, W);
  auto* vi = FixedVectorType::get(b.getInt32Ty(), W);
  auto* vb = FixedVectorType::get(b.getInt8Ty(), W);
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
  const int parts = std::max(1, K / W);  // vectors of the 16 partials (max, normaliser)

  // ---- 1. scores (the Row kernel's arithmetic), W keys at a time ---------
  // Per key and reduction, the Row kernel's canonical order (ir.h): P
  // partials in P/W vectors fed by fmas (whole blocks of P elements, then
  // the tail in whole and zero-padded vectors), folded across the vectors
  // by halving. The halving across lanes then runs for W keys together
  // (fold_level, log2 W levels of shuffles and adds), leaving key t's sum in
  // lane t; the score program follows lane-wise (emit_score_lanes).
  std::vector<int> reds;
  for (size_t id = 0; id < fn.nodes.size(); ++id)
    if (fn.nodes[id].op == ir::Op::Dot || fn.nodes[id].op == ir::Op::SqDist) reds.push_back(static_cast<int>(id));
  const int P = ir::reduction_partials(fn), R = static_cast<int>(reds.size());
  if (P % W != 0) fail_internal("fewer partials than lanes");
  const int accs = P / W, blocks = d / P, tail = d % P;
  std::vector<Value*> param_v(fn.nodes.size(), nullptr);
  for (size_t id = 0; id < fn.nodes.size(); ++id)
    if (fn.nodes[id].op == ir::Op::Param)
      param_v[id] = b.CreateVectorSplat(W, b.CreateLoad(f64, mem.at(f64, params, mem.idx(fn.nodes[id].index))));
  Value* qpos_v = b.CreateVectorSplat(W, qpos);
  Value* n_v = b.CreateVectorSplat(W, b.CreateTrunc(n, i32));
  std::vector<Constant*> lane_ids;
  for (int t = 0; t < W; ++t) lane_ids.push_back(b.getInt32(t));
  Value* lanes = ConstantVector::get(lane_ids);

  // The partial sums of key row `krow` for every reduction, folded across
  // vectors: one W-lane vector per reduction. acc[r * accs + j] holds
  // reduction r's partials j * W .. j * W + W - 1.
  auto key_partials = [&](Value* krow) {
    auto step = [&](std::vector<Value*>& acc, Value* base, int j, int count) {
      for (int r = 0; r < R; ++r) {
        const ir::Node& node = fn.nodes[reds[r]];
        auto load = [&](int which) {
          Value* row = fn.nodes[which].index == 0 ? q : krow;
          return mem.load_row(vf, mem.at(f32, row, b.CreateAdd(base, mem.idx(j * W))), 0, count);
        };
        Value* x = load(node.a);
        Value* y = load(node.b);
        if (node.op == ir::Op::SqDist) x = y = b.CreateFSub(x, y);
        acc[r * accs + j] = mem.fma(x, y, acc[r * accs + j]);
      }
    };
    auto whole_block = [&](std::vector<Value*>& acc, Value* base) {
      for (int j = 0; j < accs; ++j) step(acc, base, j, W);
    };
    std::vector<Value*> acc(static_cast<size_t>(R) * accs, zero_f);
    if (blocks > 4) {  // a loop per key; short rows are straight-line code
      acc = emit_loop(b, mem.idx(blocks), acc, "dot", [&](Value* blk, const std::vector<Value*>& in) {
        std::vector<Value*> next = in;
        whole_block(next, b.CreateMul(blk, mem.idx(P)));
        return next;
      });
    } else {
      for (int blk = 0; blk < blocks; ++blk) whole_block(acc, mem.idx(static_cast<int64_t>(blk) * P));
    }
    for (int j = 0; j * W < tail; ++j) step(acc, mem.idx(static_cast<int64_t>(blocks) * P), j, std::min(W, tail - j * W));
    std::vector<Value*> folded(R);
    for (int r = 0; r < R; ++r) {
      std::vector<Value*> a(acc.begin() + r * accs, acc.begin() + (r + 1) * accs);
      for (size_t half = a.size() / 2; half >= 1; half /= 2)
        for (size_t j = 0; j < half; ++j) a[j] = b.CreateFAdd(a[j], a[j + half]);
      folded[r] = a[0];
    }
    return folded;
  };

  // 16 keys per iteration in `parts` chunks of W; the max is kept per
  // partial (key j in partial j mod 16) and folded by halving at the end.
  std::vector<Value*> mparts = emit_loop(
      b, b.CreateUDiv(padded, mem.idx(K)), std::vector<Value*>(parts, ConstantVector::getSplat(ElementCount::getFixed(W), neg_inf)),
      "score", [&](Value* g, const std::vector<Value*>& in) {
        std::vector<Value*> mb = in;
        for (int u = 0; u < parts; ++u) {
          Value* j0 = b.CreateAdd(b.CreateMul(g, mem.idx(K)), mem.idx(u * W));
          // Per reduction, a stack of partly folded vectors (level, value):
          // two of the same level fold into one of the next.
          std::vector<std::vector<std::pair<int, Value*>>> stack(R);
          for (int t = 0; t < W; ++t) {
            Value* krow = mem.at(f32, b.CreateLoad(f32p, mem.at(f32p, kp, b.CreateAdd(j0, mem.idx(t)))), koff);
            std::vector<Value*> x = key_partials(krow);
            for (int r = 0; r < R; ++r) {
              auto& st = stack[r];
              st.push_back({0, x[r]});
              while (st.size() >= 2 && st[st.size() - 1].first == st[st.size() - 2].first) {
                const int level = st.back().first;
                Value* w = st.back().second;
                st.pop_back();
                Value* uu = st.back().second;
                st.pop_back();
                st.push_back({level + 1, fold_level(b, uu, w, W, 1 << level, W >> (level + 1))});
              }
            }
          }
          Value* logit = emit_score_lanes(
              b, fn, vd,
              [&](int id) {
                const int r = static_cast<int>(std::find(reds.begin(), reds.end(), id) - reds.begin());
                return stack[r].back().second;
              },
              [&](int id) { return param_v[id]; },
              [&] {  // kpos[j] - qpos per lane, exact in f64
                return b.CreateSIToFP(b.CreateSub(mem.load_vec(vi, i32, kpos, j0), qpos_v), vd);
              });
          Value* key = b.CreateAdd(b.CreateVectorSplat(W, b.CreateTrunc(j0, i32)), lanes);
          Value* vis_v = b.CreateAlignedLoad(vb, b.CreateBitCast(mem.at(i8, vis, j0), PointerType::getUnqual(vb)), Align(1));
          Value* seen = b.CreateAnd(b.CreateICmpSLT(key, n_v), b.CreateICmpNE(vis_v, ConstantInt::get(vb, 0)));
          logit = b.CreateSelect(seen, logit, ConstantVector::getSplat(ElementCount::getFixed(W), neg_inf));
          mem.store_vec(logit, f32, s, j0);
          mb[u] = b.CreateSelect(b.CreateFCmpOGT(logit, mb[u]), logit, mb[u]);
        }
        return mb;
      });
  // The max's halving fold: across the vectors, then the lanes (NaN and
  // ties as the interpreter: the later partial wins only if greater).
  auto max_of = [&](Value* a, Value* c) { return b.CreateSelect(b.CreateFCmpOGT(c, a), c, a); };
  for (size_t half = mparts.size() / 2; half >= 1; half /= 2)
    for (size_t j = 0; j < half; ++j) mparts[j] = max_of(mparts[j], mparts[j + half]);
  Value* mv = mparts[0];
  for (int h = W / 2; h >= 1; h /= 2) {
    std::vector<int> upper(W);
    for (int t = 0; t < W; ++t) upper[t] = t < h ? t + h : t;
    mv = max_of(mv, b.CreateShuffleVector(mv, upper));
  }
  Value* mb = b.CreateExtractElement(mv, uint64_t{0});

  // ---- 2. online softmax -------------------------------------------------
  Value* m_old = b.CreateLoad(f32, m);
  Value* m_new = b.CreateSelect(b.CreateFCmpOGT(mb, m_old), mb, m_old);
  Value* ms = b.CreateSelect(b.CreateFCmpOEQ(m_new, neg_inf), ConstantFP::get(f32, 0.0), m_new);
  b.CreateStore(m_new, m);
  Value* ms_v = b.CreateVectorSplat(W, ms);
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
  // Groups of CV_MAX value vectors; past ir::kMaxUnrolledHeadDim value dims
  // the groups of whole vectors run as a loop (bounded compile time, the
  // same arithmetic per element).
  const int VV = (dv + W - 1) / W, CV_MAX = 8;
  Value* alpha_v = b.CreateVectorSplat(W, alpha64);
  auto pv_group = [&](Value* c0, int c0_static, int CV) {
    std::vector<Value*> acc = emit_loop(
        b, b.CreateUDiv(padded, mem.idx(2)), std::vector<Value*>(2 * CV, zero_f), "pv",
        [&](Value* pair, const std::vector<Value*>& in) {
          std::vector<Value*> next = in;
          for (int parity = 0; parity < 2; ++parity) {
            Value* j = b.CreateAdd(b.CreateMul(pair, mem.idx(2)), mem.idx(parity));
            Value* p = b.CreateVectorSplat(W, b.CreateLoad(f32, mem.at(f32, s, j)));
            Value* vrow = mem.at(f32, b.CreateLoad(f32p, mem.at(f32p, vp, j)), voff);
            for (int c = 0; c < CV; ++c) {
              Value* vv;
              if (c0_static >= 0) {
                const int e0 = (c0_static + c) * W;
                vv = mem.load_row(vf, vrow, e0, std::min(W, dv - e0));
              } else {
                vv = mem.load_vec(vf, f32, vrow, b.CreateMul(b.CreateAdd(c0, mem.idx(c)), mem.idx(W)));
              }
              next[parity * CV + c] = mem.fma(p, vv, next[parity * CV + c]);
            }
          }
          return next;
        });
    for (int c = 0; c < CV; ++c) {
      Value* pos = b.CreateMul(b.CreateAdd(c0, mem.idx(c)), mem.idx(W));
      Value* sum = b.CreateFPExt(b.CreateFAdd(acc[c], acc[CV + c]), vd);
      mem.store_vec(mem.fma(mem.load_vec(vd, f64, o, pos), alpha_v, sum), f64, o, pos);
    }
  };
  const int looped = dv > ir::kMaxUnrolledHeadDim ? dv / W / CV_MAX : 0;
  if (looped > 0)
    emit_loop(b, mem.idx(looped), {}, "pv.groups", [&](Value* g, const std::vector<Value*>&) {
      pv_group(b.CreateMul(g, mem.idx(CV_MAX)), -1, CV_MAX);
      return std::vector<Value*>{};
    });
  for (int c0 = looped * CV_MAX; c0 < VV; c0 += CV_MAX) pv_group(mem.idx(c0), c0, std::min(CV_MAX, VV - c0));
  b.CreateRetVoid();
  return mod;
}

}  // namespace rvj::codegen
