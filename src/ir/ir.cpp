#include "ir/ir.h"

#include <utility>

#include "ir/errors.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace rvj::ir {

const char* op_name(Op op) {
  switch (op) {
    case Op::Input: return "input";
    case Op::Param: return "param";
    case Op::Const: return "const";
    case Op::Position: return "position";
    case Op::Element: return "element";
    case Op::Dot: return "dot";
    case Op::SqDist: return "sqdist";
    case Op::Add: return "add";
    case Op::Sub: return "sub";
    case Op::Mul: return "mul";
    case Op::Div: return "div";
    case Op::Neg: return "neg";
    case Op::Sqrt: return "sqrt";
    case Op::Log1p: return "log1p";
    case Op::Tanh: return "tanh";
    case Op::Atanh: return "atanh";
    case Op::Min: return "min";
    case Op::Max: return "max";
    case Op::LeakyRelu: return "leaky_relu";
    case Op::Scale: return "scale";
    case Op::AddVec: return "addvec";
    case Op::SubVec: return "subvec";
    case Op::MulVec: return "mulvec";
    case Op::TanhVec: return "tanhvec";
    case Op::LeakyReluVec: return "leakyreluvec";
    case Op::Sum: return "sum";
    case Op::Output: return "output";
    case Op::OutputVec: return "outvec";
  }
  return "?";
}

int reduction_partials(const Function& fn) {
  int reductions = 0;
  bool any_f64 = false;
  for (const Node& n : fn.nodes)
    if (n.op == Op::Dot || n.op == Op::SqDist || n.op == Op::Sum) {
      ++reductions;
      any_f64 |= n.precision == Precision::F64;
    }
  // 64 f32 partials = 4 zmm / 8 ymm / 16 NEON q accumulators; halved for f64
  // and again when several reductions share the register file.
  int p = any_f64 ? 32 : 64;
  return reductions > 1 ? p / 2 : p;
}

std::string tile_error(const Function& score) {
  if (score.num_inputs != 2 || score.num_outputs != 1) return "it is not a two-input score with one output";
  if (score.num_vec_outputs != 0) return "it has vector outputs";
  for (const Node& n : score.nodes) {
    if ((n.op == Op::Dot || n.op == Op::SqDist) && n.precision != Precision::F32)
      return "it accumulates in f64";
    if (n.op == Op::Log1p) return "it uses log1p, which has no vector form";
    if (n.op == Op::Element) return "it reads single elements";
    if (n.op == Op::Tanh || n.op == Op::Atanh || n.op == Op::TanhVec)
      return std::string("it uses ") + op_name(n.op) + ", which has no vector form";
    if (n.op == Op::Sum) return "it sums an elementwise expression";
  }
  return {};
}

TileShape query_shape(const Function& fn) {
  return {1, kQueryKeys, (fn.value_dims + kQueryKeys - 1) / kQueryKeys * kQueryKeys};
}

const char* kind_name(KernelKind kind, TileWeights weights, FeatureMap features) {
  switch (kind) {
    case KernelKind::Row: return "";
    case KernelKind::Tile: return weights == TileWeights::Sigmoid ? "sigmoid_tile" : "tile";
    case KernelKind::Query: return "query";
    case KernelKind::Panel: return "panel";
    case KernelKind::Features:
      return features == FeatureMap::Favor       ? "favor_features"
             : features == FeatureMap::CosFormer ? "cosformer_features"
                                                 : "elu_features";
  }
  return "?";
}

Function tile_kernel(const Function& score, int value_dims, KernelKind kind, TileWeights weights) {
  if (std::string why = tile_error(score); !why.empty())
    throw Error(ErrorKind::Unsupported, "score " + score.name + " cannot run in a tile kernel: " + why);
  if (value_dims < 1) throw Error(ErrorKind::Internal, "a tile kernel needs value rows");
  if (weights != TileWeights::Softmax && kind != KernelKind::Tile)
    throw Error(ErrorKind::Internal, "only tile kernels weigh keys other than by the softmax");
  Function t = score;
  t.kind = kind;
  t.weights = weights;
  t.value_dims = value_dims;
  return t;
}

std::string panel_error(const Function& score) {
  if (score.num_inputs != 2 || score.num_outputs != 1 || score.num_params != 0 || score.num_vec_outputs != 0 ||
      score.nodes.size() != 4)
    return "it is not a bare dot product of two inputs";
  const Node& dot = score.nodes[2];
  if (dot.op != Op::Dot || dot.precision != Precision::F32 || score.nodes[3].op != Op::Output || score.nodes[3].a != 2)
    return "it is not a bare f32 dot product";
  return {};
}

