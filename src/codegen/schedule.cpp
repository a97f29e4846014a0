// What a kernel's schedule is on a target, without LLVM: register blocking,
// tile shapes and the one-line descriptions explain prints. The runtime lays
// out tile buffers from these; lower_tile.cpp and lower_query.cpp emit them.
#include "codegen/schedule.h"

#include <algorithm>
#include <string>

namespace rvj::codegen {

namespace {
int reductions(const ir::Function& fn) {
  int r = 0;
  for (const ir::Node& n : fn.nodes) r += n.op == ir::Op::Dot || n.op == ir::Op::SqDist;
  return r;
}
}  // namespace

// Register blocking per target: accumulators take half the register file,
// the rest holds the loaded operands.
Blocking blocking(const ir::Function& fn, const Target& t) {
  const int registers = t.isa == Isa::Avx512 || t.isa == Isa::Neon ? 32 : 16;
  Blocking k{};
  k.lanes = t.vector_bits / 32;
  k.query_vectors = 2;
  k.key_group = std::max(1, registers / 2 / (std::max(1, reductions(fn)) * k.query_vectors));
  k.query_group = registers == 32 ? 4 : 2;
  k.value_vectors = 4;
  return k;
}

ir::TileShape tile_shape(const ir::Function& fn, const Target& target) {
  const Blocking k = blocking(fn, target);
  return {k.lanes * k.query_vectors, k.key_group, (fn.value_dims + k.lanes - 1) / k.lanes * k.lanes};
}

std::string describe_tile(const ir::Function& fn, const Target& target) {
  const Blocking k = blocking(fn, target);
  const int W = k.lanes, vv = (fn.value_dims + W - 1) / W;
  const bool sigmoid = fn.weights == ir::TileWeights::Sigmoid;
  return std::string(sigmoid ? "sigmoid tile of " : "flash tile of ") + std::to_string(W * k.query_vectors) + " queries (" + std::to_string(k.query_vectors) +
         " x " + std::to_string(W) + " lanes, transposed) x keys in groups of " + std::to_string(k.key_group) +
         ": Q.K^T in " + std::to_string(k.key_group * k.query_vectors * std::max(1, reductions(fn))) +
         " accumulators, one f32 fma chain per score over " + std::to_string(fn.dims) +
         (sigmoid ? " elements; w = sigmoid32(logit + bias) per key, 0 where masked; P.V in "
                  : " elements; masked exp32 online softmax; P.V in ") +
         std::to_string(k.query_group) + " queries x " + std::to_string(std::min(k.value_vectors, vv)) + " of " +
         std::to_string(vv) + " value vector(s) per pass; " +
         (sigmoid ? "O (f64) summed unnormalised, m (f32) the max logit" : "state m (f32), l and O (f64)");
}

// 32 registers (AVX-512, NEON): 4 rows x 5 vectors is 20 sums, 5 loads and
// a broadcast; 16 (AVX2, generic): 4 x 3 is 12 sums, 3 loads and a
// broadcast, 7 loads per 12 fmas. A single row has no broadcast to share:
// 8 vectors keep 8 independent chains in flight.
PanelBlocking panel_blocking(const Target& t) {
  const bool wide = t.isa == Isa::Avx512 || t.isa == Isa::Neon;
  return {t.vector_bits / 32, 4, wide ? 5 : 3, 8};
}

std::string describe_panel(const Target& target) {
  const PanelBlocking k = panel_blocking(target);
  return "panel product: blocks of " + std::to_string(k.rows) + " rows x " + std::to_string(k.vectors * k.lanes) +
         " columns (" + std::to_string(k.rows * k.vectors) + " accumulators of " + std::to_string(k.lanes) +
         " lanes, one broadcast per row element), the last rows one at a time over up to " +
         std::to_string(k.row_vectors * k.lanes) + " columns; one f32 fma chain per product, elements in passes of " +
         std::to_string(kPanelChunk) + " (the panels stay in L1), columns up to the next multiple of " +
         std::to_string(k.lanes);
}

std::string describe_features(const ir::Function& fn, const Target& target) {
  const int W = target.vector_bits / 32;
  return std::string("feature map ") + ir::feature_map_name(fn.features) + " in one pass over the row: " +
         std::to_string(W) + "-lane f32 vectors" +
         (fn.features == ir::FeatureMap::CosFormer ? ", relu times the row's cos and sin" : ", exp32 inline") +
         ", then the tail one element at a time";
}

std::string describe_schedule(const ir::Function& fn, const Target& target) {
  if (fn.kind == ir::KernelKind::Tile) return describe_tile(fn, target);
  if (fn.kind == ir::KernelKind::Panel) return describe_panel(target);
  if (fn.kind == ir::KernelKind::Features) return describe_features(fn, target);
  if (fn.kind == ir::KernelKind::Query) {
    const int W = target.vector_bits / 32;
    ir::Function row = fn;
    row.kind = ir::KernelKind::Row;
    return "one query over blocks of keys in groups of " + std::to_string(ir::kQueryKeys) + ", scored " +
           std::to_string(W) + " at a time: per key the row kernel's order (" + describe_schedule(row, target) +
           "), the lane folds of " + std::to_string(W) + " keys together; exp32 over " +
           std::to_string(W) + "-key vectors, normaliser in 16 partials; P.V over " +
           std::to_string((fn.value_dims + W - 1) / W) + " value vector(s) in even/odd key chains; f64 state";
  }
  const int partials = ir::reduction_partials(fn);
  int reductions = 0, lanes = 0;
  for (const ir::Node& n : fn.nodes)
    if (n.op == ir::Op::Dot || n.op == ir::Op::SqDist) {
      ++reductions;
      int l = std::min(partials, target.vector_bits / (n.precision == ir::Precision::F32 ? 32 : 64));
      lanes = lanes ? std::min(lanes, l) : l;
    }
  // The elementwise loops: sums, then vector outputs.
  std::string elementwise;
  const int W = std::max(1, target.vector_bits / 64);
  int sums = 0;
  for (const ir::Node& n : fn.nodes) sums += n.op == ir::Op::Sum;
  if (sums > 0)
    elementwise += "; " + std::to_string(sums) + " sum(s) of an elementwise expression over " +
                   std::to_string(fn.dims) + " elements in " + std::to_string(partials / W) + " x " +
                   std::to_string(W) + "-lane f64 accumulators (" + std::to_string(partials) +
                   " partials, plain adds; tanh as ir/tanh64.h)";
  if (fn.num_vec_outputs > 0) {
    elementwise += "; then " + std::to_string(fn.num_vec_outputs) + " vector output(s) elementwise over " +
                  std::to_string(fn.dims) + " elements in " + std::to_string(W) + "-lane f64 vectors: " +
                  std::to_string(fn.dims / W) + " step(s), tail " + std::to_string(fn.dims % W) +
                  " element(s), rounded to f32 once";
  }
  if (reductions == 0)
    return (fn.num_vec_outputs > 0 || sums > 0 ? std::string("no fused reductions") : "scalar only") + elementwise;
  const int blocks = fn.dims / partials, tail = fn.dims % partials;
  return std::to_string(reductions) + " fused reduction(s) over " + std::to_string(fn.dims) + " elements: " +
         std::to_string(blocks) + " block(s) of " + std::to_string(partials) + " partial sums in " +
         std::to_string(partials / lanes) + " x " + std::to_string(lanes) + "-lane accumulators each, tail " +
         std::to_string(tail) + " (" + std::to_string(tail / lanes) + " vectors + " + std::to_string(tail % lanes) +
         " padded lanes)" + elementwise + "; single-threaded per row";
}

}  // namespace rvj::codegen
