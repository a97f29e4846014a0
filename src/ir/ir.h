// The attention IR: a small typed SSA program that says WHAT a kernel computes.
//
// A kernel takes vector inputs (f32[n], n baked in), scalar runtime parameters
// (f64) and writes scalar outputs (f64). Values are either vectors or scalars.
// It may also write vector outputs (f32[n]): vectors computed elementwise from
// its inputs and scalars (the Poincare ball's maps: u * tanh(r) / r).
// Reductions over vectors (dot, squared distance) carry their accumulator
// precision, because some maps (the Poincare ball near its boundary) need f64
// sums while plain scores are fine, and faster, in f32.
//
// How the reductions are executed (fused into one loop, vector width,
// unrolling) is codegen's business; the interpreter runs them plainly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/feature_map.h"

namespace rvj::ir {

enum class Type : uint8_t { Vec, Scalar };
enum class Precision : uint8_t { F32, F64 };

enum class Op : uint8_t {
  // sources
  Input,   // vector input #index, f32[dims]
  Param,   // scalar runtime parameter #index
  Const,   // scalar constant `value`
  Position,  // key position minus query position (j - i), f64: sequence kernels
             // supply it (Tile/Query ABIs); a Row kernel reads it from
             // params[num_params], after its runtime params
  Element,   // element `index` of vector input a, widened to f64 (the Lorentz
             // model's time coordinate x0)
  // reductions: vec x vec -> scalar, accumulated in `precision`
  Dot,     // sum a[i]*b[i]
  SqDist,  // sum (a[i]-b[i])^2
  // scalar arithmetic (f64)
  Add, Sub, Mul, Div, Neg,
  Sqrt,
  Log1p,
  Tanh, Atanh,  // libm, like log1p
  Min, Max,
  LeakyRelu,  // a < 0 ? b * a : a (b: the negative slope), as torch leaky_relu
  // elementwise vector ops, per element in f64 (a vector input's elements
  // widened from f32); vector outputs and Sum read them, Dot/SqDist read inputs
  Scale,   // vec * scalar b -> vec
  AddVec,  // vec + vec -> vec
  SubVec,  // vec - vec -> vec
  MulVec,  // vec * vec -> vec
  TanhVec, // tanh(vec) -> vec, as ir/tanh64.h computes it (vector code, about 1 ulp)
  LeakyReluVec,  // a < 0 ? b * a : a per element (b: the negative slope, a vector so
                 // that sums may read it: GATv2's LeakyReLU)
  // reduction of an elementwise expression of the inputs (no scalar in it):
  // sum over i of a[i], in f64, in the canonical order (plain adds into the
  // P partials). The additive score's v . tanh(qp + kp).
  Sum,
  // sink
  Output,  // out[index] = a
  OutputVec,  // vector output #index = a, rounded to f32 once per element
};

struct Node {
  Op op;
  Type type;
  int a = -1, b = -1;            // operand node ids
  int index = 0;                 // Input/Param/Output slot
  double value = 0;              // Const
  Precision precision = Precision::F32;  // reductions
};

// What a kernel is, around its score program.
//  Row:  one score per call: out[] = program(q, k, params). Reductions run in
//        the canonical order below.
//  Tile: one flash step (FlashAttention-2) for a block of queries against a
//        block of keys: the score program per (query, key) pair, masked,
//        online softmax, P.V, merged into the queries' running state. See
//        TileShape and interpret_tile() for the exact arithmetic.
//  Query: the same step for one query over a block of keys (a call with one
//        query row), scores in the Row order; see interpret_query().
//  Panel: a bare dot product (panel_error) as a blocked matrix product: rows
//        of one operand against packed panels of the other, one f32 fma
//        chain per product in element order; the length is a runtime
//        argument, so dims is 0 (codegen/abi.h: PanelFn). The linear
//        schedule's state products.
//  Features: the feature map (Function::features) that feeds such a dot
//        product, applied to a row of any length in f32 (FeatureFn, and the
//        arithmetic in ir/feature_map.h: feature_map32). dims is 0.
enum class KernelKind : uint8_t { Row, Tile, Query, Panel, Features };

// How a tile kernel weighs its keys.
//  Softmax: the online softmax (m, l, rescaled O).
//  Sigmoid: w = sigmoid(logit + bias) on its own per key, bias in the param
//        slot after the score's; O accumulates w v unnormalised, l is unused
//        and m keeps the max logit (the overflow check). Tile kind only.
enum class TileWeights : uint8_t { Softmax, Sigmoid };

// A kernel's kind in its names (cache key, symbol, disk file): "" for Row,
// "tile", "sigmoid_tile", "query", "panel", or "elu_features",
// "favor_features", "cosformer_features".
const char* kind_name(KernelKind kind, TileWeights weights = TileWeights::Softmax,
                      FeatureMap features = FeatureMap::EluPlus1);

// One kernel body. Nodes are in SSA order: operands always precede users.
struct Function {
  std::string name;       // mechanism name, e.g. "scaled_dot"
  KernelKind kind = KernelKind::Row;
  TileWeights weights = TileWeights::Softmax;  // Tile only
  FeatureMap features = FeatureMap::EluPlus1;  // Features only
  int value_dims = 0;     // Tile: length of each value row (the head's output)
  int dims = 0;           // length of every vector input
  int num_inputs = 0;     // vector inputs
  int num_params = 0;     // scalar parameters
  int num_outputs = 0;    // scalar outputs
  int num_vec_outputs = 0;  // vector outputs (f32[dims]), Row kernels only
  std::vector<Node> nodes;

