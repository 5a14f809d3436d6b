"""The fit behind kernels/_vmath.py's ``_ERFCX_G``: erfcx(z) = erfc(z) e^(z^2) = t G(t), t = 1 / (1 + z/2).

G is a polynomial of degree 9 in t on the t that z in [0, 10.1] gives (past 10.1 erfc is below float32's
smallest subnormal), fitted by least squares in relative error on Chebyshev nodes and reweighted towards
the minimax fit. Prints the coefficients (lowest degree first) and the largest relative error on a dense
grid::

    python bench/fit_erfcx.py [--degree 9]
"""
from __future__ import annotations

import argparse
import math

import numpy as np

Z_MAX = 10.1


def erfcx(z: np.ndarray) -> np.ndarray:
    """erfc(z) e^(z^2) in float64 (libm's erfc keeps its relative accuracy out to z = 26)."""
    return np.array([math.erfc(v) * math.exp(v * v) for v in z])


def fit(degree: int, nodes: int = 3000, rounds: int = 40) -> np.ndarray:
    t_min = 1 / (1 + Z_MAX / 2)
    t = (t_min + 1) / 2 + (1 - t_min) / 2 * np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    g = erfcx(2 / t - 2) / t
    vander = np.vander(t, degree + 1, increasing=True)
    weight = 1 / g
    for _ in range(rounds):  # weight up where the relative error is largest: towards equal ripples
        coef = np.linalg.lstsq(vander * weight[:, None], g * weight, rcond=None)[0]
        err = np.abs(vander @ coef - g) / g
        weight = weight * (1 + 5 * err / err.max())
        weight /= weight.mean()
    return coef


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--degree", type=int, default=9)
    coef = fit(p.parse_args().degree)
    z = np.linspace(0, Z_MAX, 20001)
    t = 1 / (1 + z / 2)
    exact = erfcx(z)
    print("G:", ", ".join(repr(float(c)) for c in coef))
    print(f"largest relative error of t G(t) on [0, {Z_MAX}]: {np.max(np.abs(np.polyval(coef[::-1], t) * t - exact) / exact):.2e}")


if __name__ == "__main__":
    main()
