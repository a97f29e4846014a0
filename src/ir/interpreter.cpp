#include "ir/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ir/errors.h"
#include "ir/exp32.h"
#include "ir/tanh64.h"

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

// The tile order: one f32 fma chain per (query, key) pair.
double reduce_sequential(Op op, const float* a, const float* b, int n) {
  float acc = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    acc = op == Op::Dot ? std::fma(a[i], b[i], acc) : std::fma(d, d, acc);
  }
  return acc;
}

// The program with reductions supplied by `reduce(node)`.
template <typename Reduce>
void evaluate(const Function& fn, const float* const* inputs, const double* params, double* out, Reduce&& red) {
  std::vector<double> val(fn.nodes.size(), 0.0);
  std::vector<const float*> vec(fn.nodes.size(), nullptr);
  std::vector<std::vector<double>> elems(fn.nodes.size());  // computed vectors, f64 per element
  // Element i of vector node `id`: an input's f32 widened, or a computed f64.
  auto elem = [&](int id, int i) { return vec[id] ? static_cast<double>(vec[id][i]) : elems[id][i]; };
  auto elementwise = [&](size_t id, auto&& f) {
    elems[id].resize(fn.dims);
    for (int i = 0; i < fn.dims; ++i) elems[id][i] = f(i);
  };
  for (size_t id = 0; id < fn.nodes.size(); ++id) {
    const Node& n = fn.nodes[id];
    double a = n.a >= 0 ? val[n.a] : 0, b = n.b >= 0 ? val[n.b] : 0;
    switch (n.op) {
      case Op::Input: vec[id] = inputs[n.index]; break;
      case Op::Param: val[id] = params[n.index]; break;
      case Op::Const: val[id] = n.value; break;
      case Op::Position: val[id] = params[fn.num_params]; break;
      case Op::Element: val[id] = vec[n.a][n.index]; break;
      case Op::Dot:
      case Op::SqDist: val[id] = red(n, vec[n.a], vec[n.b]); break;
      case Op::Add: val[id] = a + b; break;
      case Op::Sub: val[id] = a - b; break;
      case Op::Mul: val[id] = a * b; break;
      case Op::Div: val[id] = a / b; break;
      case Op::Neg: val[id] = -a; break;
      case Op::Sqrt: val[id] = std::sqrt(a); break;
      case Op::Log1p: val[id] = std::log1p(a); break;
      case Op::Tanh: val[id] = std::tanh(a); break;
      case Op::Atanh: val[id] = std::atanh(a); break;
      case Op::Min: val[id] = std::min(a, b); break;
      case Op::Max: val[id] = std::max(a, b); break;
      case Op::LeakyRelu: val[id] = a < 0 ? b * a : a; break;
      case Op::Output: out[n.index] = a; break;
      case Op::Scale: elementwise(id, [&](int i) { return elem(n.a, i) * b; }); break;
      case Op::AddVec: elementwise(id, [&](int i) { return elem(n.a, i) + elem(n.b, i); }); break;
      case Op::SubVec: elementwise(id, [&](int i) { return elem(n.a, i) - elem(n.b, i); }); break;
      case Op::MulVec: elementwise(id, [&](int i) { return elem(n.a, i) * elem(n.b, i); }); break;
      case Op::TanhVec: elementwise(id, [&](int i) { return tanh64(elem(n.a, i)); }); break;
      case Op::LeakyReluVec:
        elementwise(id, [&](int i) {
          const double x = elem(n.a, i);
          return x < 0 ? elem(n.b, i) * x : x;
        });
        break;
      case Op::Sum: {
        // The canonical order (ir.h), plain adds.
        const int partials = reduction_partials(fn);
        std::vector<double> part(partials, 0.0);
        for (int i = 0; i < fn.dims; ++i) part[i % partials] += elem(n.a, i);
        for (int s = partials / 2; s >= 1; s /= 2)
          for (int p = 0; p < s; ++p) part[p] += part[p + s];
        val[id] = part[0];
        break;
      }
      case Op::OutputVec: {
        // The ABI (ir.h) passes the caller's writable buffer in the inputs array.
        float* dst = const_cast<float*>(inputs[fn.num_inputs + n.index]);
        for (int i = 0; i < fn.dims; ++i) dst[i] = static_cast<float>(elem(n.a, i));
        break;
      }
    }
  }
}
}  // namespace

