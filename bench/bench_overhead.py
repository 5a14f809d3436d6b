"""Framework overhead: forward + backward of one op on tiny (4x4) tensors, per op.

Groups ``overhead:<op>``: gpugrad beside PyTorch (the baseline, when installed) and raw NumPy running the
forward alone with no autograd (the floor any Python framework on NumPy stands on), in one run::

    gpugrad bench overhead
    python -m pytest bench/bench_overhead.py --benchmark-only

Target (issue: core engine): at most 2x PyTorch's per-op overhead.
"""
import numpy as np
import pytest
from conftest import record, run, torch_sync

import gpugrad as gg

OPS = {
    "add": (lambda a, b: a + b, lambda xp, a, b: a + b),
    "mul": (lambda a, b: a * b, lambda xp, a, b: a * b),
    "matmul": (lambda a, b: a @ b, lambda xp, a, b: a @ b),
    "exp": (lambda a, b: a.exp(), lambda xp, a, b: xp.exp(a)),
    "tanh": (lambda a, b: a.tanh(), lambda xp, a, b: xp.tanh(a)),
    "relu": (lambda a, b: a.relu(), lambda xp, a, b: xp.maximum(a, 0)),
    "sum": (lambda a, b: a.sum(), lambda xp, a, b: a.sum()),
    "softmax": (lambda a, b: a.softmax(-1), lambda xp, a, b: xp.exp(a) / xp.exp(a).sum(-1, keepdims=True)),
}


@pytest.mark.parametrize("op", list(OPS))
def test_gpugrad(benchmark, dev, op):
    fn = OPS[op][0]
    a = gg.randn(4, 4, device=dev.name, requires_grad=True)
    b = gg.randn(4, 4, device=dev.name, requires_grad=True)
    seed = gg.ones(4, 4, device=dev.name)

    def step():
        y = fn(a, b)
        y.backward(seed if y.ndim else None)

    benchmark.group = f"overhead:{op}"
    record(benchmark, "gpugrad")
    run(benchmark, dev.timed(step))


@pytest.mark.parametrize("op", list(OPS))
def test_pytorch(benchmark, dev, torch_mod, op):
    torch = torch_mod
    fn = OPS[op][0]
    a = torch.randn(4, 4, device=dev.name, requires_grad=True)
    b = torch.randn(4, 4, device=dev.name, requires_grad=True)
    seed = torch.ones(4, 4, device=dev.name)

    def step():
        y = fn(a, b)
        y.backward(seed if y.ndim else None)
        torch_sync(torch)

    benchmark.group = f"overhead:{op}"
    record(benchmark, "pytorch", baseline=1)
    run(benchmark, step)


@pytest.mark.parametrize("op", list(OPS))
def test_numpy_forward_only(benchmark, dev, op):
    fn = OPS[op][1]
    xp = dev.xp
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((4, 4), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((4, 4), dtype=np.float32))
    benchmark.group = f"overhead:{op}"
    record(benchmark, "numpy-forward" if xp is np else "cupy-forward", baseline=2)
    run(benchmark, dev.timed(lambda: fn(xp, a, b)))
