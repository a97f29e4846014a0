// The same self-attention as openblas_bench.cpp (seq 512, 8 heads of 64,
// fp32) with LIBXSMM 1.17's JIT small GEMMs where they apply: per head and per
// block of 64 queries, S = scale * Q K^T in 64 x 64 x 64 tiles (64 queries x
// 64 keys), a plain C++ row softmax, then O = P V accumulated over 64-key
// tiles. Benchmark-only: never linked into the extension.
//
// The softmax is not online: each block of 64 queries holds its full score
// rows (64 x 512) before the softmax, then P V runs over them. Simple, and
// the extra memory is one such block plus K_h^T per thread instead of L x L.
//
// LIBXSMM is column-major: a row-major [r x c] matrix with row stride ld is
// its transpose, column-major with the same ld. So a row-major C = A B is the
// column-major call C^T = B^T A^T, i.e. the kernel gets (m, n, k) = (cols of
// C, rows of C, inner) and its "A" is our B. Q K^T contracts the contiguous
// axis of both Q and K (TN in column-major terms); LIBXSMM 1.17 JITs only
// alpha = 1 and no transposed A (it falls back otherwise), so K_h^T is packed
// per head inside the timed loop, with the scale folded in.
#include <benchmark/benchmark.h>
#include <libxsmm.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "self_attention_ref.h"

namespace {

using Shape = rvj_bench::SelfAttentionShape;
constexpr int kBlock = 64;  // queries per block, keys per tile

struct Kernels {
  libxsmm_smmfunction qk, pv_first, pv_add;
};

// One thread's scratch, allocated outside the timed loop: the packed K_h^T
// and one block of score rows.
struct Scratch {
  std::vector<float> kt = std::vector<float>(static_cast<size_t>(Shape::hd) * Shape::L);
  std::vector<float> s = std::vector<float>(static_cast<size_t>(kBlock) * Shape::L);
};

// One thread's share: the (head, query block) items [begin, end).
void run_items(const Kernels& kn, const rvj_bench::SelfAttentionInputs& in, Scratch& scratch, float* out, int begin,
               int end) {
  constexpr int L = Shape::L, hd = Shape::hd, D = Shape::D, blocks = L / kBlock;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  auto& kt = scratch.kt;
  auto& s = scratch.s;
  int packed = -1;
  for (int item = begin; item < end; ++item) {
    const int h = item / blocks, q0 = item % blocks * kBlock;
    if (h != packed) {  // kt = scale * K_h^T, row-major [hd x L]
      for (int j = 0; j < L; ++j)
        for (int c = 0; c < hd; ++c) kt[static_cast<size_t>(c) * L + j] = scale * in.k[static_cast<size_t>(j) * D + h * hd + c];
      packed = h;
    }
    // S[i][k0 + j] = sum_c Q[q0 + i][c] * kt[c][k0 + j]. Column-major: C = keys x
    // queries (ldc L), A = kt's keys x hd (lda L), B = Q's hd x queries (ldb D).
    const float* q = in.q.data() + static_cast<size_t>(q0) * D + h * hd;
    for (int k0 = 0; k0 < L; k0 += kBlock) kn.qk(kt.data() + k0, q, s.data() + k0);
    // Numerically stable row softmax, as in openblas_bench.cpp. (The max as a
    // plain loop: GCC 12 kept std::max_element's running max in a stack slot
    // here, a store-forwarding chain worth ~30 % of the whole run.)
    for (int i = 0; i < kBlock; ++i) {
      float* row = s.data() + static_cast<size_t>(i) * L;
      float m = row[0];
      for (int j = 1; j < L; ++j) m = std::max(m, row[j]);
      float sum = 0;
      for (int j = 0; j < L; ++j) sum += row[j] = std::exp(row[j] - m);
      for (int j = 0; j < L; ++j) row[j] /= sum;
    }
    // O[q0 + i][c] = sum_j P[i][j] V[j][c]. Column-major: C = hd x queries
    // (ldc D), A = V's hd x keys (lda D), B = P's keys x queries (ldb L).
    float* o = out + static_cast<size_t>(q0) * D + h * hd;
    for (int k0 = 0; k0 < L; k0 += kBlock)
      (k0 == 0 ? kn.pv_first : kn.pv_add)(in.v.data() + static_cast<size_t>(k0) * D + h * hd, s.data() + k0, o);
  }
}

void BM_LibxsmmSelfAttention_512x8x64(benchmark::State& st) {
  constexpr int L = Shape::L, H = Shape::H, hd = Shape::hd, D = Shape::D;
  const int threads = static_cast<int>(st.range(0)), items = H * (L / kBlock);
  const rvj_bench::SelfAttentionInputs in;
  std::vector<float> out(static_cast<size_t>(L) * D);

  // Dispatched (JIT-compiled) once, outside the timed loop.
  const libxsmm_blasint b = kBlock, ld_l = L, ld_d = D, ld_hd = hd;
  const float one = 1.0f, zero = 0.0f;
  const int flags = LIBXSMM_GEMM_FLAG_NONE, prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
  const Kernels kn{
      libxsmm_smmdispatch(b, b, ld_hd, &ld_l, &ld_d, &ld_l, &one, &zero, &flags, &prefetch),
      libxsmm_smmdispatch(ld_hd, b, b, &ld_d, &ld_l, &ld_d, &one, &zero, &flags, &prefetch),
      libxsmm_smmdispatch(ld_hd, b, b, &ld_d, &ld_l, &ld_d, &one, &one, &flags, &prefetch)};
  if (!kn.qk || !kn.pv_first || !kn.pv_add) {
    st.SkipWithError("libxsmm_smmdispatch gave no kernel");
    return;
  }
  st.SetLabel(std::string("libxsmm ") + libxsmm_get_target_arch());

  std::vector<Scratch> scratch(threads);
  auto run = [&] {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
      pool.emplace_back(run_items, std::cref(kn), std::cref(in), std::ref(scratch[t]), out.data(),
                        items * t / threads, items * (t + 1) / threads);
    run_items(kn, in, scratch[0], out.data(), 0, items / threads);
    for (auto& th : pool) th.join();
  };

  rvj_bench::check_then_time(st, run, out);
  // Per thread: one block of score rows and the packed K_h^T.
  st.counters["extra_bytes"] = static_cast<double>(threads) * (kBlock + hd) * L * sizeof(float);
}

}  // namespace

// Real time for the rate too: the benchmark thread sleeps in join() while the
// other threads finish, so its CPU time is not the elapsed time. Two threads
// split the 64 (head, query block) items in halves; each iteration starts them
// (tens of microseconds, against milliseconds of work).
BENCHMARK(BM_LibxsmmSelfAttention_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
