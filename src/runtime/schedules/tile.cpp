// The tile drivers: the flash step on generated tile kernels (groups of
// queries against a key block: Q.K^T, online softmax and P.V in one call),
// and on the single-query kernel for calls with one query row.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "codegen/isa.h"
#include "codegen/schedule.h"
#include "ir/cancel.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "runtime/schedules/steps.h"

namespace rvj::runtime::flash {

void gather_keys(const float* const* k, const float* const* v, size_t koff, size_t voff, int from, int n, int nk,
                 const float** kr, const float** vr, int32_t* kpos) {
  for (int j = 0; j < nk; ++j) {
    const int row = from + std::min(j, n - 1);
    kr[j] = k[row] + koff;
    vr[j] = v[row] + voff;
    kpos[j] = row;
  }
}

HeadParams::HeadParams(const SequencePlan& p, const Bound& b) {
  const ir::Mechanism& m = *b.kernel->mechanism;
  std::copy(b.params, b.params + m.params.size(), v);
  if (p.positional == ir::Positional::Alibi)
    for (size_t i = 0; i < m.params.size(); ++i)
      if (m.params[i].field == ir::Field::Slope) slope = static_cast<int>(i);
}

namespace {
bool sees_some_key(const SequencePlan& p, int i) {
  const int first = std::max(0, p.first_key(i)), last = std::min(p.S - 1, p.last_key(i));
  if (first > last) return false;
  if (p.mask.contiguous()) return true;
  for (int j = first; j <= last; ++j)
    if (p.mask.visible(i, j)) return true;
  return false;
}

}  // namespace

[[noreturn]] void logits_overflowed(int i) {
  throw Error(ErrorKind::OutOfRange,
              "every logit of query " + std::to_string(i + 1) + " overflowed type real (all are -infinity)",
              "A dot product of these inputs exceeds the range of real (about 3.4e38); scale the vectors down.");
}

void check_not_overflowed(const SequencePlan& p, int i, double l) {
  if (l == 0 && sees_some_key(p, i)) logits_overflowed(i);
}

namespace {
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

}  // namespace

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
  const codegen::TileFn jit = tile.jit ? tile.kernel->code.tile() : nullptr;
  HeadParams params(p, tile);
  // The sigmoid's bias: the slot after the score's params (ir::TileWeights).
  const bool sigmoid = fn.weights == ir::TileWeights::Sigmoid;
  if (sigmoid) params.v[fn.num_params] = p.sigmoid_bias;
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
      check_cancel();
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
    // masked row. Sigmoid weights are final: O as it is, and a max logit of
    // -inf over keys the query sees means every logit overflowed.
    for (int i = 0; i < q1 - q0; ++i) {
      const int g = i / Q, lane = i % Q;
      float* dst = out + static_cast<size_t>(i) * p.out_dims() + static_cast<size_t>(h) * dv;
      const double* oi = o.get() + o_size * g + static_cast<size_t>(lane) * shape.o_stride;
      if (sigmoid) {
        if (m.get()[static_cast<size_t>(g) * Q + lane] == -std::numeric_limits<float>::infinity())
          check_not_overflowed(p, q0 + i, 0.0);
        for (int c = 0; c < dv; ++c) dst[c] = static_cast<float>(oi[c]);
        continue;
      }
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
  const codegen::QueryFn jit = kernel.jit ? kernel.kernel->code.query() : nullptr;
  const bool holes = !p.mask.contiguous();
  HeadParams params(p, kernel);
  std::vector<int> blocks;
  for (int i = q0; i < q1; ++i) {
    p.mask.key_blocks(i, i + 1, B, blocks);
    std::fill(m.get(), m.get() + p.heads, -std::numeric_limits<float>::infinity());
    std::fill(l.get(), l.get() + p.heads, 0.0);
    std::fill(o.get(), o.get() + static_cast<size_t>(p.heads) * shape.o_stride, 0.0);
    for (int k0 : blocks) {
      check_cancel();
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

}  // namespace rvj::runtime::flash
