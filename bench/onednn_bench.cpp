// The same self-attention as openblas_bench.cpp (seq 512, 8 heads of 64,
// fp32) through oneDNN 2.6's primitives, per head: matmul S = scale * Q_h K_h^T,
// softmax over the last axis (in place), matmul O_h = P V_h. Benchmark-only:
// never linked into the extension.
//
// Q_h, K_h^T, V_h and O_h are strided views into the [512 x 512] row-major
// Q/K/V/O (row stride 512, head h at column offset h * 64): memory descriptors
// with explicit strides, a memory object per head pointing at the head's first
// column, nothing copied. K_h^T is K_h read with strides {1, 512}.
//
// Threads: Debian's libdnnl2 is built with the OpenMP CPU runtime (libgomp;
// DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP), so the thread count is
// omp_set_num_threads() on the benchmark thread, before the primitives are
// created (oneDNN reads omp_get_max_threads() when it creates and runs them).
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>

#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_TBB
#include <tbb/global_control.h>
#endif

#include <cmath>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "self_attention_ref.h"

namespace {

using dnnl::memory;
using Shape = rvj_bench::SelfAttentionShape;

void BM_OneDnnSelfAttention_512x8x64(benchmark::State& st) {
  constexpr int L = Shape::L, H = Shape::H, hd = Shape::hd, D = Shape::D;
  const int threads = static_cast<int>(st.range(0));
  if (dnnl::version()->cpu_runtime != DNNL_CPU_RUNTIME) {
    st.SkipWithError("libdnnl's CPU runtime differs from its headers'");
    return;
  }
#if DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
  omp_set_num_threads(threads);
#elif DNNL_CPU_RUNTIME == DNNL_RUNTIME_TBB
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
#else
  if (threads != 1) {
    st.SkipWithError("oneDNN built without a threading runtime");
    return;
  }
#endif
  rvj_bench::SelfAttentionInputs in;
  std::vector<float> out(static_cast<size_t>(L) * D), s(static_cast<size_t>(L) * L);

  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const auto f32 = memory::data_type::f32;
  const memory::desc head_md({L, hd}, f32, {D, 1});   // Q_h, V_h, O_h: [L x hd], row stride D
  const memory::desc head_t_md({hd, L}, f32, {1, D});  // K_h^T: K_h read transposed
  const memory::desc s_md({L, L}, f32, {L, 1});        // the logits, dense

  dnnl::primitive_attr scaled;
  scaled.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(hd))});
  const dnnl::matmul::primitive_desc qk_pd(dnnl::matmul::desc(head_md, head_t_md, s_md), scaled, eng);
  const dnnl::softmax_forward::primitive_desc sm_pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, s_md, 1), eng);
  const dnnl::matmul::primitive_desc pv_pd(dnnl::matmul::desc(s_md, head_md, head_md), eng);
  const dnnl::matmul qk(qk_pd);
  const dnnl::softmax_forward softmax(sm_pd);
  const dnnl::matmul pv(pv_pd);
  st.SetLabel(std::string("matmul ") + qk_pd.impl_info_str() + "/" + pv_pd.impl_info_str() + ", softmax " +
              sm_pd.impl_info_str());

  // Memory objects and argument maps per head, built once.
  memory s_mem(s_md, eng, s.data());
  std::vector<std::unordered_map<int, memory>> qk_args, pv_args;
  for (int h = 0; h < H; ++h) {
    qk_args.push_back({{DNNL_ARG_SRC, memory(head_md, eng, in.q.data() + h * hd)},
                       {DNNL_ARG_WEIGHTS, memory(head_t_md, eng, in.k.data() + h * hd)},
                       {DNNL_ARG_DST, s_mem}});
    pv_args.push_back({{DNNL_ARG_SRC, s_mem},
                       {DNNL_ARG_WEIGHTS, memory(head_md, eng, in.v.data() + h * hd)},
                       {DNNL_ARG_DST, memory(head_md, eng, out.data() + h * hd)}});
  }
  const std::unordered_map<int, memory> sm_args{{DNNL_ARG_SRC, s_mem}, {DNNL_ARG_DST, s_mem}};
  auto run = [&] {
    for (int h = 0; h < H; ++h) {
      qk.execute(strm, qk_args[h]);
      softmax.execute(strm, sm_args);
      pv.execute(strm, pv_args[h]);
    }
    strm.wait();
  };

  rvj_bench::check_then_time(st, run, out);
  st.counters["extra_bytes"] = static_cast<double>(L) * L * sizeof(float);
}

}  // namespace

// Real time for the rate too: with several threads the benchmark thread's CPU
// time is not the elapsed time.
BENCHMARK(BM_OneDnnSelfAttention_512x8x64)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
