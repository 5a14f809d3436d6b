"""Framework overhead: forward + backward of one op on tiny (4x4) tensors, per op.

gpugrad beside PyTorch (when installed) and raw NumPy with no autograd, in one run, so the ratios
compare like with like: ``python -m pytest bench/bench_overhead.py --benchmark-only --benchmark-group-by=param:op``.
Target (issue: core engine): at most 2x PyTorch's per-op overhead.
"""
import numpy as np
import pytest

import gpugrad as gg

OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b),
    "exp": (lambda a, b: a.exp(), lambda a, b: np.exp(a)),
    "tanh": (lambda a, b: a.tanh(), lambda a, b: np.tanh(a)),
    "relu": (lambda a, b: a.relu(), lambda a, b: np.maximum(a, 0)),
    "sum": (lambda a, b: a.sum(), lambda a, b: a.sum()),
    "softmax": (lambda a, b: a.softmax(-1), lambda a, b: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
}


@pytest.mark.parametrize("op", list(OPS))
def test_gpugrad(benchmark, op):
    fn = OPS[op][0]
    a, b = gg.randn(4, 4, requires_grad=True), gg.randn(4, 4, requires_grad=True)
    seed = gg.ones(4, 4)

    def step():
        y = fn(a, b)
        y.backward(seed if y.ndim else None)

    benchmark(step)


@pytest.mark.parametrize("op", list(OPS))
def test_pytorch(benchmark, op):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch==2.13.0")
    torch.set_num_threads(1)
    fn = OPS[op][0]
    a, b = torch.randn(4, 4, requires_grad=True), torch.randn(4, 4, requires_grad=True)
    seed = torch.ones(4, 4)

    def step():
        y = fn(a, b)
        y.backward(seed if y.ndim else None)

    benchmark(step)


@pytest.mark.parametrize("op", list(OPS))
def test_numpy_forward_only(benchmark, op):
    fn = OPS[op][1]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 4), dtype=np.float32), rng.standard_normal((4, 4), dtype=np.float32)
    benchmark(fn, a, b)
