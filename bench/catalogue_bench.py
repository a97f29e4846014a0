"""The torch and PyG side of scripts/bench-catalogue, on the shapes of the
kernel benchmarks (bench/kernel_bench.cpp): prints "case|threads|ms".

  moe: 512 vectors x 512 dims x 8 experts, top 2, Mixtral's router as torch
       users write it (x @ W.T, topk, softmax over the kept logits);
  gat: PyG GATConv(64, 16, heads=4) in .eval() over 1000 nodes and 10000
       random edges (self-loops added by the layer).
"""
import sys
import time

import torch


def median_ms(f, reps=50):
    f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def main():
    torch.manual_seed(0)
    with torch.no_grad():
        torch.set_num_threads(1)
        x, w = torch.randn(512, 512), torch.randn(8, 512)

        def moe():
            logits = x @ w.T
            top, idx = torch.topk(logits, 2, dim=-1)
            return idx, torch.softmax(top, dim=-1)
        print(f"moe_512x512x8|1|{median_ms(moe, 200):.4f}")
        try:
            from torch_geometric.nn import GATConv
        except ImportError:
            return
        conv = GATConv(64, 16, heads=4).eval()
        nodes = torch.randn(1000, 64)
        edges = torch.randint(0, 1000, (2, 10000))
        for t in (1, 2):
            torch.set_num_threads(t)
            print(f"gat_1000x10000|{t}|{median_ms(lambda: conv(nodes, edges)):.4f}")
    print(f"versions|{torch.__version__}|{__import__('torch_geometric').__version__}")


if __name__ == "__main__":
    main()
    sys.stdout.flush()
