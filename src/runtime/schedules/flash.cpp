#include "runtime/schedules/flash.h"

#include <algorithm>

#include "ir/errors.h"
#include "runtime/schedules/parallel.h"
#include "runtime/schedules/steps.h"

namespace rvj::runtime {

using namespace flash;

void run_flash(const SequencePlan& p, const Bound& score, const float* const* q, const float* const* k,
               const float* const* v, int q0, int q1, float* out) {
  switch (score.kernel->kind) {
    case ir::KernelKind::Tile: return run_tiles(p, score, q, k, v, q0, q1, out);
    case ir::KernelKind::Query: return run_queries(p, score, q, k, v, q0, q1, out, 0, p.heads);
    case ir::KernelKind::Row:
      if (whole_rows(p)) return run_normalised(p, score, q, k, v, q0, q1, out);
      return run_rows(p, score, q, k, v, q0, q1, out);
    case ir::KernelKind::Panel:
    case ir::KernelKind::Features: break;  // the linear schedule's; bind_sequence never binds them
  }
  throw Error(ErrorKind::Internal, "the flash schedule got a linear schedule's kernel");
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
