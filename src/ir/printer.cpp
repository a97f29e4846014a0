#include "ir/printer.h"

#include <cstdio>

namespace rvj::ir {

namespace {
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
std::string ref(int id) {
  std::string s(1, '%');  // (appending avoids a GCC 12 -Wrestrict false positive)
  s += std::to_string(id);
  return s;
}
}  // namespace

std::string print(const Function& fn) {
  std::string s;
  if (fn.kind == KernelKind::Tile && fn.weights == TileWeights::Softmax)
    s = "tile kernel " + fn.name + ": flash step over a block of keys, values f32[" +
        std::to_string(fn.value_dims) + "]; per (query, key):\n";
  if (fn.kind == KernelKind::Tile && fn.weights == TileWeights::Sigmoid)
    s = "tile kernel " + fn.name + ": sigmoid step over a block of keys (w = sigmoid(logit + p" +
        std::to_string(fn.num_params) + "), O += w v), values f32[" + std::to_string(fn.value_dims) +
        "]; per (query, key):\n";
  if (fn.kind == KernelKind::Query)
    s = "query kernel " + fn.name + ": flash step of one query over a block of keys, values f32[" +
        std::to_string(fn.value_dims) + "]; per key:\n";
  if (fn.kind == KernelKind::Features)
    s = "feature kernel " + fn.name + ": phi = " + feature_map_name(fn.features) +
        " over a row of runtime length n, f32, for the dot product:\n";
  if (fn.kind == KernelKind::Panel)
    s = "panel kernel " + fn.name + ": rows x packed panels of " + std::to_string(kPanelWidth) +
        ", one f32 fma chain per product over a runtime length n; per (row, column):\n";
  s += "kernel " + fn.name + "(";
  for (int i = 0; i < fn.num_inputs; ++i)
    s += (i ? ", " : "") + std::string("in") + std::to_string(i) + ": f32[" +
         (fn.kind == KernelKind::Panel || fn.kind == KernelKind::Features ? std::string("n") : std::to_string(fn.dims)) + "]";
  for (int i = 0; i < fn.num_params; ++i)
    s += ", p" + std::to_string(i) + ": f64";
  s += ") -> f64[" + std::to_string(fn.num_outputs) + "]";
  for (int i = 0; i < fn.num_vec_outputs; ++i)
    s += ", vout" + std::to_string(i) + ": f32[" + std::to_string(fn.dims) + "]";
  s += "\n";

  for (size_t id = 0; id < fn.nodes.size(); ++id) {
    const Node& n = fn.nodes[id];
    std::string line = "  ";
    switch (n.op) {
      case Op::Input: line += ref(id) + " = input in" + std::to_string(n.index); break;
      case Op::Param: line += ref(id) + " = param p" + std::to_string(n.index); break;
      case Op::Const: line += ref(id) + " = const " + num(n.value); break;
      case Op::Position: line += ref(id) + " = position (key j - query i)"; break;
      case Op::Element: line += ref(id) + " = element " + ref(n.a) + "[" + std::to_string(n.index) + "]"; break;
      case Op::Dot:
      case Op::SqDist:
        line += ref(id) + " = " + op_name(n.op) +
                (n.precision == Precision::F32 ? ".f32 " : ".f64 ") + ref(n.a) + ", " + ref(n.b);
        break;
      case Op::Sum: line += ref(id) + " = sum.f64 " + ref(n.a); break;
      case Op::Output: line += "out[" + std::to_string(n.index) + "] = " + ref(n.a); break;
      case Op::OutputVec: line += "vout" + std::to_string(n.index) + " = " + ref(n.a); break;
      default:
        line += ref(id) + " = " + op_name(n.op) + " " + ref(n.a);
        if (n.b >= 0) line += ", " + ref(n.b);
    }
    s += line + "\n";
  }
  return s;
}

}  // namespace rvj::ir
