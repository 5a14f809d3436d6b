"""Fused optimizer steps against the reference formulas (and torch.optim)."""

from __future__ import annotations

import sys

import numba
import numpy as np
import pytest

from gpugrad.kernels import optim
from gpugrad.threads import get_num_threads, set_num_threads

from .conftest import SIM, tolerances

SIZES = [1, 7, 1001] + ([] if SIM else [2 * optim.CPU_CHUNK + 5])  # the CPU kernels' chunks and a partial one


def _buffers(rng, n, dtype, k):
    return [rng.standard_normal(n).astype(dtype) for _ in range(k)]


def _compare(backend, dtype, kernel_fn, ref_fn, bufs, **kw):
    """Run the kernel and the reference on copies; compare every buffer."""
    dev = [None if b is None else backend.dev(b.copy()) for b in bufs]
    ref = [None if b is None else b.copy() for b in bufs]
    kernel_fn(backend.xp, *dev, impl=backend.impl, **kw)
    ref_fn(np, *ref, **kw)
    for i, (d, r) in enumerate(zip(dev, ref)):
        if r is not None:
            np.testing.assert_allclose(backend.host(d), r, **tolerances(dtype), err_msg=f"buffer {i} {kw}")


SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, first_step=True),
    dict(lr=0.05, momentum=0.9, dampening=0.1),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd(backend, rng, dtype):
    for n in SIZES:
        for kw in SGD_CONFIGS:
            p, g, buf = _buffers(rng, n, dtype, 3)
            _compare(backend, dtype, optim.sgd, optim.reference_sgd,
                     [p, g, buf if kw.get("momentum") else None], **kw)


