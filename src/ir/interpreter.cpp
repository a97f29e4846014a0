#include "ir/interpreter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rvj::ir {

namespace {
template <typename Acc>
double reduce(Op op, const float* a, const float* b, int n) {
  Acc s = 0;
  for (int i = 0; i < n; ++i) {
    if (op == Op::Dot) {
      s += static_cast<Acc>(a[i]) * static_cast<Acc>(b[i]);
    } else {
      Acc d = static_cast<Acc>(a[i]) - static_cast<Acc>(b[i]);
      s += d * d;
    }
  }
  return static_cast<double>(s);
}
}  // namespace

void interpret(const Function& fn, const float* const* inputs, const double* params, double* out) {
  std::vector<double> val(fn.nodes.size(), 0.0);
  std::vector<const float*> vec(fn.nodes.size(), nullptr);
  for (size_t id = 0; id < fn.nodes.size(); ++id) {
    const Node& n = fn.nodes[id];
    double a = n.a >= 0 ? val[n.a] : 0, b = n.b >= 0 ? val[n.b] : 0;
    switch (n.op) {
      case Op::Input: vec[id] = inputs[n.index]; break;
      case Op::Param: val[id] = params[n.index]; break;
      case Op::Const: val[id] = n.value; break;
      case Op::Dot:
      case Op::SqDist:
        val[id] = n.precision == Precision::F32 ? reduce<float>(n.op, vec[n.a], vec[n.b], fn.dims)
                                                : reduce<double>(n.op, vec[n.a], vec[n.b], fn.dims);
        break;
      case Op::Add: val[id] = a + b; break;
      case Op::Sub: val[id] = a - b; break;
      case Op::Mul: val[id] = a * b; break;
      case Op::Div: val[id] = a / b; break;
      case Op::Neg: val[id] = -a; break;
      case Op::Sqrt: val[id] = std::sqrt(a); break;
      case Op::Log1p: val[id] = std::log1p(a); break;
      case Op::Min: val[id] = std::min(a, b); break;
      case Op::Max: val[id] = std::max(a, b); break;
      case Op::Output: out[n.index] = a; break;
    }
  }
}

}  // namespace rvj::ir
