#!/usr/bin/env python3
"""Fits src/ir/tanh64.h's kPoly: tanh(x) = x + x^3 R(x^2) on |x| < 0.625,
R of degree 11, least squares in relative error at 400 Chebyshev nodes in
40-digit arithmetic (mpmath), then reports the worst relative error of the
float64 evaluation (fma Horner, as the kernels run it) on a grid.
Usage: scripts/fit_tanh64.py (mpmath comes with the fixtures' requirements)."""
import mpmath as mp
import numpy as np

mp.mp.dps = 40
SMALL, DEG, N = 0.625, 11, 400


def r_of(s):
    x = mp.sqrt(s)
    return (mp.tanh(x) - x) / x**3


nodes = [SMALL**2 / 2 * (1 - mp.cos(mp.pi * (k + 0.5) / N)) for k in range(N)]
A, b = mp.matrix(N, DEG + 1), mp.matrix(N, 1)
for i, s in enumerate(nodes):
    f = r_of(s)
    for j in range(DEG + 1):
        A[i, j] = s**j / f
    b[i] = 1
c = mp.lu_solve(A.T * A, A.T * b)
coef = [float(c[j]) for j in range(DEG + 1)]


def fma(a, b, c):  # exact product and sum, one rounding
    return float(mp.mpf(a) * mp.mpf(b) + mp.mpf(c))


worst = 0
for x in np.linspace(1e-9, SMALL, 3001):
    s = x * x
    p = coef[DEG]
    for j in range(DEG - 1, -1, -1):
        p = fma(p, s, coef[j])
    t = fma(x * s, p, x)
    ref = mp.tanh(mp.mpf(x))
    worst = max(worst, abs((mp.mpf(t) - ref) / ref))
print("kPoly =", ", ".join(repr(v) for v in coef))
print("worst relative error on [0, %g): %.3g" % (SMALL, worst))
