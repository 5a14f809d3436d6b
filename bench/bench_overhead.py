"""Framework overhead: what one op application costs on tensors too small for the arithmetic to matter.

Groups ``overhead:<op>``: forward + backward of one op on 4x4 tensors, gpugrad beside PyTorch (the
baseline, when installed) and raw NumPy running the forward alone with no autograd (the floor any Python
framework on NumPy stands on). Groups ``overhead:chain100`` and ``overhead:chain100-forward``: the hot-path
issue's workload, a chain of 100 elementwise ops (add, mul and tanh in turn) on 16-element float32
tensors, summed, forward + backward (and forward alone)::

    gpugrad bench overhead
    python -m pytest bench/bench_overhead.py --benchmark-only

Run as a script, it checks the hot-path issue's targets with interleaved rounds in one process (PyTorch
needed): the chain per op forward + backward and forward alone <= 1.0x PyTorch, an op with grad off
<= 3x NumPy's own call, the 64-128-10 (batch 64) and 16-32-32-10 (batch 4) Adam steps <= 0.7x PyTorch;
with ``--grad-off-table``, also the common calls of GRAD_OFF_CALLS with grad off beside PyTorch::

    python bench/bench_overhead.py --rounds 200 [--grad-off-table]

Instruction counts of the same workloads: ``python bench/count_instructions.py``.
"""
import sys

# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import numpy as np
import pytest
from conftest import record, run, torch_sync

import gpugrad as gg

CHAIN_LENGTH = 100


def chain(a, b, c):
    """The hot-path issue's chain: add, mul and tanh in turn, CHAIN_LENGTH ops, then a sum."""
    x = a
    for i in range(CHAIN_LENGTH):
        k = i % 3
        x = x + b if k == 0 else (x * c if k == 1 else x.tanh())
    return x.sum()


def chain_inputs(lib, device="cpu"):
    rng = np.random.default_rng(0)
    return [lib.tensor(rng.standard_normal(16).astype(np.float32), device=device, requires_grad=True) for _ in range(3)]


def chain_step(lib, leaves, backward=True):
    def step():
        for t in leaves:
            t.grad = None
        y = chain(*leaves)
        if backward:
            y.backward()
    return step

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


@pytest.mark.parametrize("backward", [True, False], ids=["chain100", "chain100-forward"])
def test_chain_gpugrad(benchmark, dev, backward):
    benchmark.group = "overhead:chain100" if backward else "overhead:chain100-forward"
    record(benchmark, "gpugrad")
    run(benchmark, dev.timed(chain_step(gg, chain_inputs(gg, dev.name), backward)))


@pytest.mark.parametrize("backward", [True, False], ids=["chain100", "chain100-forward"])
def test_chain_pytorch(benchmark, dev, torch_mod, backward):
    benchmark.group = "overhead:chain100" if backward else "overhead:chain100-forward"
    record(benchmark, "pytorch", baseline=1)
    step = chain_step(torch_mod, chain_inputs(torch_mod, dev.name), backward)

    def synced():
        step()
        torch_sync(torch_mod)

    run(benchmark, synced)


