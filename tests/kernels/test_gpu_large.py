"""The kernels on a real GPU at training sizes (the checks bench/gpu_check.py made before it was folded
into the tests and the bench suite): millions of elements, so that grid-stride loops take several trips,
tiled kernels run many tiles and last-block reductions meet many blocks, which the small odd sizes of the
other kernel tests never do on a GPU. Each compares impl="cuda" with impl="reference" on the same device
(CuPy), outputs allocated NaN-filled (conftest.nan_filled_allocations) so that an unwritten element
fails. Timing is the bench suite's (``gpugrad bench --device cuda``).

Marked ``cuda``: skipped without a GPU (``python -m pytest -m cuda tests`` on a GPU machine).
"""
from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import activation as act
from gpugrad.kernels import conv, linear, optim, pool, softmax_xent

from .conftest import HAS_GPU, SIM, nan_filled_allocations

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(SIM or not HAS_GPU, reason="needs an NVIDIA GPU with CuPy (not the simulator)"),
]

# float32 against the reference on 1e7 random samples reaches rarer ulp-level disagreements than the
# unit tests' sizes; a real bug shows up as O(1) errors or as NaN from the fill.
TOL = {"rtol": 1e-4, "atol": 1e-5}
N = 10_000_003  # odd, and several grid-stride trips at 256 threads x 4 elements x 32 blocks per SM


@pytest.fixture
def cp():
    cupy = pytest.importorskip("cupy")
    with nan_filled_allocations():
        yield cupy
    cupy.get_default_memory_pool().free_all_blocks()


def _randn(cp, shape, seed, scale=1.0):
    return cp.asarray((np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32))


def _close(cp, got, want, **tol):
    np.testing.assert_allclose(cp.asnumpy(got), cp.asnumpy(want), **(tol or TOL))


@pytest.mark.parametrize("name", act.KINDS)
def test_activation_forward_backward(cp, name):
    param = {"leaky_relu": 0.01, "elu": 1.0, "celu": 1.0}.get(name, 0.0)
    x, gy = _randn(cp, N, 0, 3.0), _randn(cp, N, 1)
    y = cp.full(N, np.nan, np.float32)
    assert act.forward(cp, name, x, param, out=y, impl="cuda") is y
    y_ref = act.forward(cp, name, x, param, impl="reference")
    _close(cp, y, y_ref)
    saved = y_ref if act.SAVES_OUTPUT[name] else x
    _close(cp, act.backward(cp, name, gy, saved, param, impl="cuda"), act.backward(cp, name, gy, saved, param, impl="reference"))


@pytest.mark.parametrize("name", ["relu", "gelu", "identity"])
def test_linear_epilogues_4096(cp, name):
    z, bias, gy = _randn(cp, (4096, 4096), 0), _randn(cp, 4096, 1), _randn(cp, (4096, 4096), 2)
    pre_ref, y_ref = linear.bias_act_forward(cp, name, z, bias, impl="reference")
    pre, y = linear.bias_act_forward(cp, name, z, bias, impl="cuda")
    _close(cp, y, y_ref)
    assert (pre is None) == (pre_ref is None)
    if pre is not None:
        _close(cp, pre, pre_ref)
    saved = None if name == "identity" else (y_ref if act.SAVES_OUTPUT[name] else pre_ref)
    gz_ref, _ = linear.bias_act_backward(cp, name, gy, saved, impl="reference")
    gz, gb = linear.bias_act_backward(cp, name, gy, saved, impl="cuda")
    _close(cp, gz, gz_ref)
    # The bias gradient sums 4096 rows across many blocks (the last block adds the partials): against a
    # float64 sum, within 1e-5 of each column's absolute mass (the summation orders differ).
    gz64 = gz_ref.astype(np.float64)
    err = cp.abs(gb.astype(np.float64) - gz64.sum(axis=0))
    assert bool((err <= 1e-5 * cp.abs(gz64).sum(axis=0) + 1e-6).all()), float(err.max())


@pytest.mark.parametrize("variant", ["plain", "ignore+smoothing+weight", "weighted mean, repeated"])
def test_softmax_cross_entropy_8192x1000(cp, variant):
    n, c = 8192, 1000
    logits = _randn(cp, (n, c), 0, 2.0)
    target = cp.asarray(np.random.default_rng(1).integers(0, c, n))
    kwargs: dict = {}
    if variant != "plain":
        target[::8] = -100
        kwargs = {"weight": cp.asarray(np.random.default_rng(2).uniform(0.5, 1.5, c).astype(np.float32)),
                  "label_smoothing": 0.1}
    if variant.startswith("weighted mean"):
        kwargs["reduction"] = "mean"
    loss_ref, d_ref, den_ref = softmax_xent.softmax_cross_entropy(cp, logits, target, impl="reference", **kwargs)
    runs = [softmax_xent.softmax_cross_entropy(cp, logits, target, impl="cuda", **kwargs) for _ in range(3)]
    loss, d, den = runs[0]
    _close(cp, loss, loss_ref, rtol=1e-5, atol=1e-5)
    _close(cp, d, d_ref, rtol=1e-4, atol=1e-6)
    if kwargs.get("reduction") == "mean":
        # finished in the kernel's last block (partials, threadfence, atomic ticket): the GPU's memory
        # ordering is what this checks, three launches in a row, bit for bit
        _close(cp, den, den_ref, rtol=1e-5, atol=1e-6)
        for other in runs[1:]:
            assert float(other[0]) == float(loss) and float(other[2]) == float(den)


