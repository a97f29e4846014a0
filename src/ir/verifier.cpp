#include "ir/verifier.h"

#include <string>

#include "ir/errors.h"

namespace rvj::ir {

namespace {
[[noreturn]] void fail(const Function& fn, size_t id, const std::string& what) {
  throw Error(ErrorKind::Internal,
              "IR verification failed in kernel " + fn.name + " at %" + std::to_string(id) + ": " + what);
}
// Whether vector node `id` depends on a scalar (a Scale somewhere below it).
bool reads_scalar(const Function& fn, int id) {
  const Node& n = fn.nodes[id];
  if (n.op == Op::Input) return false;
  if (n.op == Op::Scale) return true;
  return (n.a >= 0 && reads_scalar(fn, n.a)) || (n.b >= 0 && reads_scalar(fn, n.b));
}
}  // namespace

void verify(const Function& fn) {
  if (fn.kind == KernelKind::Panel || fn.kind == KernelKind::Features) {  // the length is a runtime argument
    if (fn.dims != 0) fail(fn, 0, "a panel or feature kernel has dims 0");
    if (std::string why = panel_error(fn); !why.empty()) fail(fn, 0, "not a panel kernel: " + why);
    return;
  }
  if (fn.dims < 1) fail(fn, 0, "dims must be at least 1");
  int outputs = 0, vec_outputs = 0;
  for (size_t id = 0; id < fn.nodes.size(); ++id) {
    const Node& n = fn.nodes[id];
    auto operand = [&](int ref, Type want) {
      if (ref < 0 || static_cast<size_t>(ref) >= id) fail(fn, id, "operand does not precede its use");
      if (fn.nodes[ref].type != want)
        fail(fn, id, want == Type::Vec ? "operand must be a vector" : "operand must be a scalar");
      if (fn.nodes[ref].op == Op::Output || fn.nodes[ref].op == Op::OutputVec)
        fail(fn, id, "an output is not a value");
    };
    switch (n.op) {
      case Op::Input:
        if (n.type != Type::Vec || n.index < 0 || n.index >= fn.num_inputs) fail(fn, id, "bad input slot");
        break;
      case Op::Param:
        if (n.type != Type::Scalar || n.index < 0 || n.index >= fn.num_params) fail(fn, id, "bad param slot");
        break;
      case Op::Element:
        if (n.type != Type::Scalar) fail(fn, id, "an element is a scalar");
        operand(n.a, Type::Vec);
        if (fn.nodes[n.a].op != Op::Input) fail(fn, id, "element reads a vector input");
        if (n.index < 0 || n.index >= fn.dims) fail(fn, id, "element index out of range");
        break;
      case Op::Const:
      case Op::Position:
        if (n.type != Type::Scalar) fail(fn, id, "const and position are scalars");
        break;
      case Op::Dot:
      case Op::SqDist:
        if (n.type != Type::Scalar) fail(fn, id, "a reduction yields a scalar");
        operand(n.a, Type::Vec);
        operand(n.b, Type::Vec);
        // The fused reduction loop reads f32 inputs; computed vectors exist
        // only in the elementwise output loop that follows it.
        if (fn.nodes[n.a].op != Op::Input || fn.nodes[n.b].op != Op::Input)
          fail(fn, id, "a reduction reads vector inputs only");
        break;
      case Op::Neg:
      case Op::Sqrt:
      case Op::Log1p:
      case Op::Tanh:
      case Op::Atanh:
        operand(n.a, Type::Scalar);
        if (n.b != -1) fail(fn, id, "unary op with two operands");
        break;
      case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::Min: case Op::Max: case Op::LeakyRelu:
        operand(n.a, Type::Scalar);
        operand(n.b, Type::Scalar);
        break;
      case Op::Output:
        operand(n.a, Type::Scalar);
        if (n.index != outputs++) fail(fn, id, "output slots must be numbered in order");
        break;
      case Op::Scale:
        if (n.type != Type::Vec) fail(fn, id, "scale yields a vector");
        operand(n.a, Type::Vec);
        operand(n.b, Type::Scalar);
        break;
      case Op::AddVec:
      case Op::SubVec:
      case Op::MulVec:
      case Op::LeakyReluVec:
        if (n.type != Type::Vec) fail(fn, id, "an elementwise op yields a vector");
        operand(n.a, Type::Vec);
        operand(n.b, Type::Vec);
        break;
      case Op::TanhVec:
        if (n.type != Type::Vec) fail(fn, id, "an elementwise op yields a vector");
        operand(n.a, Type::Vec);
        if (n.b != -1) fail(fn, id, "unary op with two operands");
        break;
      case Op::Sum:
        if (n.type != Type::Scalar || n.precision != Precision::F64) fail(fn, id, "a sum yields an f64 scalar");
        operand(n.a, Type::Vec);
        // Sums run before the scalar program (its values may read them), so
        // their expression reads vector inputs only, never a scalar.
        if (reads_scalar(fn, n.a)) fail(fn, id, "a sum's expression must not read scalars");
        break;
      case Op::OutputVec:
        operand(n.a, Type::Vec);
        if (n.index != vec_outputs++) fail(fn, id, "vector output slots must be numbered in order");
        break;
    }
  }
  if (outputs == 0 && vec_outputs == 0) fail(fn, fn.nodes.size(), "a kernel needs at least one output");
  if (outputs != fn.num_outputs) fail(fn, fn.nodes.size(), "output count mismatch");
  if (vec_outputs != fn.num_vec_outputs) fail(fn, fn.nodes.size(), "vector output count mismatch");
  if (fn.kind != KernelKind::Row) {
    if (std::string why = tile_error(fn); !why.empty()) fail(fn, 0, "not a tile kernel: " + why);
    if (fn.value_dims < 1) fail(fn, 0, "a tile kernel needs value_dims >= 1");
  }
}

}  // namespace rvj::ir