def targets(rounds: int) -> list[str]:
    """The hot-path issue's targets, interleaved in one process (min over the rounds, per op)."""
    import torch
    from targets import interleaved

    import bench_training as bt

    ours, theirs = chain_inputs(gg), chain_inputs(torch)
    ops = CHAIN_LENGTH + 1
    res = interleaved({
        "gpugrad": chain_step(gg, ours), "pytorch": chain_step(torch, theirs),
        "gpugrad-forward": chain_step(gg, ours, False), "pytorch-forward": chain_step(torch, theirs, False),
    }, rounds)
    per = {k: v[0] / ops * 1e6 for k, v in res.items()}
    lines = []
    for label, g, t in (("forward + backward", "gpugrad", "pytorch"), ("forward", "gpugrad-forward", "pytorch-forward")):
        ratio = per[g] / per[t]
        lines.append(f"chain of {CHAIN_LENGTH} ops, {label}: gpugrad {per[g]:.2f} us per op, pytorch {per[t]:.2f}: "
                     f"{ratio:.2f}x -> target <= 1.0x: {'MET' if ratio <= 1.0 else 'MISSED'}")
    x, y = (np.ones(16, np.float32) for _ in range(2))
    gx, gy, tx, ty = gg.tensor(x), gg.tensor(y), torch.tensor(x), torch.tensor(y)
    n = 100

    def repeat(fn):
        def run_n():
            for _ in range(n):
                fn()
        return run_n

    with gg.no_grad():
        res = interleaved({"gpugrad": repeat(lambda: gx + gy), "numpy": repeat(lambda: np.add(x, y)),
                           "pytorch": repeat(lambda: tx + ty)}, rounds)
    per = {k: v[0] / n * 1e6 for k, v in res.items()}
    ratio = per["gpugrad"] / per["numpy"]
    lines.append(f"a + b with grad off, 16 float32: gpugrad {per['gpugrad']:.2f} us, numpy's add {per['numpy']:.2f} us, "
                 f"pytorch {per['pytorch']:.2f} us: {ratio:.1f}x numpy -> target <= 3x: {'MET' if ratio <= 3 else 'MISSED'}")
    for model in ("mlp-64-128-10", "mlp-16-32-32-10"):
        res = interleaved({"gpugrad": bt.gpugrad_step(model), "pytorch": bt.pytorch_step(torch, model)}, rounds)
        ratio = res["gpugrad"][0] / res["pytorch"][0]
        lines.append(f"train:{model} batch {bt.MLPS[model][1]}, Adam: gpugrad {res['gpugrad'][0] * 1e3:.3f} ms, pytorch "
                     f"{res['pytorch'][0] * 1e3:.3f} ms: {ratio:.2f}x -> target <= 0.7x: {'MET' if ratio <= 0.7 else 'MISSED'}")
    return lines


# Common calls with grad off on a 4x4 float32 tensor ``a`` (``b`` another, ``lib`` gpugrad or torch): the
# per-op cost a user pays outside autograd (metrics, optimizers written by hand, a backward's own ops).
GRAD_OFF_CALLS = [
    "a + b", "a * 2.0", "-a", "a ** 2", "a > b", "a @ b", "a.exp()", "a.sqrt()", "a.abs()", "a.relu()",
    "a.softmax(-1)", "a.sum()", "a.mean()", "a.max()", "a.argmax(-1)", "a[1:3]", "a.t()", "a.transpose(0, 1)",
    "a.reshape(16)", "a.unsqueeze(0)", "lib.cat([a, b])", "a.clone()", "a.zero_()", "a.add_(b)",
    "a.mul_(0.9)", "a.copy_(b)", "lib.zeros(4, 4)", "a[0, 0].item()",
]


def grad_off_table(rounds: int) -> list[str]:
    """Each of GRAD_OFF_CALLS, gpugrad beside PyTorch, interleaved (min over the rounds of 100 calls)."""
    import torch
    from targets import interleaved

    rng = np.random.default_rng(0)
    a, b = (rng.uniform(0.5, 2.0, (4, 4)).astype(np.float32) for _ in range(2))
    n = 100
    lines = []
    for call in GRAD_OFF_CALLS:
        code = compile(f"for _ in range({n}): {call}", call, "exec")
        runs = {}
        for name, lib in (("gpugrad", gg), ("pytorch", torch)):
            scope = {"lib": lib, "a": lib.tensor(a), "b": lib.tensor(b)}
            runs[name] = (lambda code=code, scope=scope: exec(code, scope))
        with gg.no_grad(), torch.no_grad():
            res = interleaved(runs, rounds)
        ours, theirs = res["gpugrad"][0] / n * 1e6, res["pytorch"][0] / n * 1e6
        lines.append(f"grad off {call:18s} gpugrad {ours:5.2f} us, pytorch {theirs:5.2f} us: {ours / theirs:4.2f}x")
    return lines


if __name__ == "__main__":
    import argparse
    import os

    parser = argparse.ArgumentParser(description="the hot-path issue's targets, interleaved")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--grad-off-table", action="store_true",
                        help="also time common calls with grad off beside PyTorch (GRAD_OFF_CALLS)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}")
    print("\n".join(targets(args.rounds)))
    if args.grad_off_table:
        print("\n".join(grad_off_table(max(args.rounds // 10, 5))))
    sys.exit(0)
