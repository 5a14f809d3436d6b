"""The fit behind kernels/_vmath.py's ``_MILLS_P`` and ``_MILLS_Q``: Phi(-u) = e^(-u^2/2) P(u) / Q(u) for u >= 0.

P / Q approximates R(u) = Phi(-u) e^(u^2/2) = erfc(u / sqrt 2) e^(u^2/2) / 2 (the Mills ratio over sqrt(2 pi))
on [0, 14.3], past which Phi(-u) is below float32's smallest subnormal. Degree 4 over degree 5 (Q(0) = 1),
fitted by linearised least squares in relative error on Chebyshev nodes (the weights divided by the last
round's Q, Loeb's iteration), then reweighted towards the minimax fit. Every coefficient comes out
positive, so that Horner's rule in float32 at u >= 0 adds no cancellation. Prints the coefficients (lowest
degree first) and the largest relative error on a dense grid, in float64 and with the coefficients rounded to
float32 as the kernel uses them::

    python bench/fit_mills.py
"""
from __future__ import annotations

import math

import numpy as np

U_MAX = 14.3
P_DEGREE, Q_DEGREE = 4, 5


def ratio(u: np.ndarray) -> np.ndarray:
    """R(u) in float64 (libm's erfc keeps its relative accuracy far past u = 14.3)."""
    return np.array([0.5 * math.erfc(v / math.sqrt(2)) * math.exp(0.5 * v * v) for v in u])


def fit(nodes: int = 4000, rounds: int = 60) -> tuple[np.ndarray, np.ndarray]:
    s = (1 + np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)) / 2  # u / U_MAX, scaled for the conditioning
    r = ratio(U_MAX * s)
    vp = np.vander(s, P_DEGREE + 1, increasing=True)
    vq = np.vander(s, Q_DEGREE + 1, increasing=True)[:, 1:]
    weight, q = 1 / r, np.ones_like(s)
    for k in range(rounds):  # P - r (Q - 1) = r, each row divided by the last Q: the relative error of P / Q
        rows = np.hstack([vp, -r[:, None] * vq]) * (weight / q)[:, None]
        c = np.linalg.lstsq(rows, r * weight / q, rcond=None)[0]
        p, q = vp @ c[:P_DEGREE + 1], 1 + vq @ c[P_DEGREE + 1:]
        err = np.abs(p / q - r) / r
        if k >= 5:  # weight up where the relative error is largest: towards equal ripples
            weight = weight * (1 + 3 * err / err.max())
            weight /= weight.mean()
    scale = U_MAX ** -np.arange(Q_DEGREE + 1)
    return c[:P_DEGREE + 1] * scale[:P_DEGREE + 1], np.concatenate([[1.0], c[P_DEGREE + 1:] * scale[1:]])


def main() -> None:
    p, q = fit()
    print("P:", ", ".join(repr(float(c)) for c in p))
    print("Q:", ", ".join(repr(float(c)) for c in q))
    u = np.linspace(0, U_MAX, 100001)
    exact = ratio(u)
    for name, (pc, qc) in {"float64": (p, q), "float32": (p.astype(np.float32), q.astype(np.float32))}.items():
        approx = np.polyval(pc[::-1].astype(np.float64), u) / np.polyval(qc[::-1].astype(np.float64), u)
        print(f"largest relative error of P/Q on [0, {U_MAX}], coefficients in {name}: "
              f"{np.max(np.abs(approx - exact) / exact):.2e}")


if __name__ == "__main__":
    main()