Function panel_kernel(const Function& score) {
  if (std::string why = panel_error(score); !why.empty())
    throw Error(ErrorKind::Unsupported, "score " + score.name + " cannot run in a panel kernel: " + why);
  Function p = score;
  p.kind = KernelKind::Panel;
  p.dims = 0;
  return p;
}

Function feature_kernel(const Function& score, FeatureMap f) {
  Function p = panel_kernel(score);
  p.kind = KernelKind::Features;
  p.features = f;
  return p;
}

uint64_t Function::hash() const {
  // FNV-1a over the printed program: the text is the canonical form.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : print(*this)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Builder::Builder(std::string name, int dims) {
  fn_.name = std::move(name);
  fn_.dims = dims;
}

int Builder::push(Node n) {
  fn_.nodes.push_back(n);
  return static_cast<int>(fn_.nodes.size()) - 1;
}

int Builder::input() {
  Node n{Op::Input, Type::Vec};
  n.index = fn_.num_inputs++;
  return push(n);
}

int Builder::param() {
  Node n{Op::Param, Type::Scalar};
  n.index = fn_.num_params++;
  return push(n);
}

int Builder::constant(double v) {
  Node n{Op::Const, Type::Scalar};
  n.value = v;
  return push(n);
}

int Builder::position() { return push(Node{Op::Position, Type::Scalar}); }

int Builder::element(int vec, int index) {
  Node n{Op::Element, Type::Scalar, vec};
  n.index = index;
  return push(n);
}

int Builder::dot(int a, int b, Precision p) {
  Node n{Op::Dot, Type::Scalar, a, b};
  n.precision = p;
  return push(n);
}

int Builder::sq_dist(int a, int b, Precision p) {
  Node n{Op::SqDist, Type::Scalar, a, b};
  n.precision = p;
  return push(n);
}

int Builder::scalar_op(Op op, int a, int b) { return push(Node{op, Type::Scalar, a, b}); }
int Builder::add(int a, int b) { return scalar_op(Op::Add, a, b); }
int Builder::sub(int a, int b) { return scalar_op(Op::Sub, a, b); }
int Builder::mul(int a, int b) { return scalar_op(Op::Mul, a, b); }
int Builder::div(int a, int b) { return scalar_op(Op::Div, a, b); }
int Builder::neg(int a) { return scalar_op(Op::Neg, a); }
int Builder::sqrt(int a) { return scalar_op(Op::Sqrt, a); }
int Builder::log1p(int a) { return scalar_op(Op::Log1p, a); }
int Builder::min(int a, int b) { return scalar_op(Op::Min, a, b); }
int Builder::max(int a, int b) { return scalar_op(Op::Max, a, b); }
int Builder::leaky_relu(int a, int slope) { return scalar_op(Op::LeakyRelu, a, slope); }
int Builder::tanh(int a) { return scalar_op(Op::Tanh, a); }
int Builder::atanh(int a) { return scalar_op(Op::Atanh, a); }
int Builder::scale(int vec, int s) { return push(Node{Op::Scale, Type::Vec, vec, s}); }
int Builder::add_vec(int a, int b) { return push(Node{Op::AddVec, Type::Vec, a, b}); }
int Builder::sub_vec(int a, int b) { return push(Node{Op::SubVec, Type::Vec, a, b}); }
int Builder::mul_vec(int a, int b) { return push(Node{Op::MulVec, Type::Vec, a, b}); }
int Builder::tanh_vec(int a) { return push(Node{Op::TanhVec, Type::Vec, a}); }
int Builder::leaky_relu_vec(int a, int slope_vec) { return push(Node{Op::LeakyReluVec, Type::Vec, a, slope_vec}); }
int Builder::sum(int vec) {
  Node n{Op::Sum, Type::Scalar, vec};
  n.precision = Precision::F64;
  return push(n);
}

void Builder::output(int a) {
  Node n{Op::Output, Type::Scalar, a};
  n.index = fn_.num_outputs++;
  push(n);
}

void Builder::output_vec(int vec) {
  Node n{Op::OutputVec, Type::Vec, vec};
  n.index = fn_.num_vec_outputs++;
  push(n);
}

Function Builder::finish() {
  verify(fn_);
  return std::move(fn_);
}

}  // namespace rvj::ir