  // A stable 64-bit hash of the program text: part of a kernel's identity.
  uint64_t hash() const;
};

// Builds a Function node by node; every method returns the new node's id.
class Builder {
 public:
  Builder(std::string name, int dims);

  int input();                       // next vector input
  int param();                       // next scalar parameter
  int constant(double v);
  int position();                    // j - i
  int element(int vec, int index);   // vec[index], f64
  int dot(int a, int b, Precision p = Precision::F32);
  int sq_norm(int a, Precision p = Precision::F32) { return dot(a, a, p); }
  int sq_dist(int a, int b, Precision p = Precision::F32);
  int add(int a, int b);
  int sub(int a, int b);
  int mul(int a, int b);
  int div(int a, int b);
  int neg(int a);
  int sqrt(int a);
  int log1p(int a);
  int tanh(int a);
  int atanh(int a);
  int min(int a, int b);
  int max(int a, int b);
  int leaky_relu(int a, int slope);
  int scale(int vec, int s);         // vec * s, elementwise
  int add_vec(int a, int b);
  int sub_vec(int a, int b);
  int mul_vec(int a, int b);
  int tanh_vec(int a);
  int leaky_relu_vec(int a, int slope_vec);
  int sum(int vec);                  // f64 sum of an elementwise expression
  void output(int a);                // next output slot
  void output_vec(int vec);          // next vector output slot

  Function finish();                 // verifies, then hands the function over

 private:
  int push(Node n);
  int scalar_op(Op op, int a, int b = -1);
  Function fn_;
};

const char* op_name(Op op);

// The canonical reduction order. Every Dot/SqDist of a kernel splits its sum
// into P partial sums: element i goes to partial (i mod P) by a fused
// multiply-add (a Sum: by a plain add), in increasing i; then partials are folded by halving,
// part[p] += part[p + s] for s = P/2, P/4, ..., 1. P depends only on the IR
// (it is a register-budget choice: fewer partials when several reductions
// share the registers), never on the ISA, so the interpreter and the machine
// code of every target produce the same bits, and the SQL functions built on
// them are truly IMMUTABLE.
int reduction_partials(const Function& fn);

// Vector outputs and the kernel ABI. A Row kernel is called as
//   void(const float* const* inputs, const double* params, double* out)
// and writes its vector output j through inputs[num_inputs + j]: the caller
// passes a writable float buffer of dims elements there (not overlapping the
// inputs). Kernels without vector outputs read inputs[0, num_inputs) only, so
// their callers are unchanged. Vector ops run per element in f64 with plain
// IEEE multiplies and adds (no fused or reassociated arithmetic) after every
// scalar is known, and OutputVec rounds to f32 once: the interpreter and the
// machine code of every target write the same bits.

// The tile (or single-query) kernel of a score program for values of
// `value_dims`, or throws rvj::Error(Unsupported) saying why the score cannot
// be tiled (tile_error).
Function tile_kernel(const Function& score, int value_dims, KernelKind kind = KernelKind::Tile,
                     TileWeights weights = TileWeights::Softmax);
// Empty when `score` can run inside a tile: two vector inputs (query, key),
// one output, f32 reductions, and only ops every vector target has (no log1p).
std::string tile_error(const Function& score);

// The panel kernel of a bare dot product score, or throws
// rvj::Error(Unsupported) naming why `score` is not one (panel_error).
Function panel_kernel(const Function& score);
// Empty when `score` is out = in0 . in1 (f32) and nothing else.
std::string panel_error(const Function& score);
// The kernel of feature map f for such a score (the same checks).
Function feature_kernel(const Function& score, FeatureMap f);

// Elements per panel of the Panel kind's packed operand (codegen/abi.h).
inline constexpr int kPanelWidth = 16;

// How a caller lays out a tile kernel's buffers (the calling conventions
// of the generated code are in codegen/abi.h). Codegen picks it per target
// (register blocking); the arithmetic of every lane is the same whatever the
// shape, so results do not depend on it.
struct TileShape {
  int queries;   // query lanes per call (qt has dims rows of this many floats)
  int keys;      // key rows come in groups of this many: callers pad k and v
  int o_stride;  // doubles per query in o (value_dims rounded up)
};

inline constexpr int kQueryKeys = 16;
TileShape query_shape(const Function& fn);

}  // namespace rvj::ir
