// Building blocks the kernel kinds share (lower.cpp, lower_tile.cpp,
// lower_query.cpp): loops with carried values, exp32, halving folds.
#include "codegen/emit.h"

#include <llvm/IR/IntrinsicsX86.h>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Intrinsics.h>

#include "ir/exp32.h"
#include "ir/tanh64.h"

namespace rvj::codegen {

using namespace llvm;

// for (iv = 0; iv < count; ++iv) with loop-carried values; count >= 1.
// body(iv, carried) returns the carried values' next state; the final state
// is returned.
std::vector<Value*> emit_loop(IRBuilder<>& b, Value* count, std::vector<Value*> carried, const std::string& name,
                              const std::function<std::vector<Value*>(Value*, const std::vector<Value*>&)>& body) {
  LLVMContext& ctx = b.getContext();
  Function* f = b.GetInsertBlock()->getParent();
  BasicBlock* pre = b.GetInsertBlock();
  BasicBlock* head = BasicBlock::Create(ctx, name, f);
  BasicBlock* exit = BasicBlock::Create(ctx, name + ".end", f);
  b.CreateBr(head);
  b.SetInsertPoint(head);
  PHINode* iv = b.CreatePHI(b.getInt64Ty(), 2, name + ".i");
  iv->addIncoming(b.getInt64(0), pre);
  std::vector<PHINode*> phis;
  for (Value*& c : carried) {
    PHINode* p = b.CreatePHI(c->getType(), 2);
    p->addIncoming(c, pre);
    phis.push_back(p);
    c = p;
  }
  std::vector<Value*> next = body(iv, carried);
  BasicBlock* latch = b.GetInsertBlock();
  Value* inc = b.CreateAdd(iv, b.getInt64(1), name + ".next", true, true);
  iv->addIncoming(inc, latch);
  for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], latch);
  b.CreateCondBr(b.CreateICmpEQ(inc, count), exit, head);
  b.SetInsertPoint(exit);
  return next;
}

// ir/exp32.h, on a vector of floats.
Value* emit_exp32(IRBuilder<>& b, Value* x, const Target& target) {
  using namespace ir::exp_f32;
  Type* vf = x->getType();
  auto c = [&](float v) { return ConstantFP::get(vf, v); };
  auto fma = [&](Value* p, Value* q, Value* r) { return b.CreateIntrinsic(Intrinsic::fma, {vf}, {p, q, r}); };
  Value* below = b.CreateFCmpOLT(x, c(kMin));
  Value* xc = b.CreateSelect(below, c(kMin), x);
  Value* n = b.CreateUnaryIntrinsic(Intrinsic::rint, b.CreateFMul(xc, c(kLog2e)));
  Value* neg_n = b.CreateFNeg(n);
  Value* r = fma(neg_n, c(kLn2Hi), xc);
  r = fma(neg_n, c(kLn2Lo), r);
  Value* p = c(kPoly[0]);
  for (int i = 1; i < 6; ++i) p = fma(p, r, c(kPoly[i]));
  Value* y = b.CreateFAdd(fma(p, b.CreateFMul(r, r), r), c(1.0f));
  auto* vty = cast<FixedVectorType>(vf);
  if (target.isa == Isa::Avx512 && vty->getNumElements() == 16) {
    // vscalefps: y * 2^n in one instruction, the same bits as the product
    // with 2^n' below wherever n is in [-126, 0], which the callers' x <= 0
    // (a logit minus its row's max) guarantees (ir/exp32.h).
    Value* scaled = b.CreateIntrinsic(Intrinsic::x86_avx512_mask_scalef_ps_512, {},
                                      {y, n, ConstantFP::get(vf, 0.0), b.getInt16(0xffff), b.getInt32(4)});
    return b.CreateSelect(below, c(0.0f), scaled);
  }
  Value* nc = b.CreateSelect(b.CreateFCmpOGE(n, c(-126.0f)), n, c(-126.0f));
  nc = b.CreateSelect(b.CreateFCmpOLE(nc, c(0.0f)), nc, c(0.0f));
  Type* vi = VectorType::getInteger(cast<VectorType>(vf));
  Value* bits = b.CreateShl(b.CreateAdd(b.CreateFPToSI(nc, vi), ConstantInt::get(vi, 127)), ConstantInt::get(vi, 23));
  return b.CreateSelect(below, c(0.0f), b.CreateFMul(y, b.CreateBitCast(bits, vf)));
}

Value* emit_sigmoid32(IRBuilder<>& b, Value* x, const Target& target) {
  Type* vf = x->getType();
  Value* zero = ConstantFP::get(vf, 0.0f);
  Value* e = emit_exp32(b, b.CreateSelect(b.CreateFCmpOGT(x, zero), b.CreateFNeg(x), x), target);
  Value* num = b.CreateSelect(b.CreateFCmpOGE(x, zero), ConstantFP::get(vf, 1.0f), e);
  return b.CreateFDiv(num, b.CreateFAdd(ConstantFP::get(vf, 1.0f), e));
}

