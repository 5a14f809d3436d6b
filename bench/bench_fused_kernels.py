"""Each fused kernel against its reference (the plain NumPy/CuPy spec, what ``GPUGRAD_FUSED=0`` runs), at
1e4, 1e6 and 1e7 elements.

Groups ``kernel:<kernel>:<elements>``: ``fused`` (impl "cpu" on NumPy, "cuda" on CuPy) beside
``reference`` (the baseline). Each row carries the bytes one call must move (float32: every input read
once, every output written once) and its arithmetic, so the runner reports the fraction of the measured
copy bandwidth it reaches; all of these are memory-bound (well under 1 flop per byte)::

    gpugrad bench kernels
    GPUGRAD_BENCH_DEVICE=cuda python -m pytest bench/bench_fused_kernels.py --benchmark-only

bench/bench_kernels.py (the kernels engineer's) times the kernels at a fixed size; this file covers the
sizes, from launch-overhead-bound (1e4) to DRAM-bound (1e7).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import pick, record, run
from gpugrad.kernels import activation, conv, linear, optim, pool, softmax_xent

SIZES = pick([10_000, 1_000_000, 10_000_000], [1_000, 4_096])
F32 = 4
COLS = 1000  # feature / class columns of the 2-D kernels


def _label(n: int) -> str:
    exp = round(math.log10(n))
    return f"1e{exp}" if 10**exp == n else str(n)


def _rand(xp, shape, seed, low=-2.0, high=2.0):
    return xp.asarray(np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32))


def _rows(n: int) -> int:
    return max(1, n // COLS)


# Each case: (name, builder). A builder takes (xp, n) and returns (call(impl), bytes, flops, elements)
# where call runs the kernel once with that impl; the element count is what the kernel really touches.

def _act_forward(act, flops_per):
    def build(xp, n):
        x, out = _rand(xp, n, 0), xp.empty(n, dtype=np.float32)
        return (lambda impl: activation.forward(xp, act, x, out=out, impl=impl)), 8 * n, flops_per * n, n
    return build


def _act_backward(act, flops_per):
    def build(xp, n):
        gy, s, out = _rand(xp, n, 0), _rand(xp, n, 1), xp.empty(n, dtype=np.float32)
        return (lambda impl: activation.backward(xp, act, gy, s, out=out, impl=impl)), 12 * n, flops_per * n, n
    return build


def _bias_act_forward(xp, n):
    r = _rows(n)
    z, b = _rand(xp, (r, COLS), 0), _rand(xp, COLS, 1)
    e = r * COLS  # relu saves its output: read z, write y (no pre-activation copy)
    return (lambda impl: linear.bias_act_forward(xp, "relu", z, b, impl=impl)), 8 * e, 2 * e, e


def _bias_act_backward(xp, n):
    r = _rows(n)
    gy, y = _rand(xp, (r, COLS), 0), _rand(xp, (r, COLS), 1, 0.0, 2.0)
    e = r * COLS  # read gy and y, write gz; the bias gradient (COLS) is negligible
    return (lambda impl: linear.bias_act_backward(xp, "relu", gy, y, impl=impl)), 12 * e, 2 * e, e


def _softmax_xent(xp, n):
    r = _rows(n)
    logits = _rand(xp, (r, COLS), 0)
    target = xp.asarray(np.random.default_rng(1).integers(0, COLS, r))
    e = r * COLS  # read logits, write dlogits; targets and row losses are per row
    return (lambda impl: softmax_xent.softmax_cross_entropy(xp, logits, target, impl=impl)), 8 * e + 12 * r, 8 * e, e


def _optim_state(xp, n, k):
    return [_rand(xp, n, i, -0.1, 0.1) for i in range(k)]


def _sgd(xp, n):
    p, g, buf = _optim_state(xp, n, 3)
    return (lambda impl: optim.sgd(xp, p, g, buf, lr=1e-3, momentum=0.9, impl=impl)), 5 * F32 * n, 5 * n, n


def _adam(xp, n):
    p, g, m = _optim_state(xp, n, 3)
    v = xp.abs(_rand(xp, n, 7, -0.1, 0.1))
    return ((lambda impl: optim.adam(xp, p, g, m, v, None, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=10,
                                     impl=impl)),
            7 * F32 * n, 13 * n, n)


def _rmsprop(xp, n):
    p, g = _optim_state(xp, n, 2)
    sq = xp.abs(_rand(xp, n, 7, -0.1, 0.1))
    return ((lambda impl: optim.rmsprop(xp, p, g, sq, None, None, lr=1e-3, alpha=0.99, eps=1e-8, impl=impl)),
            5 * F32 * n, 8 * n, n)


def _adagrad(xp, n):
    p, g = _optim_state(xp, n, 2)
    s = xp.abs(_rand(xp, n, 7, -0.1, 0.1))
    return (lambda impl: optim.adagrad(xp, p, g, s, lr=1e-3, step=10, impl=impl)), 5 * F32 * n, 6 * n, n


def _sum_of_squares(xp, n):
    (g,) = _optim_state(xp, n, 1)
    return (lambda impl: optim.sum_of_squares(xp, g, impl=impl)), F32 * n, 2 * n, n


# The CNN gathers on (N, 16, 16, 16) images, N = elements / 4096: 3x3 windows padded by 1 (im2col writes
# 9 values per input element, col2im reads them) and 2x2 max-pooling (y and an int64 index per window).
CONV3 = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
POOL2 = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))


def _image(xp, n, seed):
    return _rand(xp, (max(1, n // 4096), 16, 16, 16), seed)


def _im2col(xp, n):
    x = _image(xp, n, 0)
    return (lambda impl: conv.im2col(xp, x, *CONV3, impl=impl)), 10 * F32 * x.size, 0, x.size


def _col2im(xp, n):
    x = _image(xp, n, 0)
    cols = conv.im2col(xp, x, *CONV3, impl="reference")
    return (lambda impl: conv.col2im(xp, cols, x.shape, *CONV3, impl=impl)), 10 * F32 * x.size, 9 * x.size, x.size


def _max_pool(xp, n):
    x = _image(xp, n, 0)
    return (lambda impl: pool.max_pool2d(xp, x, *POOL2, impl=impl)), 7 * x.size, 3 * x.size // 4, x.size


def _max_pool_backward(xp, n):
    x = _image(xp, n, 0)
    y, index = pool.max_pool2d(xp, x, *POOL2, impl="reference")
    return (lambda impl: pool.max_pool2d_backward(xp, y, index, x.shape, *POOL2, impl=impl)), 7 * x.size, x.size // 4, x.size


# Arithmetic per element is approximate (a transcendental counted as ~10-20 flops); bytes are exact.
KERNELS = {
    "activation.forward[relu]": _act_forward("relu", 1),
    "activation.forward[gelu]": _act_forward("gelu", 25),
    "activation.backward[relu]": _act_backward("relu", 1),
    "activation.backward[gelu]": _act_backward("gelu", 40),
    "linear.bias_act_forward[relu]": _bias_act_forward,
    "linear.bias_act_backward[relu]": _bias_act_backward,
    "softmax_cross_entropy": _softmax_xent,
    "optim.sgd[momentum]": _sgd,
    "optim.adam": _adam,
    "optim.rmsprop": _rmsprop,
    "optim.adagrad": _adagrad,
    "optim.sum_of_squares": _sum_of_squares,
    "conv.im2col[3x3]": _im2col,
    "conv.col2im[3x3]": _col2im,
    "pool.max_pool2d[2x2]": _max_pool,
    "pool.max_pool2d_backward[2x2]": _max_pool_backward,
}


@pytest.mark.parametrize("n", SIZES, ids=_label)
@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("impl", ["fused", "reference"])
def test_kernel(benchmark, dev, impl, kernel, n):
    call, nbytes, flops, elems = KERNELS[kernel](dev.xp, n)
    which = dev.kernel_impl if impl == "fused" else "reference"
    benchmark.group = f"kernel:{kernel}:{_label(n)}"
    record(benchmark, impl, baseline=1 if impl == "reference" else 0, bytes=nbytes, flops=flops, roof="memory",
           elements=elems, kernel_impl=which)
    run(benchmark, dev.timed(lambda: call(which)))
