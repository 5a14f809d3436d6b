from __future__ import annotations

import numpy as np

import gpugrad as gg
from gpugrad import optim

SHAPES = [(3, 5), (7,), (), (2, 3, 4), (1,)]


def starts(seed: int = 0, shapes=SHAPES) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def grad(t: int, i: int, p: np.ndarray, seed: int = 7) -> np.ndarray:
    """A gradient that depends on the step, the parameter and its current value (a noisy quadratic)."""
    noise = np.random.default_rng([seed, t, i]).standard_normal(np.shape(p))
    return 0.5 * p + noise


def make(name: str, arrays, dtype=gg.float64, fused=True, **kwargs):
    params = [gg.tensor(a.copy(), dtype=dtype, requires_grad=True) for a in arrays]
    return params, getattr(optim, name)(params, fused=fused, **kwargs)


def set_grads(params, t: int, dtype=gg.float64, skip=()) -> None:
    for i, p in enumerate(params):
        p.grad = None if i in skip else gg.tensor(grad(t, i, p.detach().numpy()), dtype=dtype)


def values(params) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in params]