void interpret(const Function& fn, const float* const* inputs, const double* params, double* out) {
  const int partials = reduction_partials(fn);
  evaluate(fn, inputs, params, out, [&](const Node& n, const float* a, const float* b) {
    return n.precision == Precision::F32 ? reduce<float>(n.op, a, b, fn.dims, partials)
                                         : reduce<double>(n.op, a, b, fn.dims, partials);
  });
}

double tanh64(double x) {
  using namespace rvj::ir::tanh_f64;
  const double a = std::fabs(x), s = x * x;
  double p = kPoly[11];
  for (int j = 10; j >= 0; --j) p = std::fma(p, s, kPoly[j]);
  const double small = std::fma(x * s, p, x);
  const double ac = kBig < a ? kBig : a;
  const double y = -2.0 * ac;
  const double n = std::rint(y * kLog2e);
  double r = std::fma(-n, kLn2Hi, y);
  r = std::fma(-n, kLn2Lo, r);
  double q = kInvFactorial[13];
  for (int k = 12; k >= 1; --k) q = std::fma(q, r, kInvFactorial[k]);
  q = std::fma(q, r, 1.0);
  const int64_t bits = (static_cast<int64_t>(n == n ? n : 0.0) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const double e = q * scale;
  const double big = (1.0 - e) / (1.0 + e);
  return std::copysign(a < kSmall ? small : big, x);
}

float exp32(float x) { return rvj::ir::exp_f32::exp32(x); }
float sigmoid32(float x) { return rvj::ir::exp_f32::sigmoid32(x); }

void interpret_tile(const Function& fn, const TileShape& shape, const float* qt, const float* const* k,
                    const float* const* v, const int32_t* lo, const int32_t* hi, const uint8_t* vis,
                    const int32_t* qpos, const int32_t* kpos, const double* params, float* s, float* m, double* l,
                    double* o, int64_t n) {
  const int Q = shape.queries, d = fn.dims, dv = fn.value_dims;
  const int64_t nk = (n + shape.keys - 1) / shape.keys * shape.keys;
  const float inf = std::numeric_limits<float>::infinity();
  if (!vis) {  // the ABI's promise with a null vis (ir.h), which the kernel relies on
    bool whole = nk == n;
    for (int i = 0; i < Q; ++i) whole &= lo[i] == 0 && hi[i] == n;
    if (!whole) throw Error(ErrorKind::Internal, "a tile call without vis must cover every key for every query");
  }
  std::vector<float> q(d);
  std::vector<double> prm(params, params + fn.num_params);
  prm.push_back(0);  // the Position slot
  // The f64 score of query i (loaded in q) and key j; false where masked.
  auto score = [&](int i, int64_t j, double* out) {
    if (!(lo[i] <= j && j < hi[i] && (!vis || vis[j * Q + i]))) return false;
    const float* in[2] = {q.data(), k[j]};
    prm[fn.num_params] = kpos[j] - qpos[i];
    evaluate(fn, in, prm.data(), out,
             [&](const Node& node, const float* a, const float* b) { return reduce_sequential(node.op, a, b, d); });
    return true;
  };
  // P.V for query i and value column c: one f32 fma chain over the keys.
  auto weighted = [&](int i, int c) {
    float acc = 0.0f;
    for (int64_t j = 0; j < nk; ++j) acc = std::fma(s[j * Q + i], v[j][c], acc);
    return static_cast<double>(acc);
  };
  const bool sigmoid = fn.weights == TileWeights::Sigmoid;
  const double bias = sigmoid ? params[fn.num_params] : 0.0;
  for (int i = 0; i < Q; ++i) {
    for (int t = 0; t < d; ++t) q[t] = qt[static_cast<size_t>(t) * Q + i];
    float mb = -inf;
    for (int64_t j = 0; j < nk; ++j) {
      double out;
      const bool seen = score(i, j, &out);
      const float logit = seen ? static_cast<float>(out) : -inf;
      if (logit > mb) mb = logit;
      // The sigmoid's weight is final here (0 where masked); the softmax's
      // logit becomes a weight below.
      s[j * Q + i] = !sigmoid ? logit : seen ? sigmoid32(static_cast<float>(out + bias)) : 0.0f;
    }
    if (sigmoid) {
      if (mb > m[i]) m[i] = mb;
      for (int c = 0; c < dv; ++c) o[static_cast<size_t>(i) * shape.o_stride + c] += weighted(i, c);
      continue;
    }
    const float mnew = mb > m[i] ? mb : m[i];
    const float ms = mnew == -inf ? 0.0f : mnew;
    float lb = 0.0f;
    for (int64_t j = 0; j < nk; ++j) {
      const float p = exp32(s[j * Q + i] - ms);
      s[j * Q + i] = p;
      lb += p;
    }
    const float alpha = exp32(m[i] - ms);
    m[i] = mnew;
    l[i] = std::fma(l[i], static_cast<double>(alpha), static_cast<double>(lb));
    for (int c = 0; c < dv; ++c) {
      double& oc = o[static_cast<size_t>(i) * shape.o_stride + c];
      oc = std::fma(oc, static_cast<double>(alpha), weighted(i, c));
    }
  }
}

void interpret_query(const Function& fn, const float* q, const float* const* k, const float* const* v,
                     int64_t koff, int64_t voff, const uint8_t* vis, int32_t qpos, const int32_t* kpos, double* params, float* s, float* m,
                     double* l, double* o, int64_t n) {
  const int64_t nk = (n + kQueryKeys - 1) / kQueryKeys * kQueryKeys;
  const float inf = std::numeric_limits<float>::infinity();
  Function row = fn;
  row.kind = KernelKind::Row;
  std::vector<double> out(fn.num_outputs);
  float mpart[kQueryKeys];
  std::fill(mpart, mpart + kQueryKeys, -inf);
  for (int64_t j = 0; j < nk; ++j) {
    float logit = -inf;
    if (j < n && vis[j]) {
      const float* in[2] = {q, k[j] + koff};
      params[fn.num_params] = kpos[j] - qpos;
      interpret(row, in, params, out.data());
      logit = static_cast<float>(out[0]);
    }
    s[j] = logit;
    if (logit > mpart[j % kQueryKeys]) mpart[j % kQueryKeys] = logit;
  }
  for (int h = kQueryKeys / 2; h >= 1; h /= 2)
    for (int i = 0; i < h; ++i)
      if (mpart[i + h] > mpart[i]) mpart[i] = mpart[i + h];
  const float mb = mpart[0];
  const float mnew = mb > *m ? mb : *m;
  const float ms = mnew == -inf ? 0.0f : mnew;
  float part[kQueryKeys] = {};
  for (int64_t j = 0; j < nk; ++j) {
    s[j] = exp32(s[j] - ms);
    part[j % kQueryKeys] += s[j];
  }
  for (int h = kQueryKeys / 2; h >= 1; h /= 2)
    for (int i = 0; i < h; ++i) part[i] += part[i + h];
  const float alpha = exp32(*m - ms);
  *m = mnew;
  *l = std::fma(*l, static_cast<double>(alpha), static_cast<double>(part[0]));
  for (int c = 0; c < fn.value_dims; ++c) {
    float even = 0.0f, odd = 0.0f;
    for (int64_t j = 0; j < nk; j += 2) {
      even = std::fma(s[j], v[j][voff + c], even);
      odd = std::fma(s[j + 1], v[j + 1][voff + c], odd);
    }
    o[c] = std::fma(o[c], static_cast<double>(alpha), static_cast<double>(even + odd));
  }
}

}  // namespace rvj::ir
