#include "runtime/schedules/flash.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "ir/interpreter.h"

#include "ir/errors.h"
#include "runtime/online_softmax.h"
#include "runtime/schedules/parallel.h"

namespace rvj::runtime {

namespace {
[[noreturn]] void bad(const std::string& what, const std::string& hint = {}) {
  throw Error(ErrorKind::InvalidArgument, what, hint);
}

// A whole-number schedule parameter (already checked to be a positive whole
// number), bounded before it becomes an int.
int param(const ir::SequenceMechanism& m, const double* params, const char* name, int fallback, int limit) {
  const int i = ir::param_index(m.params, name);
  if (i < 0) return fallback;
  if (params[i] > limit) {
    char v[32];
    std::snprintf(v, sizeof v, "%g", params[i]);
    bad(std::string(name) + " must be at most " + std::to_string(limit) + ", not " + v);
  }
  return static_cast<int>(params[i]);
}

// Working memory one thread may use for a query block's softmax states.
constexpr size_t kBlockMemoryLimit = 64u << 20;
}  // namespace

namespace {
// Upper bounds of codegen's tile shapes over all targets (lower_tile.cpp);
// the single-query kernel's buffers are smaller.
constexpr int kMaxTileQueries = 32, kMaxTileKeys = 16, kMaxLanes = 16;

size_t row_memory(const SequencePlan& p) {
  return static_cast<size_t>(p.block) * p.heads * (sizeof(SoftmaxState) + sizeof(double) * p.value_dim) +
         static_cast<size_t>(p.block) * (sizeof(double) + sizeof(float*));
}

size_t tile_memory(const SequencePlan& p) {
  const size_t Q = kMaxTileQueries, keys = p.block + kMaxTileKeys;
  const size_t o_stride = (p.value_dim + kMaxLanes - 1) / kMaxLanes * kMaxLanes;
  return sizeof(float) * Q * (p.head_dim + keys + 1) + sizeof(double) * Q * (1 + o_stride) +
         2 * sizeof(float*) * keys + 2 * sizeof(int32_t) * Q;
}

// 64-byte aligned scratch for a tile call (vectors load whole cache lines).
template <typename T>
struct Buffer {
  std::unique_ptr<T[], void (*)(void*)> data{nullptr, std::free};
  explicit Buffer(size_t n) {
    const size_t bytes = (std::max<size_t>(n, 1) * sizeof(T) + 63) / 64 * 64;
    data.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!data) throw std::bad_alloc();
  }
  T* get() const { return data.get(); }
};

// The tile path: per head, per group of shape.queries queries, walk the key
// blocks (block_size keys on a grid from key 0, so a query's result does not
// depend on the other queries of the call) that any of them can see.
void run_tiles(const SequencePlan& p, const Bound& tile, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out) {
  const ir::Function& fn = tile.kernel->ir;
  const ir::TileShape shape = codegen::tile_shape(fn, codegen::host_target());
  const int Q = shape.queries, d = p.head_dim, dv = p.value_dim, B = p.block;
  const int group = p.heads / p.kv_heads;
  const int padded = (B + shape.keys - 1) / shape.keys * shape.keys;
  Buffer<float> qt(static_cast<size_t>(d) * Q), s(static_cast<size_t>(padded) * Q), m(Q);
  Buffer<double> l(Q), o(static_cast<size_t>(Q) * shape.o_stride);
  Buffer<const float*> kr(padded), vr(padded);
  Buffer<int32_t> lo(Q), hi(Q);
  const ir::TileFn jit = tile.jit ? tile.kernel->code.tile() : nullptr;

  for (int h = 0; h < p.heads; ++h) {
    const size_t qoff = static_cast<size_t>(h) * d, koff = static_cast<size_t>(h / group) * d,
                 voff = static_cast<size_t>(h / group) * dv;
    for (int i0 = q0; i0 < q1; i0 += Q) {
      const int nq = std::min(Q, q1 - i0);
      for (int t = 0; t < d; ++t)
        for (int i = 0; i < Q; ++i) qt.get()[static_cast<size_t>(t) * Q + i] = i < nq ? q[i0 + i][qoff + t] : 0.0f;
      std::fill(m.get(), m.get() + Q, -std::numeric_limits<float>::infinity());
      std::fill(l.get(), l.get() + Q, 0.0);
      std::fill(o.get(), o.get() + static_cast<size_t>(Q) * shape.o_stride, 0.0);
      const int key_begin = p.first_key(i0), key_end = p.last_key(i0 + nq - 1) + 1;
      for (int k0 = key_begin / B * B; k0 < key_end; k0 += B) {
        const int n = std::min(B, p.S - k0);
        bool any = false;
        for (int i = 0; i < Q; ++i) {
          int a = 0, z = 0;
          if (i < nq) {
            a = std::clamp(p.first_key(i0 + i) - k0, 0, n);
            z = std::clamp(p.last_key(i0 + i) + 1 - k0, 0, n);
            if (a >= z) a = z = 0;
          }
          lo.get()[i] = a, hi.get()[i] = z;
          any |= a < z;
        }
        if (!any) continue;
        const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
        for (int j = 0; j < nk; ++j) {
          const int row = k0 + std::min(j, n - 1);  // padding repeats the last row; it is masked
          kr.get()[j] = k[row] + koff;
          vr.get()[j] = v[row] + voff;
        }
        if (jit)
          jit(qt.get(), kr.get(), vr.get(), lo.get(), hi.get(), tile.params, s.get(), m.get(), l.get(), o.get(), n);
        else
          ir::interpret_tile(fn, shape, qt.get(), kr.get(), vr.get(), lo.get(), hi.get(), tile.params, s.get(),
                             m.get(), l.get(), o.get(), n);
      }
      // A query that sees no key gets zeros, as torch >= 2.5 gives for a
      // fully masked row.
      for (int i = 0; i < nq; ++i) {
        float* dst = out + static_cast<size_t>(i0 - q0 + i) * p.out_dims() + static_cast<size_t>(h) * dv;
        const double* oi = o.get() + static_cast<size_t>(i) * shape.o_stride;
        const double li = l.get()[i];
        for (int c = 0; c < dv; ++c) dst[c] = li > 0 ? static_cast<float>(oi[c] / li) : 0.0f;
      }
    }
  }
}
// One query at a time (the single-query kernel): per head, the visible keys
// in blocks of block_size on the grid from key 0.
void run_queries(const SequencePlan& p, const Bound& kernel, const float* const* q, const float* const* k,
                 const float* const* v, int q0, int q1, float* out) {
  const ir::Function& fn = kernel.kernel->ir;
  const ir::TileShape shape = ir::query_shape(fn);
  const int d = p.head_dim, dv = p.value_dim, B = p.block, group = p.heads / p.kv_heads;
  const int padded = (B + shape.keys - 1) / shape.keys * shape.keys;
  Buffer<float> s(padded);
  Buffer<double> o(shape.o_stride);
  Buffer<const float*> kr(padded), vr(padded);
  const ir::QueryFn jit = kernel.jit ? kernel.kernel->code.query() : nullptr;
  for (int i = q0; i < q1; ++i)
    for (int h = 0; h < p.heads; ++h) {
      const size_t koff = static_cast<size_t>(h / group) * d, voff = static_cast<size_t>(h / group) * dv;
      const float* qh = q[i] + static_cast<size_t>(h) * d;
      float m = -std::numeric_limits<float>::infinity();
      double l = 0;
      std::fill(o.get(), o.get() + shape.o_stride, 0.0);
      const int first = p.first_key(i), last = p.last_key(i);
      for (int k0 = first / B * B; k0 <= last; k0 += B) {
        const int from = std::max(k0, first), to = std::min(k0 + B, last + 1), n = to - from;
        const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
        for (int j = 0; j < nk; ++j) {
          const int row = from + std::min(j, n - 1);  // padding repeats the last row; it is masked
          kr.get()[j] = k[row] + koff;
          vr.get()[j] = v[row] + voff;
        }
        if (jit)
          jit(qh, kr.get(), vr.get(), kernel.params, s.get(), &m, &l, o.get(), n);
        else
          ir::interpret_query(fn, qh, kr.get(), vr.get(), kernel.params, s.get(), &m, &l, o.get(), n);
      }
      float* dst = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dv;
      for (int c = 0; c < dv; ++c) dst[c] = l > 0 ? static_cast<float>(o.get()[c] / l) : 0.0f;
    }
}
}  // namespace

