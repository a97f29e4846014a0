"""The torch and PyG side of scripts/bench-catalogue, on the shapes of the
kernel benchmarks (bench/kernel_bench.cpp): prints "case|threads|ms".

  moe: 512 vectors x 512 dims x 8 experts, top 2, Mixtral's router as torch
       users write it (x @ W.T, topk, softmax over the kept logits);
  gat: PyG GATConv(64, 16, heads=4) in .eval() over 1000 nodes and 10000
       random edges (self-loops added by the layer);
  the sequence mechanisms at 512 x 8 heads x 64, as torch users write them
       (retention's parallel form, the Nystromformer with 64 landmarks and
       6 pseudo-inverse steps, Sinkformer with 5 steps, talking heads,
       multi-head latent attention with a 128-wide latent, differential
       attention), one thread.
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


def seq(median_ms):
    L, H, d = 512, 8, 64
    E = H * d
    torch.set_num_threads(1)
    x = torch.randn(L, E)
    q, k, v = (x.view(L, H, d).transpose(0, 1) for _ in range(3))
    sdpa = torch.nn.functional.scaled_dot_product_attention

    gam = 1 - 2.0 ** (-5 - torch.arange(H, dtype=torch.float32))
    n = torch.arange(L)
    D = (gam[:, None, None] ** (n[:, None] - n[None, :]).clamp(min=0)) * (n[:, None] >= n[None, :])
    print(f"seq_retention|1|{median_ms(lambda: ((q @ k.transpose(1, 2)) * D) @ v, 20):.4f}")

    def nystrom(m=64, it=6):
        qs, ks = q / d ** 0.25, k / d ** 0.25
        ql, kl = qs.view(H, m, L // m, d).mean(2), ks.view(H, m, L // m, d).mean(2)
        k1, k2, k3 = (torch.softmax(a @ b.transpose(1, 2), -1) for a, b in ((qs, kl), (ql, kl), (ql, ks)))
        I = torch.eye(m)
        Z = k2.transpose(1, 2) / k2.sum(1).max()
        for _ in range(it):
            KZ = k2 @ Z
            Z = 0.25 * Z @ (13 * I - KZ @ (15 * I - KZ @ (7 * I - KZ)))
        return k1 @ (Z @ (k3 @ v))
    print(f"seq_nystrom|1|{median_ms(nystrom, 20):.4f}")

    def sinkhorn(it=5):
        c = q @ k.transpose(1, 2) / d ** 0.5
        for s in range(it):
            c = c - torch.logsumexp(c, dim=2 if s % 2 == 0 else 1, keepdim=True)
        return c.exp() @ v
    print(f"seq_sinkhorn|1|{median_ms(sinkhorn, 20):.4f}")

    pl, pw = torch.randn(H, H), torch.randn(H, H)
    def talking():
        J = torch.einsum("hid,hjd->hij", q, k) / d ** 0.5
        W = torch.softmax(torch.einsum("hij,hg->gij", J, pl), -1)
        return torch.einsum("hij,hjd->hid", torch.einsum("gij,go->oij", W, pw), v)
    print(f"seq_talking_heads|1|{median_ms(talking, 20):.4f}")

    wq, wdkv, wuk, wuv, wo = torch.randn(E, E), torch.randn(128, E), torch.randn(E, 128), torch.randn(E, 128), torch.randn(E, E)
    def latent():
        c = x @ wdkv.T
        qq, kk, vv = ((x @ wq.T), (c @ wuk.T), (c @ wuv.T))
        o = sdpa(*(t.view(L, H, d).transpose(0, 1) for t in (qq, kk, vv)))
        return o.transpose(0, 1).reshape(L, E) @ wo.T
    print(f"seq_multi_head_latent|1|{median_ms(latent, 20):.4f}")

    dq, dk, dv_, do = (torch.randn(E, E) for _ in range(4))
    lam = 0.5
    def differential():
        qq, kk, vv = (x @ w.T for w in (dq, dk, dv_))
        q2, k2 = (t.view(L, H, 2, d // 2).permute(2, 1, 0, 3) for t in (qq, kk))
        vh = vv.view(L, H, d).transpose(0, 1)
        o = sdpa(q2[0], k2[0], vh) - lam * sdpa(q2[1], k2[1], vh)
        o = o * torch.rsqrt(o.pow(2).mean(-1, keepdim=True) + 1e-5) * (1 - 0.8)
        return o.transpose(0, 1).reshape(L, E) @ do.T
    print(f"seq_differential|1|{median_ms(differential, 20):.4f}")


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
        seq(median_ms)
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
