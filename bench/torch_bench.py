#!/usr/bin/env python3
"""The same sequence shapes as bench/kernel_bench.cpp, through torch SDPA on
the CPU, float32, with the same thread counts. Prints `case|threads|median ms`.
Run by scripts/bench when torch is importable (RVJ_TORCH_PYTHON)."""
import statistics
import time

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = [("single_query_512x8x64", 1, 512, 8), ("self_attention_512x8x64", 512, 512, 8),
         ("flash_v2_4096x1x64", 4096, 4096, 1)]
for name, L, S, H in cases:
    q = torch.randn(1, H, L, 64)
    k = torch.randn(1, H, S, 64)
    v = torch.randn(1, H, S, 64)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.no_grad():
            F.scaled_dot_product_attention(q, k, v)  # warm-up
            times = []
            for _ in range(7 if L < 4096 else 3):
                t0 = time.perf_counter()
                F.scaled_dot_product_attention(q, k, v)
                times.append((time.perf_counter() - t0) * 1000)
        print(f"{name}|{threads}|{statistics.median(times):.3f}")
# Additive attention as torch users write it: the (L, S, a) tanh tensor, then
# v, softmax, V (queries and keys already projected, as in the kernel bench).
qp, kp, vv, V = torch.randn(512, 64), torch.randn(512, 64), torch.randn(64), torch.randn(512, 64)
for threads in (1, 2):
    torch.set_num_threads(threads)
    with torch.no_grad():
        times = []
        for _ in range(8):
            t0 = time.perf_counter()
            torch.softmax(torch.tanh(qp[:, None, :] + kp[None, :, :]) @ vv, dim=1) @ V
            times.append((time.perf_counter() - t0) * 1000)
    print(f"additive_512x64|{threads}|{statistics.median(times[1:]):.3f}")
print(f"torch|{torch.__version__}|")