size_t block_memory(const SequencePlan& p) {
  const char* score = p.mechanism->score;
  return score && ir::tileable(*ir::find_mechanism(score)) ? tile_memory(p) : row_memory(p);
}

SequencePlan plan_sequence(const ir::SequenceMechanism& m, const double* params, int L, int S, int dq, int dk,
                           int dv) {
  ir::check_params(m.params, params);
  SequencePlan p{};
  p.mechanism = &m;
  p.L = L, p.S = S, p.dq = dq, p.dk = dk, p.dv = dv;
  p.causal = m.causal;
  p.window = 0;
  if (m.windowed) {
    p.window = param(m, params, "window", 256, 1 << 30);
    p.causal = params[ir::param_index(m.params, "causal")] != 0;
  }
  p.heads = param(m, params, "num_heads", 1, 16000);
  p.block = param(m, params, "block_size", 64, 4096);
  switch (m.heads) {
    case ir::HeadMap::Equal: p.kv_heads = p.heads; break;
    case ir::HeadMap::Grouped: p.kv_heads = param(m, params, "num_kv_heads", 1, 16000); break;
    case ir::HeadMap::Single: p.kv_heads = 1; break;
  }
  const std::string name = m.name;
  if (L < 1 || S < 1) bad("queries, keys and values must not be empty");
  if (dq % p.heads != 0)
    bad("num_heads " + std::to_string(p.heads) + " does not divide the query dimension " + std::to_string(dq),
        "num_heads must divide the dimension of the query vectors.");
  if (p.heads % p.kv_heads != 0)
    bad("num_kv_heads " + std::to_string(p.kv_heads) + " does not divide num_heads " + std::to_string(p.heads));
  p.head_dim = dq / p.heads;
  if (dk != p.kv_heads * p.head_dim) {
    if (m.heads == ir::HeadMap::Equal)
      bad("keys have " + std::to_string(dk) + " dimensions but queries have " + std::to_string(dq),
          "Queries and keys must have the same dimension.");
    bad("keys have " + std::to_string(dk) + " dimensions; " + name + " with " + std::to_string(p.heads) +
            " heads over " + std::to_string(p.kv_heads) + " key/value heads needs " +
            std::to_string(p.kv_heads * p.head_dim),
        "Keys hold the key/value heads, each of the query head dimension.");
  }
  if (dv % p.kv_heads != 0)
    bad("values have " + std::to_string(dv) + " dimensions, not a multiple of the " + std::to_string(p.kv_heads) +
        " key/value heads");
  p.value_dim = dv / p.kv_heads;
  if (p.out_dims() > 16000) bad("the output would have more than 16000 dimensions");
  if (m.schedule == ir::Schedule::Linear) {
    const size_t state = sizeof(double) * p.heads * (static_cast<size_t>(p.head_dim) * p.value_dim + p.head_dim);
    if (state > kBlockMemoryLimit)
      bad("linear attention with " + std::to_string(p.heads) + " head(s) of " + std::to_string(p.head_dim) + " x " +
              std::to_string(p.value_dim) + " needs " + std::to_string(state >> 20) +
              " MB of state, over the limit of " + std::to_string(kBlockMemoryLimit >> 20) + " MB",
          "Use more heads (the state grows with the square of the head dimension).");
  } else if (block_memory(p) > kBlockMemoryLimit)
    bad("block_size " + std::to_string(p.block) + " with " + std::to_string(p.heads) + " heads needs " +
            std::to_string(block_memory(p) >> 20) + " MB of working memory per thread, over the limit of " +
            std::to_string(kBlockMemoryLimit >> 20) + " MB",
        "Use a smaller block_size.");
  return p;
}

