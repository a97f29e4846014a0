#include "ir/interpreter.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rvj::ir {

namespace {
// The canonical order (ir.h): P partials fed by fused multiply-adds, folded
// by halving. Acc is float or double.
template <typename Acc>
double reduce(Op op, const float* a, const float* b, int n, int partials) {
  std::vector<Acc> part(partials, Acc(0));
  for (int i = 0; i < n; ++i) {
    Acc x = a[i], y = b[i];
    Acc& p = part[i % partials];
    if (op == Op::Dot) {
      p = std::fma(x, y, p);
    } else {
      Acc d = x - y;
      p = std::fma(d, d, p);
    }
  }
  for (int s = partials / 2; s >= 1; s /= 2)
    for (int p = 0; p < s; ++p) part[p] += part[p + s];
  return static_cast<double>(part[0]);
}
}  // namespace

void interpret(const Function& fn, const float* const* inputs, const double* params, double* out) {
  const int partials = reduction_partials(fn);
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
        val[id] = n.precision == Precision::F32 ? reduce<float>(n.op, vec[n.a], vec[n.b], fn.dims, partials)
                                                : reduce<double>(n.op, vec[n.a], vec[n.b], fn.dims, partials);
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
