// ruvector operators and functions: distances, dims, norm, elementwise
// arithmetic, comparison (btree).
#include "pg/errors.h"
#include "pg/kernel_site.h"

using namespace rvj::pg;

namespace {
// The distances are IR kernels too (src/ir/recipes/distance.cpp), run by
// their native forms (runtime/native.h): the same bits as the JIT, no
// compile and no LLVM on this path.
// Resolved on a backend's first call into a plain static (the engine's
// lookup runs inside the C++ boundary), then reused.
struct Native {
  const rvj::ir::Mechanism* mechanism;
  rvj::runtime::NativeFn fn;
};

double run_native(Native& n, const char* kernel, const RuVector* a, const RuVector* b) {
  double result = 0;
  RVJ_ENGINE({
    if (!n.fn) {
      const rvj::ir::Mechanism& m = rvj::runtime::kernel_mechanism(kernel);
      n = {&m, rvj::runtime::native_kernel(m)};
    }
    result = rvj::runtime::run_native(*n.mechanism, n.fn, a->x, b ? b->x : a->x, a->dim, nullptr);
  });
  return result;
}

double distance(FunctionCallInfo fcinfo, Native& n, const char* kernel) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  check_same_dims(a, b);
  return run_native(n, kernel, a, b);
}
}  // namespace

RVJ_FUNCTION(ruvector_l2_distance) {
  static Native n{};
  PG_RETURN_FLOAT8(distance(fcinfo, n, "l2_distance"));
}
RVJ_FUNCTION(ruvector_negative_inner_product) {
  static Native n{};
  PG_RETURN_FLOAT8(distance(fcinfo, n, "negative_inner_product"));
}
RVJ_FUNCTION(ruvector_cosine_distance) {
  static Native n{};
  PG_RETURN_FLOAT8(distance(fcinfo, n, "cosine_distance"));
}

RVJ_FUNCTION(ruvector_dims) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  PG_RETURN_INT32(a->dim);
}

RVJ_FUNCTION(ruvector_norm) {
  static Native n{};
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  PG_RETURN_FLOAT8(run_native(n, "norm", a, nullptr));
}

namespace {
enum class Arith { Add, Sub, Mul };

Datum elementwise(FunctionCallInfo fcinfo, Arith op) {
  RuVector* a = PG_GETARG_RUVECTOR_P(0);
  RuVector* b = PG_GETARG_RUVECTOR_P(1);
  check_same_dims(a, b);
  RuVector* r = new_vector(a->dim);
  for (int i = 0; i < a->dim; i++) {
    switch (op) {
      case Arith::Add: r->x[i] = a->x[i] + b->x[i]; break;
      case Arith::Sub: r->x[i] = a->x[i] - b->x[i]; break;
      case Arith::Mul: r->x[i] = a->x[i] * b->x[i]; break;
    }
  }
  for (int i = 0; i < a->dim; i++) {
    if (std::isinf(r->x[i]))
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
    // A product of two tiny non-zero values that rounds to zero.
    if (op == Arith::Mul && r->x[i] == 0 && a->x[i] != 0 && b->x[i] != 0)
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: underflow")));
  }
  PG_RETURN_RUVECTOR_P(r);
}

// Elementwise, then shorter-is-smaller: a total order consistent with =.
int compare(const RuVector* a, const RuVector* b) {
  int n = Min(a->dim, b->dim);
  for (int i = 0; i < n; i++) {
    if (a->x[i] < b->x[i]) return -1;
    if (a->x[i] > b->x[i]) return 1;
  }
  return (a->dim > b->dim) - (a->dim < b->dim);
}
}  // namespace

RVJ_FUNCTION(ruvector_add) { return elementwise(fcinfo, Arith::Add); }
RVJ_FUNCTION(ruvector_sub) { return elementwise(fcinfo, Arith::Sub); }
RVJ_FUNCTION(ruvector_mul) { return elementwise(fcinfo, Arith::Mul); }

#define RVJ_COMPARISON(name, expr)                        \
  RVJ_FUNCTION(name) {                                    \
    RuVector* a = PG_GETARG_RUVECTOR_P(0);                \
    RuVector* b = PG_GETARG_RUVECTOR_P(1);                \
    int c = compare(a, b);                                \
    PG_FREE_IF_COPY(a, 0);                                \
    PG_FREE_IF_COPY(b, 1);                                \
    return (expr);                                        \
  }

RVJ_COMPARISON(ruvector_lt, BoolGetDatum(c < 0))
RVJ_COMPARISON(ruvector_le, BoolGetDatum(c <= 0))
RVJ_COMPARISON(ruvector_eq, BoolGetDatum(c == 0))
RVJ_COMPARISON(ruvector_ne, BoolGetDatum(c != 0))
RVJ_COMPARISON(ruvector_ge, BoolGetDatum(c >= 0))
RVJ_COMPARISON(ruvector_gt, BoolGetDatum(c > 0))
RVJ_COMPARISON(ruvector_cmp, Int32GetDatum(c))
