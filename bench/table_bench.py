"""torch SDPA per window, the reference for ruvector_sliding_attention in
scripts/bench-tables: 16384 positions x 64 dims, window 256, stride 128,
float32, median of 7 (ms). Prints one number."""
import statistics
import sys
import time

import torch

n, d, window, stride = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(int(sys.argv[5]))
x = torch.randn(n, d, dtype=torch.float32)
starts = []
s = 0
while True:
    starts.append(s)
    if s + window >= n:
        break
    s += stride


def run():
    out = []
    for s in starts:
        w = x[s:s + window].unsqueeze(0)
        out.append(torch.nn.functional.scaled_dot_product_attention(w, w, w))
    return out


run()
times = []
for _ in range(7):
    t0 = time.perf_counter()
    run()
    times.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(times):.1f}")
