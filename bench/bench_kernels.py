"""Fused Numba CPU kernels against the NumPy reference expressions (and
PyTorch's CPU Adam when torch is importable).

    pytest bench/bench_kernels.py --benchmark-only
    GPUGRAD_BENCH_SMALL=1 pytest bench/bench_kernels.py --benchmark-only   # CI smoke test

Targets: activation backward fused >= 3x the reference, Adam fused >= 5x.
Compare the "min" columns within a group; each activation group also times np.add over the same arrays
(see test_activation_backward).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from gpugrad.kernels import activation, linear, optim

SMALL = os.environ.get("GPUGRAD_BENCH_SMALL", "0") == "1"
N = 10_000 if SMALL else 10_000_000
ROWS, COLS = (64, 33) if SMALL else (8192, 1024)


def _warm(fn):
    fn()  # JIT compile / first-touch outside the timing
    return fn


def _bench(benchmark, fn):
    if SMALL:  # smoke test: a few rounds, no calibration
        benchmark.pedantic(fn, rounds=3, iterations=1)
    else:
        benchmark(fn)


@pytest.fixture(scope="module")
def act_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N, dtype=np.float32) * 3
    gy = rng.standard_normal(N, dtype=np.float32)
    return x, gy


@pytest.mark.parametrize("impl", ["cpu", "reference", "numpy_add"])
@pytest.mark.parametrize("name", activation.NAMES)
def test_activation_backward(benchmark, act_inputs, name, impl):
    """impl="numpy_add" is np.add(gy, saved): the bytes of the fused pass (read two arrays, write a fresh
    one) with no math, i.e. how fast NumPy itself moves them. For the memory-bound derivatives (sigmoid,
    tanh) the reference's time over this row bounds what any kernel can gain over NumPy here."""
    x, gy = act_inputs
    saved = activation.reference_forward(np, name, x, 0.01) if activation.SAVES_OUTPUT[name] else x
    benchmark.group = f"activation backward {name} {N:.0e} float32"
    if impl == "numpy_add":
        fn = _warm(lambda: np.add(gy, saved))
    else:
        fn = _warm(lambda: activation.backward(np, name, gy, saved, 0.01, impl=impl))
    _bench(benchmark, fn)


def _adam_buffers():
    rng = np.random.default_rng(1)
    p = rng.standard_normal(N, dtype=np.float32)
    g = rng.standard_normal(N, dtype=np.float32)
    return p, g, np.zeros(N, np.float32), np.zeros(N, np.float32)


ADAM = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
            decoupled_weight_decay=True)


@pytest.mark.parametrize("impl", ["cpu", "reference"])
def test_adam(benchmark, impl):
    p, g, m, v = _adam_buffers()
    state = {"step": 0}

    def step():
        state["step"] += 1
        optim.adam(np, p, g, m, v, None, step=state["step"], impl=impl, **ADAM)

    benchmark.group = f"AdamW step {N:.0e} float32 params"
    _bench(benchmark, _warm(step))


@pytest.mark.parametrize("mode", ["foreach", "fused"])
def test_adam_torch(benchmark, mode):
    torch = pytest.importorskip("torch")
    p, g, _, _ = _adam_buffers()
    param = torch.nn.Parameter(torch.from_numpy(p))
    param.grad = torch.from_numpy(g)
    try:
        opt = torch.optim.AdamW([param], lr=ADAM["lr"], betas=(ADAM["beta1"], ADAM["beta2"]),
                                eps=ADAM["eps"], weight_decay=ADAM["weight_decay"],
                                **{mode: True})
        opt.step()
    except (RuntimeError, TypeError) as e:
        pytest.skip(f"torch AdamW {mode}=True unavailable on CPU: {e}")
    benchmark.group = f"AdamW step {N:.0e} float32 params"
    _bench(benchmark, opt.step)


@pytest.mark.parametrize("impl", ["cpu", "reference"])
@pytest.mark.parametrize("name", ["relu", "gelu_tanh"])
def test_bias_act_backward(benchmark, name, impl):
    rng = np.random.default_rng(2)
    pre = rng.standard_normal((ROWS, COLS), dtype=np.float32)
    gy = rng.standard_normal((ROWS, COLS), dtype=np.float32)
    saved = linear.bias_act_forward(np, name, pre, None, impl="reference")[1] \
        if activation.SAVES_OUTPUT[name] else pre
    benchmark.group = f"bias_act_backward {name} {ROWS}x{COLS} float32"
    _bench(benchmark, _warm(lambda: linear.bias_act_backward(np, name, gy, saved, impl=impl)))
