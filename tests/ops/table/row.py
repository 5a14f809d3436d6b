"""The op table's row type and input domains.

Every row is checked by gradcheck and gradgradcheck in float64 (test_op_table.py), and run in each
listed dtype against the float64 result. Domains keep inputs away from points where the op is not
differentiable (kinks, ties, bounds), since finite differences are meaningless there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import gpugrad as gg


def real(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def distinct(rng, shape):
    """Values with no ties and gaps of at least 0.05 (for max, min, maximum, sorting-like ops)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05 - n * 0.025 + rng.uniform(0, 0.01, n)).reshape(shape)


def away_from_half(rng, shape):
    """Away from the clamp bounds +-0.5."""
    x = rng.uniform(-1.5, 1.5, shape)
    return np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.2, x)


@dataclass
class Row:
    name: str
    fn: Callable
    inputs: list  # [(shape, domain)]
    dtypes: tuple = (gg.float32, gg.float64)
    tol: dict = field(default_factory=dict)  # {"torch": rtol} where PyTorch's own result is less exact
    op: str = ""  # the exported function this row covers (defaults to name)
    # The same computation in PyTorch, as fn(torch, *tensors); None when row.fn itself runs on torch tensors
    # (operators and methods only).
    torch: Callable | None = None

    @property
    def covers(self) -> str:
        return self.op or self.name