void run_flash(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out) {
  if (score.kernel->kind == ir::KernelKind::Tile) return run_tiles(p, score, q, k, v, q0, q1, out);
  if (score.kernel->kind == ir::KernelKind::Query) return run_queries(p, score, q, k, v, q0, q1, out);
  const int group = p.heads / p.kv_heads;
  const int bq = q1 - q0, dvh = p.value_dim;
  // Per (query of the block, head): the online-softmax state and O.
  std::vector<SoftmaxState> state(static_cast<size_t>(bq) * p.heads);
  std::vector<double> acc(static_cast<size_t>(bq) * p.heads * dvh);
  for (size_t s = 0; s < state.size(); ++s) softmax_init(state[s], &acc[s * dvh], dvh);
  std::vector<double> logits(p.block);
  std::vector<const float*> vrows(p.block);

  // Only the key blocks some query of this block can see are walked (the
  // sparse part of the schedule): visible ranges move forward with i.
  const int key_begin = p.first_key(q0), key_end = p.last_key(q1 - 1) + 1;
  for (int k0 = key_begin; k0 < key_end; k0 += p.block) {
    const int k1 = std::min(key_end, k0 + p.block);
    for (int i = q0; i < q1; ++i) {
      const int from = std::max(k0, p.first_key(i)), to = std::min(k1, p.last_key(i) + 1);
      const int n = to - from;
      if (n <= 0) continue;
      for (int h = 0; h < p.heads; ++h) {
        const int kvh = h / group;
        const float* qh = q[i] + static_cast<size_t>(h) * p.head_dim;
        for (int j = 0; j < n; ++j) {
          logits[j] = run(score, qh, k[from + j] + static_cast<size_t>(kvh) * p.head_dim);
          vrows[j] = v[from + j] + static_cast<size_t>(kvh) * dvh;
        }
        const size_t s = static_cast<size_t>(i - q0) * p.heads + h;
        softmax_add_block(state[s], &acc[s * dvh], dvh, logits.data(), vrows.data(), n);
      }
    }
  }
  // A query that sees no key (a window past the last key) gets zeros, as
  // torch >= 2.5 gives for a fully masked row.
  for (int i = q0; i < q1; ++i)
    for (int h = 0; h < p.heads; ++h) {
      const size_t s = static_cast<size_t>(i - q0) * p.heads + h;
      float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dvh;
      if (!softmax_finish(state[s], &acc[s * dvh], dvh, o)) std::fill(o, o + dvh, 0.0f);
    }
}

void run_flash_parallel(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                        const float* const* v, int q0, int q1, float* out, int threads) {
  const int blocks = (q1 - q0 + p.block - 1) / p.block;
  parallel_for_blocks(blocks, threads, [&](int b) {
    const int b0 = q0 + b * p.block, b1 = std::min(q1, b0 + p.block);
    run_flash(p, score, q, k, v, b0, b1, out + static_cast<size_t>(b0 - q0) * p.out_dims());
  });
}

}  // namespace rvj::runtime
