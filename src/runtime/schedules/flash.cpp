#include "runtime/schedules/flash.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "ir/midpoint.h"
#include "runtime/online_softmax.h"
#include "runtime/schedules/parallel.h"

namespace rvj::runtime {

namespace {
[[noreturn]] void bad(const std::string& what, const std::string& hint = {}) {
  throw Error(ErrorKind::InvalidArgument, what, hint);
}

// A whole-number schedule parameter (already checked to be a whole number),
// bounded before it becomes an int.
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

bool flag(const ir::SequenceMechanism& m, const double* params, const char* name) {
  const int i = ir::param_index(m.params, name);
  return i >= 0 && params[i] != 0;
}

// Working memory one thread may use for a query block's softmax states.
constexpr size_t kBlockMemoryLimit = 64u << 20;
constexpr int kMaxLength = 1 << 30;

// Queries per run_flash call of run_flash_parallel: the tile path gathers
// (and packs) each key block once per call for all its queries, so more
// queries per call amortise that; a query's result does not depend on it.
constexpr int kQueryChunk = 512;
// ...unless the chunk's query state would pass this (wide heads).
constexpr size_t kChunkStateLimit = 8u << 20;

// Upper bounds of codegen's tile shapes over all targets (lower_tile.cpp);
// the single-query kernel's buffers are smaller.
constexpr int kMaxTileQueries = 32, kMaxTileKeys = 16, kMaxLanes = 16;

// One query at a time: a key block's logits, value rows and keys, one O.
size_t row_memory(const SequencePlan& p) {
  return static_cast<size_t>(p.block) * (sizeof(double) + sizeof(float*) + sizeof(int)) +
         sizeof(double) * p.value_dim + sizeof(SoftmaxState);
}

size_t tile_memory(const SequencePlan& p) {
  const size_t Q = kMaxTileQueries, keys = p.block + kMaxTileKeys;
  const size_t o_stride = (p.value_dim + kMaxLanes - 1) / kMaxLanes * kMaxLanes;
  // A query block's groups of Q queries each keep their transposed queries
  // and state; a key block may be packed.
  const size_t groups = (query_chunk(p) + Q - 1) / Q;
  return groups * (sizeof(float) * Q * (p.head_dim + 1) + sizeof(double) * Q * (1 + o_stride) + sizeof(int32_t) * Q) +
         sizeof(float) * keys * (Q + p.head_dim + p.value_dim) + Q * keys + 2 * sizeof(float*) * keys +
         sizeof(int32_t) * (2 * Q + keys);
}

// One query's logits, weights and key indices over all keys.
size_t normalised_memory(const SequencePlan& p) {
  return static_cast<size_t>(p.S) * (2 * sizeof(double) + sizeof(int)) + sizeof(double) * p.value_dim;
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

// The key rows [from, from + n) of a block for one head, padded to nk with
// the last row (padding is masked), and their positions.
void gather_keys(const float* const* k, const float* const* v, size_t koff, size_t voff, int from, int n, int nk,
                 const float** kr, const float** vr, int32_t* kpos) {
  for (int j = 0; j < nk; ++j) {
    const int row = from + std::min(j, n - 1);
    kr[j] = k[row] + koff;
    vr[j] = v[row] + voff;
    kpos[j] = row;
  }
}

// Rows [0, nq) of q (from element off, d of them) transposed into qt: d rows
// of Q floats, query i in column i, columns nq..Q-1 zero. In 4 x 4 blocks
// through vector registers (baseline SSE2 / NEON), reading each row in order.
void transpose_queries(const float* const* q, int nq, size_t off, int d, int Q, float* qt) {
  typedef float v4 __attribute__((vector_size(16)));
  auto load = [](const float* x) {
    v4 v;
    std::memcpy(&v, x, sizeof v);
    return v;
  };
  int i = 0;
  for (; i + 4 <= nq; i += 4) {
    const float *r0 = q[i] + off, *r1 = q[i + 1] + off, *r2 = q[i + 2] + off, *r3 = q[i + 3] + off;
    int t = 0;
    for (; t + 4 <= d; t += 4) {
      const v4 a = load(r0 + t), b = load(r1 + t), c = load(r2 + t), e = load(r3 + t);
      const v4 ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
      const v4 ce_lo = __builtin_shufflevector(c, e, 0, 4, 1, 5), ce_hi = __builtin_shufflevector(c, e, 2, 6, 3, 7);
      const v4 cols[4] = {__builtin_shufflevector(ab_lo, ce_lo, 0, 1, 4, 5),
                          __builtin_shufflevector(ab_lo, ce_lo, 2, 3, 6, 7),
                          __builtin_shufflevector(ab_hi, ce_hi, 0, 1, 4, 5),
                          __builtin_shufflevector(ab_hi, ce_hi, 2, 3, 6, 7)};
      for (int u = 0; u < 4; ++u) std::memcpy(qt + static_cast<size_t>(t + u) * Q + i, &cols[u], sizeof(v4));
    }
    for (; t < d; ++t)
      for (int u = 0; u < 4; ++u) qt[static_cast<size_t>(t) * Q + i + u] = q[i + u][off + t];
  }
  for (; i < nq; ++i)
    for (int t = 0; t < d; ++t) qt[static_cast<size_t>(t) * Q + i] = q[i][off + t];
  if (nq < Q)
    for (int t = 0; t < d; ++t) std::fill(qt + static_cast<size_t>(t) * Q + nq, qt + static_cast<size_t>(t + 1) * Q, 0.0f);
}

// The score's params with the schedule's per-head values (ALiBi's slope) and
// the Position slot after them.
struct HeadParams {
  double v[ir::kMaxParams + 1] = {};
  int slope = -1;
  HeadParams(const SequencePlan& p, const Bound& b) {
    const ir::Mechanism& m = *b.kernel->mechanism;
    std::copy(b.params, b.params + m.params.size(), v);
    if (p.positional == ir::Positional::Alibi) slope = ir::param_index(m.params, "slope");
  }
  double* for_head(const SequencePlan& p, int h) {
    if (slope >= 0) v[slope] = ir::alibi_slope(h, p.heads);
    return v;
  }
};

// A query whose softmax saw keys but whose l is 0 had only -inf logits: its
// dot products overflowed float32 (finite inputs give no other -inf), and
// zeros would be a wrong answer. A query that sees no key gets zeros (torch
// >= 2.5 for a fully masked row).
bool sees_some_key(const SequencePlan& p, int i) {
  const int first = std::max(0, p.first_key(i)), last = std::min(p.S - 1, p.last_key(i));
  if (first > last) return false;
  if (p.mask.contiguous()) return true;
  for (int j = first; j <= last; ++j)
    if (p.mask.visible(i, j)) return true;
  return false;
}

[[noreturn]] void logits_overflowed(int i) {
  throw Error(ErrorKind::OutOfRange,
              "every logit of query " + std::to_string(i + 1) + " overflowed type real (all are -infinity)",
              "A dot product of these inputs exceeds the range of real (about 3.4e38); scale the vectors down.");
}

void check_not_overflowed(const SequencePlan& p, int i, double l) {
  if (l == 0 && sees_some_key(p, i)) logits_overflowed(i);
}

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
  const int groups = (q1 - q0 + Q - 1) / Q;
  // Per group of Q queries: its transposed queries and running state. Key
  // blocks are the outer loop, so a block's rows are gathered once and stay
  // in L1 (and the TLB) while every group of the query block uses them.
  const size_t qt_size = static_cast<size_t>(d) * Q, o_size = static_cast<size_t>(Q) * shape.o_stride;
  Buffer<float> qt(qt_size * groups), s(static_cast<size_t>(padded) * Q), m(static_cast<size_t>(Q) * groups);
  Buffer<double> l(static_cast<size_t>(Q) * groups), o(o_size * groups);
  Buffer<const float*> kr(padded), vr(padded);
  Buffer<int32_t> lo(Q), hi(Q), qpos(static_cast<size_t>(Q) * groups), kpos(padded);
  // Visibility bits: the mask's holes, or all ones; none (null) for a key
  // block every query of the group sees whole (the kernel's unmasked path).
  const bool holes = !p.mask.contiguous();
  Buffer<uint8_t> vis(static_cast<size_t>(padded) * Q);
  std::fill(vis.get(), vis.get() + static_cast<size_t>(padded) * Q, 1);
  const ir::TileFn jit = tile.jit ? tile.kernel->code.tile() : nullptr;
  HeadParams params(p, tile);
  std::vector<int> blocks;
  p.mask.key_blocks(q0, q1, B, blocks);
  // Rows that hold several heads are packed per key block: a head's slices
  // sit a whole row apart, and with power-of-two row widths they fall into a
  // few L1 sets and evict each other (8 heads of 64: 10 % faster packed).
  const bool pack = p.dk != d || p.dv != dv;
  Buffer<float> kb(pack ? static_cast<size_t>(padded) * d : 0), vb(pack ? static_cast<size_t>(padded) * dv : 0);

  // Each query's visible key range, once per call (not per head and block).
  std::vector<int> first(q1 - q0), last(q1 - q0);
  for (int i = q0; i < q1; ++i) first[i - q0] = p.first_key(i), last[i - q0] = p.last_key(i);

  for (int h = 0; h < p.heads; ++h) {
    const double* prm = params.for_head(p, h);
    const size_t qoff = static_cast<size_t>(h) * d, koff = static_cast<size_t>(h / group) * d,
                 voff = static_cast<size_t>(h / group) * dv;
    for (int g = 0; g < groups; ++g) {
      const int i0 = q0 + g * Q, nq = std::min(Q, q1 - i0);
      transpose_queries(q + i0, nq, qoff, d, Q, qt.get() + qt_size * g);
      for (int i = 0; i < Q; ++i) qpos.get()[static_cast<size_t>(g) * Q + i] = i0 + std::min(i, nq - 1);
    }
    std::fill(m.get(), m.get() + static_cast<size_t>(Q) * groups, -std::numeric_limits<float>::infinity());
    std::fill(l.get(), l.get() + static_cast<size_t>(Q) * groups, 0.0);
    std::fill(o.get(), o.get() + o_size * groups, 0.0);
    for (int k0 : blocks) {
      const int n = std::min(B, p.S - k0);
      const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
      gather_keys(k, v, koff, voff, k0, n, nk, kr.get(), vr.get(), kpos.get());
      if (pack) {
        for (int j = 0; j < n; ++j) {
          std::copy(kr.get()[j], kr.get()[j] + d, kb.get() + static_cast<size_t>(j) * d);
          std::copy(vr.get()[j], vr.get()[j] + dv, vb.get() + static_cast<size_t>(j) * dv);
        }
        for (int j = 0; j < nk; ++j) {
          const int r = std::min(j, n - 1);
          kr.get()[j] = kb.get() + static_cast<size_t>(r) * d;
          vr.get()[j] = vb.get() + static_cast<size_t>(r) * dv;
        }
      }
      for (int g = 0; g < groups; ++g) {
        const int i0 = q0 + g * Q, nq = std::min(Q, q1 - i0);
        bool any = false, all = nq == Q && n % shape.keys == 0;
        for (int i = 0; i < Q; ++i) {
          int a = 0, z = 0;
          if (i < nq) {
            a = std::clamp(first[i0 + i - q0] - k0, 0, n);
            z = std::clamp(last[i0 + i - q0] + 1 - k0, 0, n);
            if (a >= z) a = z = 0;
          }
          lo.get()[i] = a, hi.get()[i] = z;
          any |= a < z;
          all &= a == 0 && z == n;
        }
        if (!any) continue;
        if (holes)
          for (int j = 0; j < n; ++j)
            for (int i = 0; i < nq; ++i) vis.get()[static_cast<size_t>(j) * Q + i] = p.mask.visible(i0 + i, k0 + j);
        float* mg = m.get() + static_cast<size_t>(g) * Q;
        double *lg = l.get() + static_cast<size_t>(g) * Q, *og = o.get() + o_size * g;
        const int32_t* qp = qpos.get() + static_cast<size_t>(g) * Q;
        const float* qtg = qt.get() + qt_size * g;
        const uint8_t* visg = all && !holes ? nullptr : vis.get();
        if (jit)
          jit(qtg, kr.get(), vr.get(), lo.get(), hi.get(), visg, qp, kpos.get(), prm, s.get(), mg, lg, og, n);
        else
          ir::interpret_tile(fn, shape, qtg, kr.get(), vr.get(), lo.get(), hi.get(), visg, qp, kpos.get(), prm,
                             s.get(), mg, lg, og, n);
      }
    }
    // A query that sees no key gets zeros, as torch >= 2.5 gives for a fully
    // masked row.
    for (int i = 0; i < q1 - q0; ++i) {
      const int g = i / Q, lane = i % Q;
      float* dst = out + static_cast<size_t>(i) * p.out_dims() + static_cast<size_t>(h) * dv;
      const double* oi = o.get() + o_size * g + static_cast<size_t>(lane) * shape.o_stride;
      const double li = l.get()[static_cast<size_t>(g) * Q + lane];
      check_not_overflowed(p, q0 + i, li);
      const double inv = li > 0 ? 1 / li : 0.0;  // one division per query, not per value
      for (int c = 0; c < dv; ++c) dst[c] = static_cast<float>(oi[c] * inv);
    }
  }
}

// One query at a time (the single-query kernel): per head of [h0, h1), the
// visible keys in blocks of block_size on the grid from key 0.
void run_queries(const SequencePlan& p, const Bound& kernel, const float* const* q, const float* const* k,
                 const float* const* v, int q0, int q1, float* out, int h0, int h1) {
  const ir::Function& fn = kernel.kernel->ir;
  const ir::TileShape shape = ir::query_shape(fn);
  const int d = p.head_dim, dv = p.value_dim, B = p.block, group = p.heads / p.kv_heads;
  const int padded = (B + shape.keys - 1) / shape.keys * shape.keys;
  // Key blocks outside, heads inside: a block's rows are read once for all
  // heads, front to back, instead of once per head at a stride.
  Buffer<float> s(padded), m(p.heads);
  Buffer<double> l(p.heads), o(static_cast<size_t>(p.heads) * shape.o_stride);
  Buffer<const float*> kr(padded), vr(padded);
  Buffer<int32_t> kpos(padded);
  Buffer<uint8_t> vis(padded);
  const ir::QueryFn jit = kernel.jit ? kernel.kernel->code.query() : nullptr;
  const bool holes = !p.mask.contiguous();
  HeadParams params(p, kernel);
  std::vector<int> blocks;
  for (int i = q0; i < q1; ++i) {
    p.mask.key_blocks(i, i + 1, B, blocks);
    std::fill(m.get(), m.get() + p.heads, -std::numeric_limits<float>::infinity());
    std::fill(l.get(), l.get() + p.heads, 0.0);
    std::fill(o.get(), o.get() + static_cast<size_t>(p.heads) * shape.o_stride, 0.0);
    for (int k0 : blocks) {
      const int from = std::max(k0, p.first_key(i)), to = std::min(k0 + B, p.last_key(i) + 1), n = to - from;
      if (n <= 0) continue;
      const int nk = (n + shape.keys - 1) / shape.keys * shape.keys;
      // Inside [first_key, last_key] only masks with holes hide keys.
      for (int j = 0; j < nk; ++j) vis.get()[j] = j < n && (!holes || p.mask.visible(i, from + j));
      // The block's rows once; each head reads its slice at koff, voff.
      gather_keys(k, v, 0, 0, from, n, nk, kr.get(), vr.get(), kpos.get());
      for (int h = h0; h < h1; ++h) {
        double* prm = params.for_head(p, h);
        const int64_t koff = static_cast<int64_t>(h / group) * d, voff = static_cast<int64_t>(h / group) * dv;
        const float* qh = q[i] + static_cast<size_t>(h) * d;
        double* oh = o.get() + static_cast<size_t>(h) * shape.o_stride;
        if (jit)
          jit(qh, kr.get(), vr.get(), koff, voff, vis.get(), i, kpos.get(), prm, s.get(), &m.get()[h], &l.get()[h],
              oh, n);
        else
          ir::interpret_query(fn, qh, kr.get(), vr.get(), koff, voff, vis.get(), i, kpos.get(), prm, s.get(),
                              &m.get()[h], &l.get()[h], oh, n);
      }
    }
    for (int h = h0; h < h1; ++h) {
      float* dst = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dv;
      const double* oh = o.get() + static_cast<size_t>(h) * shape.o_stride;
      check_not_overflowed(p, i, l.get()[h]);
      const double inv = l.get()[h] > 0 ? 1 / l.get()[h] : 0.0;
      for (int c = 0; c < dv; ++c) dst[c] = static_cast<float>(oh[c] * inv);
    }
  }
}

// The softmax with the per-row kernel (scores that keep f64 sums or check
// their inputs): the online softmax in f64, per query. With `midpoint` the
// values are the midpoint's terms (gamma v, gamma - 1), and the output is the
// weighted gyromidpoint of the values (the softmax's rescaling cancels in it).
void run_rows(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
              const float* const* v, int q0, int q1, float* out) {
  const int group = p.heads / p.kv_heads, dvh = p.value_dim, width = p.midpoint ? dvh + 1 : dvh;
  HeadParams params(p, score);
  std::vector<int> blocks, keys(p.block);
  std::vector<double> logits(p.block), acc(width), terms(width), mid(dvh);
  std::vector<float> tv(p.midpoint ? static_cast<size_t>(p.block) * width : 0);
  std::vector<const float*> vrows(p.block);
  for (int i = q0; i < q1; ++i) {
    p.mask.key_blocks(i, i + 1, p.block, blocks);
    for (int h = 0; h < p.heads; ++h) {
      SoftmaxState st;
      softmax_init(st, acc.data(), width);
      double* prm = params.for_head(p, h);
      const float* qh = q[i] + static_cast<size_t>(h) * p.head_dim;
      for (int k0 : blocks) {
        int n = 0;
        for (int j = std::max(k0, p.first_key(i)); j < std::min(k0 + p.block, p.last_key(i) + 1); ++j)
          if (p.mask.visible(i, j)) {
            prm[score.kernel->mechanism->params.size()] = j - i;
            logits[n] = run_with_params(score, prm, qh, k[j] + static_cast<size_t>(h / group) * p.head_dim,
                                        p.score_vector);
            vrows[n] = v[j] + static_cast<size_t>(h / group) * dvh;
            if (p.midpoint) {
              if (!ir::poincare_midpoint_terms(vrows[n], dvh, p.curvature, terms.data()))
                throw Error(ErrorKind::DataException,
                            "value " + std::to_string(j + 1) + " is not inside the Poincare ball of curvature -c",
                            "With midpoint, values are points of the ball: c |v|^2 < 1 for each head's slice.");
              float* t = tv.data() + static_cast<size_t>(n) * width;
              for (int c = 0; c < width; ++c) t[c] = static_cast<float>(terms[c]);
              vrows[n] = t;
            }
            ++n;
          }
        softmax_add_block(st, acc.data(), width, logits.data(), vrows.data(), n);
      }
      // A query that sees no key gets zeros (torch >= 2.5).
      float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dvh;
      check_not_overflowed(p, i, st.l);
      if (st.l == 0) {
        std::fill(o, o + dvh, 0.0f);
      } else if (p.midpoint) {
        ir::poincare_midpoint_finish(acc.data(), dvh, p.curvature, mid.data());
        for (int c = 0; c < dvh; ++c) o[c] = static_cast<float>(mid[c]);
      } else {
        softmax_finish(st, acc.data(), dvh, o);
      }
    }
  }
}

// Normalisers other than the softmax need the whole row of a query's
// logits: per (query, head) the visible logits, their weights, then sum w v.
void run_normalised(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                    const float* const* v, int q0, int q1, float* out) {
  const int group = p.heads / p.kv_heads, dvh = p.value_dim;
  HeadParams params(p, score);
  std::vector<int> blocks, keys(p.S);
  std::vector<double> logits(p.S), w(p.S), acc(dvh);
  for (int i = q0; i < q1; ++i) {
    p.mask.key_blocks(i, i + 1, p.block, blocks);
    for (int h = 0; h < p.heads; ++h) {
      double* prm = params.for_head(p, h);
      const float* qh = q[i] + static_cast<size_t>(h) * p.head_dim;
      int n = 0;
      for (int k0 : blocks)
        for (int j = std::max(k0, p.first_key(i)); j < std::min(k0 + p.block, p.last_key(i) + 1); ++j)
          if (p.mask.visible(i, j)) {
            prm[score.kernel->mechanism->params.size()] = j - i;
            keys[n] = j;
            logits[n++] = run_with_params(score, prm, qh, k[j] + static_cast<size_t>(h / group) * p.head_dim,
                                          p.score_vector);
          }
      std::fill(acc.begin(), acc.end(), 0.0);
      if (n > 0 && std::all_of(logits.begin(), logits.begin() + n, [](double x) { return x == -INFINITY; }))
        logits_overflowed(i);  // n > 0: the query sees keys
      if (n > 0) {
        ir::normalise(p.normaliser, logits.data(), n, w.data(), p.sigmoid_bias, p.top_k);
        for (int t = 0; t < n; ++t) {
          if (w[t] == 0) continue;  // sparse normalisers: most keys weigh nothing
          const float* vj = v[keys[t]] + static_cast<size_t>(h / group) * dvh;
          for (int c = 0; c < dvh; ++c) acc[c] += w[t] * vj[c];
        }
      }
      float* o = out + static_cast<size_t>(i - q0) * p.out_dims() + static_cast<size_t>(h) * dvh;
      for (int c = 0; c < dvh; ++c) o[c] = static_cast<float>(acc[c]);
    }
  }
}
}  // namespace

size_t block_memory(const SequencePlan& p) {
  if (p.normaliser != ir::Normaliser::Softmax) return normalised_memory(p);
  const char* score = p.mechanism->score;
  return score && ir::tileable(*ir::find_mechanism(score)) ? tile_memory(p) : row_memory(p);
}

SequencePlan plan_sequence(const ir::SequenceMechanism& m, const double* params, int L, int S, int dq, int dk,
                           int dv) {
  ir::check_params(m.params, params);
  SequencePlan p{};
  p.mechanism = &m;
  p.L = L, p.S = S, p.dq = dq, p.dk = dk, p.dv = dv;
  p.heads = param(m, params, "num_heads", 1, 16000);
  p.block = param(m, params, "block_size", 64, 4096);
  switch (m.heads) {
    case ir::HeadMap::Equal: p.kv_heads = p.heads; break;
    case ir::HeadMap::Grouped: p.kv_heads = param(m, params, "num_kv_heads", 1, 16000); break;
    case ir::HeadMap::Single: p.kv_heads = 1; break;
  }
  const std::string name = m.name;
  if (L < 1 || S < 1) bad("queries, keys and values must not be empty");

  // The mask, from the mechanism's kind and its params.
  ir::Mask& mask = p.mask;
  mask.kind = m.mask;
  mask.keys = S;
  mask.causal = flag(m, params, "causal");
  if (mask.kind == ir::MaskKind::None && mask.causal) mask.kind = ir::MaskKind::Causal, mask.causal = false;
  mask.window = param(m, params, "window", 0, kMaxLength);
  mask.dilation = param(m, params, "dilation", 1, kMaxLength);
  mask.stride = param(m, params, "stride", 0, kMaxLength);
  mask.summary = param(m, params, "summary", 0, kMaxLength);
  mask.block = param(m, params, "sparse_block", 0, kMaxLength);
  mask.global = param(m, params, mask.kind == ir::MaskKind::BigBird ? "global_blocks" : "global_tokens", 0, kMaxLength);
  mask.random = param(m, params, "random_blocks", 0, ir::Mask::kMaxRandomBlocks);
  if (const int i = ir::param_index(m.params, "seed"); i >= 0) {
    if (std::fabs(params[i]) > 9.0e15) bad("seed must be a whole number between -9e15 and 9e15");
    mask.seed = p.seed = static_cast<uint64_t>(static_cast<int64_t>(params[i]));
  }
  if (mask.kind == ir::MaskKind::Fixed && mask.summary > mask.stride)
    bad("summary " + std::to_string(mask.summary) + " must be at most stride " + std::to_string(mask.stride));
  p.causal = mask.kind == ir::MaskKind::Causal;

  p.normaliser = m.normaliser;
  p.sigmoid_bias = -std::log(static_cast<double>(S));
  if (const int i = ir::param_index(m.params, "bias"); i >= 0 && !std::isnan(params[i])) p.sigmoid_bias = params[i];
  p.top_k = param(m, params, "top_k", 1, kMaxLength);
  p.positional = m.positional;
  p.rope_base = 10000;
  if (const int i = ir::param_index(m.params, "base"); i >= 0) p.rope_base = params[i];
  p.midpoint = flag(m, params, "midpoint");
  p.curvature = 1;
  if (const int i = ir::param_index(m.params, "c"); i >= 0) p.curvature = params[i];
  p.features = m.features;
  p.num_features = param(m, params, "num_features", 0, 65536);

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
  if (p.positional == ir::Positional::Rope && p.head_dim % 2 != 0)
    bad("rope rotates pairs of dimensions, but the head dimension is " + std::to_string(p.head_dim),
        "Use an even head dimension (the query dimension divided by num_heads).");
  if (p.out_dims() > 16000) bad("the output would have more than 16000 dimensions");
  if (m.schedule == ir::Schedule::Linear) {
    const size_t F = p.feature_dim();
    const size_t state = sizeof(double) * (p.heads * (F * p.value_dim + F) + F * p.head_dim);
    if (state > kBlockMemoryLimit)
      bad(name + " with " + std::to_string(p.heads) + " head(s) of " + std::to_string(F) + " features x " +
              std::to_string(p.value_dim) + " needs " + std::to_string(state >> 20) +
              " MB of state, over the limit of " + std::to_string(kBlockMemoryLimit >> 20) + " MB",
          p.features == ir::FeatureMap::Favor ? "Use fewer num_features."
                                              : "Use more heads (the state grows with the square of the head dimension).");
  } else if (block_memory(p) > kBlockMemoryLimit) {
    const bool rows = p.normaliser != ir::Normaliser::Softmax;
    bad(name + " over " + std::to_string(S) + " keys with block_size " + std::to_string(p.block) + " needs " +
            std::to_string(block_memory(p) >> 20) + " MB of working memory per thread, over the limit of " +
            std::to_string(kBlockMemoryLimit >> 20) + " MB",
        rows ? std::string(ir::normaliser_name(p.normaliser)) +
                   " keeps all of a query's logits: use fewer keys per call."
             : "Use a smaller block_size.");
  }
  return p;
}

void rope_rotate_rows(const SequencePlan& p, const float* const* rows, int n, int dims, float* out) {
  const int d = p.head_dim;
  for (int r = 0; r < n; ++r)
    for (int h = 0; h * d < dims; ++h)
      ir::rope_rotate(rows[r] + static_cast<size_t>(h) * d, d, r, p.rope_base,
                      out + static_cast<size_t>(r) * dims + static_cast<size_t>(h) * d);
}

void run_flash(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out) {
  switch (score.kernel->kind) {
    case ir::KernelKind::Tile: return run_tiles(p, score, q, k, v, q0, q1, out);
    case ir::KernelKind::Query: return run_queries(p, score, q, k, v, q0, q1, out, 0, p.heads);
    case ir::KernelKind::Row:
      if (p.normaliser != ir::Normaliser::Softmax) return run_normalised(p, score, q, k, v, q0, q1, out);
      return run_rows(p, score, q, k, v, q0, q1, out);
  }
}

int query_chunk(const SequencePlan& p) {
  // The per-query state of a chunk: transposed query, m, l, O (f64).
  const size_t per_query = sizeof(float) * (p.head_dim + 1) + sizeof(double) * (1 + p.value_dim + kMaxLanes) + 4;
  const int fits = static_cast<int>(std::min<size_t>(kQueryChunk, kChunkStateLimit / per_query));
  return std::max(p.block, std::max(fits / kMaxTileQueries * kMaxTileQueries, kMaxTileQueries));
}

void run_flash_parallel(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
                        const float* const* v, int q0, int q1, float* out, int threads) {
  if (score.kernel->kind == ir::KernelKind::Query && threads > 1 && p.heads > 1) {
    // Few query rows (the single-query kernel): the heads are split instead,
    // each thread reading its heads' slices of K and V.
    const int parts = std::min(threads, p.heads);
    parallel_for_blocks(parts, threads, [&](int t) {
      run_queries(p, score, q, k, v, q0, q1, out, p.heads * t / parts, p.heads * (t + 1) / parts);
    });
    return;
  }
  // At most query_chunk() rows per call, but at least one call per thread
  // (tiles want at least a block of rows; the per-row path takes any).
  const int per_thread = (q1 - q0 + threads - 1) / threads;
  const int least = score.kernel->kind == ir::KernelKind::Row ? 1 : p.block;
  const int chunk = std::max(least, std::min(query_chunk(p), per_thread));
  const int blocks = (q1 - q0 + chunk - 1) / chunk;
  parallel_for_blocks(blocks, threads, [&](int b) {
    const int b0 = q0 + b * chunk, b1 = std::min(q1, b0 + chunk);
    run_flash(p, score, q, k, v, b0, b1, out + static_cast<size_t>(b0 - q0) * p.out_dims());
  });
}

}  // namespace rvj::runtime