Value* emit_tanh64(IRBuilder<>& b, Value* x) {
  using namespace ir::tanh_f64;
  Type* vd = x->getType();
  auto c = [&](double v) { return ConstantFP::get(vd, v); };
  auto fma = [&](Value* p, Value* q, Value* r) { return b.CreateIntrinsic(Intrinsic::fma, {vd}, {p, q, r}); };
  Value* a = b.CreateUnaryIntrinsic(Intrinsic::fabs, x);
  Value* s = b.CreateFMul(x, x);
  Value* p = c(kPoly[11]);
  for (int j = 10; j >= 0; --j) p = fma(p, s, c(kPoly[j]));
  Value* small = fma(b.CreateFMul(x, s), p, x);
  Value* ac = b.CreateSelect(b.CreateFCmpOLT(c(kBig), a), c(kBig), a);
  Value* y = b.CreateFMul(c(-2.0), ac);
  Value* n = b.CreateUnaryIntrinsic(Intrinsic::rint, b.CreateFMul(y, c(kLog2e)));
  Value* neg_n = b.CreateFNeg(n);
  Value* r = fma(neg_n, c(kLn2Hi), y);
  r = fma(neg_n, c(kLn2Lo), r);
  Value* q = c(kInvFactorial[13]);
  for (int k = 12; k >= 1; --k) q = fma(q, r, c(kInvFactorial[k]));
  q = fma(q, r, c(1.0));
  // 2^n from its bits; a NaN's n is taken as 0 (fptosi of NaN is poison).
  Value* nn = b.CreateSelect(b.CreateFCmpOEQ(n, n), n, c(0.0));
  Type* vi = VectorType::getInteger(cast<VectorType>(vd));
  Value* bits = b.CreateShl(b.CreateAdd(b.CreateFPToSI(nn, vi), ConstantInt::get(vi, 1023)), ConstantInt::get(vi, 52));
  Value* e = b.CreateFMul(q, b.CreateBitCast(bits, vd));
  Value* big = b.CreateFDiv(b.CreateFSub(c(1.0), e), b.CreateFAdd(c(1.0), e));
  return b.CreateBinaryIntrinsic(Intrinsic::copysign, b.CreateSelect(b.CreateFCmpOLT(a, c(kSmall)), small, big), x);
}

Value* Mem::at(Type* elem, Value* base, Value* index) { return b.CreateInBoundsGEP(elem, base, index); }

Value* Mem::load_vec(Type* vty, Type* elem, Value* base, Value* index) {
  return b.CreateAlignedLoad(vty, b.CreateBitCast(at(elem, base, index), PointerType::getUnqual(vty)), Align(4));
}

void Mem::store_vec(Value* v, Type* elem, Value* base, Value* index) {
  b.CreateAlignedStore(v, b.CreateBitCast(at(elem, base, index), PointerType::getUnqual(v->getType())), Align(4));
}

Value* Mem::fma(Value* x, Value* y, Value* z) { return b.CreateIntrinsic(Intrinsic::fma, {x->getType()}, {x, y, z}); }

Value* Mem::load_row(Type* vty, Value* row, int e0, int count) {
  auto* v = cast<FixedVectorType>(vty);
  const int lanes = static_cast<int>(v->getNumElements());
  if (count == lanes) return load_vec(vty, v->getElementType(), row, idx(e0));
  std::vector<Constant*> mask(lanes);
  for (int e = 0; e < lanes; ++e) mask[e] = b.getInt1(e < count);
  return b.CreateMaskedLoad(vty, b.CreateBitCast(at(v->getElementType(), row, idx(e0)), PointerType::getUnqual(vty)),
                            Align(4), ConstantVector::get(mask), ConstantFP::get(vty, 0.0));
}

Value* emit_fold(IRBuilder<>& b, std::vector<Value*> acc) {
  for (size_t half = acc.size() / 2; half >= 1; half /= 2)
    for (size_t j = 0; j < half; ++j) acc[j] = b.CreateFAdd(acc[j], acc[j + half]);
  Value* v = acc[0];
  const int lanes = static_cast<int>(cast<FixedVectorType>(v->getType())->getNumElements());
  for (int s = lanes / 2; s >= 1; s /= 2) {
    std::vector<int> mask(lanes, -1);
    for (int l = 0; l < s; ++l) mask[l] = l + s;
    v = b.CreateFAdd(v, b.CreateShuffleVector(v, mask));
  }
  return b.CreateExtractElement(v, uint64_t{0});
}

}  // namespace rvj::codegen