ADAM_CONFIGS = [
    dict(),
    dict(weight_decay=0.1),
    dict(weight_decay=0.1, decoupled_weight_decay=True),
    dict(amsgrad=True),
    dict(weight_decay=0.05, decoupled_weight_decay=True, amsgrad=True),
    dict(weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam(backend, rng, dtype):
    for n in SIZES:
        for step in (1, 7):
            for kw in ADAM_CONFIGS:
                p, g, m, v, vmax = _buffers(rng, n, dtype, 5)
                v, vmax = np.abs(v), np.abs(vmax)
                _compare(backend, dtype, optim.adam, optim.reference_adam,
                         [p, g, m, v, vmax if kw.get("amsgrad") else None],
                         lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, step=step, **kw)


RMSPROP_CONFIGS = [
    dict(),
    dict(weight_decay=0.1),
    dict(momentum=0.9),
    dict(centered=True),
    dict(momentum=0.5, centered=True, weight_decay=0.01),
    dict(momentum=0.5, weight_decay=0.01, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rmsprop(backend, rng, dtype):
    for n in SIZES:
        for kw in RMSPROP_CONFIGS:
            p, g, buf = _buffers(rng, n, dtype, 3)
            sq = (np.abs(rng.standard_normal(n)) + 1).astype(dtype)
            gavg = (rng.standard_normal(n) * 0.1).astype(dtype)  # keeps sq > gavg**2
            _compare(backend, dtype, optim.rmsprop, optim.reference_rmsprop,
                     [p, g, sq, buf if kw.get("momentum") else None, gavg if kw.get("centered") else None],
                     lr=1e-2, alpha=0.99, eps=1e-8, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adagrad(backend, rng, dtype):
    for n in SIZES:
        for kw in (dict(), dict(lr_decay=0.01, weight_decay=0.1), dict(weight_decay=0.1, maximize=True)):
            p, g, s = _buffers(rng, n, dtype, 3)
            _compare(backend, dtype, optim.adagrad, optim.reference_adagrad, [p, g, np.abs(s)],
                     lr=0.1, step=5, **kw)


def _positive(rng, n, dtype):
    return (np.abs(rng.standard_normal(n)) + 0.1).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adamax(backend, rng, dtype):
    for n in SIZES:
        for kw in (dict(), dict(weight_decay=0.1, maximize=True)):
            p, g, m = _buffers(rng, n, dtype, 3)
            _compare(backend, dtype, optim.adamax, optim.reference_adamax, [p, g, m, _positive(rng, n, dtype)],
                     lr=2e-3, beta1=0.9, beta2=0.99, eps=1e-8, step=4, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adadelta(backend, rng, dtype):
    for n in SIZES:
        for kw in (dict(), dict(weight_decay=0.1, maximize=True)):
            p, g = _buffers(rng, n, dtype, 2)
            _compare(backend, dtype, optim.adadelta, optim.reference_adadelta,
                     [p, g, _positive(rng, n, dtype), _positive(rng, n, dtype)], lr=0.5, rho=0.9, eps=1e-6, **kw)


NADAM_RADAM_CONFIGS = [
    dict(),
    dict(weight_decay=0.1),
    dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nadam(backend, rng, dtype):
    for n in SIZES:
        for kw in NADAM_RADAM_CONFIGS:
            p, g, m = _buffers(rng, n, dtype, 3)
            bufs = [p, g, m, _positive(rng, n, dtype)]
            dev = [backend.dev(b.copy()) for b in bufs]
            ref = [b.copy() for b in bufs]
            args = dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=3, mu_product=0.7, **kw)
            got = optim.nadam(backend.xp, *dev, impl=backend.impl, **args)
            assert got == optim.reference_nadam(np, *ref, **args)
            for d, r in zip(dev, ref):
                np.testing.assert_allclose(backend.host(d), r, **tolerances(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_radam(backend, rng, dtype):
    for n in SIZES:
        for step in (2, 9):  # before and after the rectification is defined (rho_t > 5 from step 6)
            for kw in NADAM_RADAM_CONFIGS:
                p, g, m = _buffers(rng, n, dtype, 3)
                _compare(backend, dtype, optim.radam, optim.reference_radam, [p, g, m, _positive(rng, n, dtype)],
                         lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=step, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_asgd(backend, rng, dtype):
    for n in SIZES:
        for kw in (dict(mu=1.0), dict(mu=0.25, weight_decay=0.1, maximize=True)):
            p, g, ax = _buffers(rng, n, dtype, 3)
            _compare(backend, dtype, optim.asgd, optim.reference_asgd, [p, g, ax], eta=0.01, lambd=1e-2, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rprop(backend, rng, dtype):
    for n in SIZES:
        for kw in (dict(), dict(maximize=True)):
            p, g, prev = _buffers(rng, n, dtype, 3)
            prev[::3] = 0  # every branch: same sign, flipped sign, no previous gradient
            sizes = _positive(rng, n, dtype) * 10
            sizes[::5] = 60.0  # clamped to step_size_max
            _compare(backend, dtype, optim.rprop, optim.reference_rprop, [p, g, prev, sizes],
                     etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50.0, **kw)


def test_rprop_reference_known_values():
    p = np.array([1.0, 1.0, 1.0])
    g = np.array([2.0, -2.0, 3.0])
    prev = np.array([1.0, 1.0, 0.0])
    size = np.array([0.1, 0.1, 0.1])
    optim.reference_rprop(np, p, g, prev, size, etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50)
    np.testing.assert_allclose(size, [0.12, 0.05, 0.1])
    np.testing.assert_allclose(p, [0.88, 1.0, 0.9])  # the flipped element does not move
    np.testing.assert_allclose(prev, [2.0, 0.0, 3.0])


def test_radam_rectification_known_values():
    # rho_inf = 2 / (1 - beta2) - 1 = 1999 for beta2 = 0.999; rho_t > 5 first at step 6.
    assert optim.radam_rectification(0.999, 5) is None
    rect = optim.radam_rectification(0.999, 6)
    rho_inf = 1999.0
    rho_t = rho_inf - 2 * 6 * 0.999**6 / (1 - 0.999**6)
    assert rect == pytest.approx(((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_of_squares(backend, rng, dtype):
    for n in [0, 1, 7, 1001] + ([] if SIM else [1_000_003]):
        g = rng.standard_normal(n).astype(dtype)
        got = optim.sum_of_squares(backend.xp, backend.dev(g), impl=backend.impl)
        assert isinstance(got, float)
        expect = float((g.astype(np.float64) ** 2).sum())
        rtol = 1e-12 if backend.impl == "cpu" or np.dtype(dtype) == np.float64 else 1e-5
        assert got == pytest.approx(expect, rel=rtol, abs=1e-300)


def _steps(rng, n, dtype):
    """Every CPU step (and the norm) on fresh buffers: name -> () -> the arrays it wrote or returned."""
    def bufs(k, positive=0):  # training-like magnitudes, where the 1-ulp differences showed
        small = [b * dtype(0.01) for b in _buffers(rng, n, dtype, k)]
        return small + [_positive(rng, n, dtype) for _ in range(positive)]

    def run(fn, arrays, **kw):
        def go():
            out = [a.copy() for a in arrays]
            got = fn(np, *out, impl="cpu", **kw)
            return out + [np.float64(got if got is not None else 0.0)]
        return go

    p, g, m = bufs(3)
    adam_state = [p, g, m, g * g, g * g * 2]
    return {
        "sgd": run(optim.sgd, bufs(3), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        "adam": run(optim.adam, adam_state, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, step=3),
        "adamw_amsgrad": run(optim.adam, adam_state, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, step=3,
                             amsgrad=True, weight_decay=0.1, decoupled_weight_decay=True),
        "rmsprop": run(optim.rmsprop, bufs(2) + [_positive(rng, n, dtype) + 1] + bufs(1) + [bufs(1)[0] * 0.1],
                       lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.5, centered=True),
        "adagrad": run(optim.adagrad, bufs(2, 1), lr=0.1, lr_decay=0.01, step=5, weight_decay=0.1),
        "adamax": run(optim.adamax, bufs(3, 1), lr=2e-3, beta1=0.9, beta2=0.99, eps=1e-8, step=4),
        "adadelta": run(optim.adadelta, bufs(2, 2), lr=0.5, rho=0.9, eps=1e-6, weight_decay=0.1),
        "nadam": run(optim.nadam, bufs(3, 1), lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=3, mu_product=0.7,
                     weight_decay=0.1, decoupled_weight_decay=True),
        "radam": run(optim.radam, bufs(3, 1), lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=9, weight_decay=0.1),
        "asgd": run(optim.asgd, bufs(3), eta=0.01, lambd=1e-2, mu=0.25, weight_decay=0.1),
        "rprop": run(optim.rprop, bufs(3, 1), etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50.0),
        "sum_of_squares": run(optim.sum_of_squares, bufs(1)),
    }


@pytest.mark.skipif(SIM or numba.config.NUMBA_NUM_THREADS < 2, reason="needs the CPU kernels and 2 threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_steps_give_the_same_bits_on_one_and_two_threads(rng, monkeypatch, dtype):
    # The parallel builds at these sizes, whose halves split inside a chunk, mid-vector. A difference is
    # 1 ulp in a few elements, and only for some values: several draws (with flat prange loops, float32
    # Adam differed in about one draw in three, Adadelta and the norm in nearly all).
    monkeypatch.setattr(sys.modules[type(optim._adam_cpu).__module__], "PARALLEL_MIN_WORK", 0)
    before = get_num_threads()
    try:
        for n in (3 * optim.CPU_CHUNK + 1001, 2 * optim.CPU_CHUNK + 602) * 4:
            for name, step in _steps(rng, n, dtype).items():
                set_num_threads(1)
                one = step()
                set_num_threads(2)
                two = step()
                for i, (a, b) in enumerate(zip(one, two)):
                    assert np.array_equal(a, b), f"{name} (n={n}): output {i} differs at {np.flatnonzero(a != b)[:8]}"
    finally:
        set_num_threads(before)


def test_sum_of_squares_accumulates_float32_in_float64():
    # 2**24 + many ones: a float32 accumulator stops growing at 2**24.
    g = np.ones(1 << 25, np.float32)
    assert optim.sum_of_squares(np, g, impl="cpu") == float(1 << 25)


@pytest.mark.skipif(SIM, reason="compares with PyTorch in the normal process")
@pytest.mark.torch
@pytest.mark.parametrize("which", ["sgd", "sgd_nesterov", "adam", "adamw_amsgrad", "rmsprop", "rmsprop_centered", "adagrad"])
def test_matches_torch_optim_over_steps(rng, which):
    torch = pytest.importorskip("torch")
    n, steps = 257, 5
    p0 = rng.standard_normal(n)
    grads = [rng.standard_normal(n) for _ in range(steps)]
    tp = torch.tensor(p0.copy(), requires_grad=True)
    p = p0.copy()
    state = {k: np.zeros(n) for k in ("a", "b", "c")}
    if which.startswith("sgd"):
        nest = which == "sgd_nesterov"
        opt = torch.optim.SGD([tp], lr=0.1, momentum=0.9, dampening=0.0 if nest else 0.1,
                              nesterov=nest, weight_decay=0.01)
        step = lambda i: optim.sgd(np, p, grads[i], state["a"], lr=0.1, momentum=0.9,
                                   dampening=0.0 if nest else 0.1, nesterov=nest,
                                   weight_decay=0.01, first_step=i == 0, impl="cpu")
    elif which.startswith("adam"):
        w = which == "adamw_amsgrad"
        opt = (torch.optim.AdamW if w else torch.optim.Adam)(
            [tp], lr=1e-2, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1, amsgrad=w)
        step = lambda i: optim.adam(np, p, grads[i], state["a"], state["b"], state["c"], lr=1e-2,
                                    beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=0.1,
                                    decoupled_weight_decay=w, amsgrad=w, step=i + 1, impl="cpu")
    elif which.startswith("rmsprop"):
        c = which == "rmsprop_centered"
        opt = torch.optim.RMSprop([tp], lr=1e-2, alpha=0.9, eps=1e-8, weight_decay=0.01,
                                  momentum=0.5, centered=c)
        step = lambda i: optim.rmsprop(np, p, grads[i], state["a"], state["b"], state["c"],
                                       lr=1e-2, alpha=0.9, eps=1e-8, weight_decay=0.01,
                                       momentum=0.5, centered=c, impl="cpu")
    else:
        opt = torch.optim.Adagrad([tp], lr=0.1, lr_decay=0.01, weight_decay=0.01, eps=1e-10)
        step = lambda i: optim.adagrad(np, p, grads[i], state["a"], lr=0.1, lr_decay=0.01,
                                       weight_decay=0.01, eps=1e-10, step=i + 1, impl="cpu")
    for i in range(steps):
        tp.grad = torch.tensor(grads[i])
        opt.step()
        step(i)
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-10, atol=1e-12)