def _optim_buffers(cp):
    p, g = _randn(cp, N, 0), _randn(cp, N, 1)
    m = _randn(cp, N, 2, 0.1)
    v = _randn(cp, N, 3) ** 2 * np.float32(0.01) + np.float32(1e-6)
    return p, g, m, v


@pytest.mark.parametrize("case", ["adam", "adamw+amsgrad", "sgd nesterov", "rmsprop", "adagrad"])
def test_optimizer_steps_1e7(cp, case):
    p, g, m, v = _optim_buffers(cp)
    adam = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 3}
    steps = {
        "adam": lambda impl, s: optim.adam(cp, s[0], g, s[1], s[2], None, impl=impl, **adam),
        "adamw+amsgrad": lambda impl, s: optim.adam(cp, s[0], g, s[1], s[2], s[3], impl=impl, amsgrad=True,
                                                    weight_decay=0.01, decoupled_weight_decay=True, **adam),
        "sgd nesterov": lambda impl, s: optim.sgd(cp, s[0], g, s[1], lr=1e-2, momentum=0.9, nesterov=True, impl=impl),
        "rmsprop": lambda impl, s: optim.rmsprop(cp, s[0], g, s[2], None, None, lr=1e-3, alpha=0.99, eps=1e-8, impl=impl),
        "adagrad": lambda impl, s: optim.adagrad(cp, s[0], g, s[2], lr=1e-2, lr_decay=1e-3, eps=1e-10, step=3, impl=impl),
    }
    start = [p, m, v, v * np.float32(1.5)]
    fused, ref = [a.copy() for a in start], [a.copy() for a in start]
    steps[case]("cuda", fused)
    steps[case]("reference", ref)
    for f, r in zip(fused, ref):
        _close(cp, f, r, rtol=1e-5, atol=1e-6)


def test_sum_of_squares_1e7(cp):
    g = _randn(cp, N, 0)
    fused, ref = optim.sum_of_squares(cp, g, impl="cuda"), optim.sum_of_squares(cp, g, impl="reference")
    assert abs(fused - ref) <= 1e-5 * abs(ref)


def test_conv_and_pool_gathers_64x64x32x32(cp):
    shape = (64, 64, 32, 32)
    x = _randn(cp, shape, 0)
    geo3 = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    geo2 = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
    exact = {"rtol": 0.0, "atol": 0.0}
    _close(cp, conv.im2col(cp, x, *geo3, impl="cuda"), conv.im2col(cp, x, *geo3, impl="reference"), **exact)
    cols = _randn(cp, (64 * 9, 64 * 32 * 32), 1)
    _close(cp, conv.col2im(cp, cols, shape, *geo3, impl="cuda"), conv.col2im(cp, cols, shape, *geo3, impl="reference"))
    y, index = pool.max_pool2d(cp, x, *geo2, impl="cuda")
    y_ref, index_ref = pool.max_pool2d(cp, x, *geo2, impl="reference")
    _close(cp, y, y_ref, **exact)
    np.testing.assert_array_equal(cp.asnumpy(index), cp.asnumpy(index_ref))
    gy = _randn(cp, y.shape, 2)
    _close(cp, pool.max_pool2d_backward(cp, gy, index_ref, shape, *geo2, impl="cuda"),
           pool.max_pool2d_backward(cp, gy, index_ref, shape, *geo2, impl="reference"), **exact)


@pytest.mark.parametrize("s", [512, 1024, 2048])
def test_tiled_matmul_bias_gelu_against_float64(cp, s):
    a, b = _randn(cp, (s, s), 0), _randn(cp, (s, s), 1, 1.0 / np.sqrt(s))
    bias = _randn(cp, s, 2)
    pre64, y64 = linear.matmul_bias_act(cp, a.astype(np.float64), b.astype(np.float64), bias.astype(np.float64),
                                        "gelu", impl="reference")
    pre, y = linear.matmul_bias_act(cp, a, b, bias, "gelu", impl="cuda")
    _close(cp, y, y64, rtol=1e-4, atol=1e-4)
    _close(cp, pre, pre64, rtol=1e-4, atol=1e-4)
