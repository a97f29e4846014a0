"""The torch side of scripts/bench-linear, on 1 and 2 threads: the linear
family at 4096 rows x 8 heads x 64 (self-attention, the shapes of
BM_LinearSequence in bench/kernel_bench.cpp), as torch users write the
papers' formulas, and the row normalisers at 512 x 8 x 64 (torch, and the
entmax package for sparsemax and entmax15). Prints "case|threads|ms"
(medians) and "versions|torch|entmax".

  linear:        phi = elu + 1; out = phi(Q) (phi(K)^T V) / (phi(Q) sum phi(K) + eps)
  linear_causal: the same with j <= i, chunked as the efficient torch
                 implementations do it (chunks of 64: the masked product
                 within a chunk, a running state across chunks); the
                 prefix-sum form would hold L x d x d_v per head (512 MB)
  cosformer:     phi = [relu(x) cos(pi i / 2M), relu(x) sin(pi i / 2M)], M = L
  performer:     FAVOR+ with 128 features, phi = m^-1/2 exp(W x^ - |x^|^2 / 2),
                 x^ = x d^-1/4
  sigmoid:       sigmoid(Q K^T / sqrt d - ln S) V
  topk_sparse:   the 32 largest logits of a row kept, softmax over them, times V
  sparsemax, entmax15: entmax.sparsemax / entmax.entmax15 over the logits, times V
"""
import math
import sys

import torch

from catalogue_bench import median_ms

L, H, D = 4096, 8, 64
EPS = 1e-6


def heads(x):
    return x.view(L, H, D).transpose(0, 1)  # H x L x D


def normalised(phq, state, z):
    return (phq @ state) / ((phq @ z.unsqueeze(-1)) + EPS)


def linear(x):
    q = k = v = heads(x)
    phq = torch.nn.functional.elu(q) + 1
    phk = torch.nn.functional.elu(k) + 1
    return normalised(phq, phk.transpose(1, 2) @ v, phk.sum(1))


def linear_causal(x, chunk=64):
    q = k = v = heads(x)
    phq = torch.nn.functional.elu(q) + 1
    phk = torch.nn.functional.elu(k) + 1
    state = torch.zeros(H, D, D)
    z = torch.zeros(H, D)
    out = torch.empty(H, L, D)
    mask = torch.tril(torch.ones(chunk, chunk))
    for c0 in range(0, L, chunk):
        qc, kc, vc = phq[:, c0:c0 + chunk], phk[:, c0:c0 + chunk], v[:, c0:c0 + chunk]
        a = (qc @ kc.transpose(1, 2)) * mask
        num = qc @ state + a @ vc
        den = qc @ z.unsqueeze(-1) + a.sum(-1, keepdim=True)
        out[:, c0:c0 + chunk] = num / (den + EPS)
        state = state + kc.transpose(1, 2) @ vc
        z = z + kc.sum(1)
    return out


POS = (math.pi * torch.arange(L, dtype=torch.float32) / (2 * L)).view(1, L, 1)


def cosformer(x):
    q = k = v = heads(x)

    def phi(t):
        r = torch.relu(t)
        return torch.cat([r * torch.cos(POS), r * torch.sin(POS)], -1)

    phq, phk = phi(q), phi(k)
    return normalised(phq, phk.transpose(1, 2) @ v, phk.sum(1))


W = torch.randn(128, D)


def performer(x):
    q = k = v = heads(x)

    def phi(t):
        t = t * D ** -0.25
        return torch.exp(t @ W.T - (t * t).sum(-1, keepdim=True) / 2) / math.sqrt(W.shape[0])

    phq, phk = phi(q), phi(k)
    return normalised(phq, phk.transpose(1, 2) @ v, phk.sum(1))


def normalisers():
    import entmax

    n = 512
    y = torch.rand(n, H * D) - 0.5
    q = k = v = y.view(n, H, D).transpose(0, 1)

    def logits():
        return q @ k.transpose(1, 2) / math.sqrt(D)

    def topk(s, kk=32):
        top = s.topk(kk, dim=-1)
        w = torch.full_like(s, float("-inf")).scatter(-1, top.indices, top.values)
        return torch.softmax(w, -1)

    return (("sigmoid", lambda: torch.sigmoid(logits() - math.log(n)) @ v),
            ("topk_sparse", lambda: topk(logits()) @ v),
            ("sparsemax", lambda: entmax.sparsemax(logits(), dim=-1) @ v),
            ("entmax15", lambda: entmax.entmax15(logits(), dim=-1) @ v),
            ("scaled_dot", lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v))), entmax


def main():
    torch.manual_seed(0)
    x = torch.randn(L, H * D) * 0.5
    norms, entmax = normalisers()
    print(f"versions|{torch.__version__}|{getattr(entmax, '__version__', '1.3')}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, f in (("linear", linear), ("linear_causal", linear_causal), ("cosformer", cosformer),
                        ("performer", performer)):
            with torch.inference_mode():
                for _ in range(3):  # the allocator's first large blocks, beyond median_ms's one warm-up call
                    f(x)
                ms = median_ms(lambda: f(x), 15)
            print(f"{name}|{threads}|{ms:.3f}")
            sys.stdout.flush()
        for name, f in norms:
            with torch.inference_mode():
                for _ in range(3):
                    f()
                ms = median_ms(f, 30)
            print(f"{name}|{threads}|{ms:.3f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
