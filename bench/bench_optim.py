"""The optimizer step, every optimizer, 10M float32 parameters in 50 tensors (gradients already there).

Groups ``optim:<Optimizer>``: gpugrad's fused flat-buffer step, gpugrad's reference per-parameter loop
(``fused=False``, PyTorch's formula in NumPy), and PyTorch's three implementations: the for-loop
(``foreach=False``, PyTorch's CPU default and the baseline), ``foreach=True`` and ``fused=True`` (skipped
where PyTorch has no fused kernel for the device). Each row carries the bytes a single pass must move
(Adam: read p, g, m, v and write p, m, v = 28 bytes per parameter) so the runner reports the fraction of
the measured copy bandwidth::

    gpugrad bench optim
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import pick, record, run, torch_sync

import gpugrad as gg
from gpugrad import optim

TENSORS = pick(50, 5)
PER_TENSOR = pick(200_000, 2_000)  # 10M parameters in all

# name: (constructor kwargs, bytes per parameter of one fused pass, flops per parameter)
CONFIGS = {
    "SGD": ({"lr": 1e-3, "momentum": 0.9}, 20, 5),        # read p, g, buf; write p, buf
    "Adam": ({"lr": 1e-3}, 28, 13),                       # read p, g, m, v; write p, m, v
    "AdamW": ({"lr": 1e-3, "weight_decay": 1e-2}, 28, 15),
    "RMSprop": ({"lr": 1e-3}, 20, 8),                     # read p, g, square_avg; write p, square_avg
    "Adagrad": ({"lr": 1e-2}, 20, 6),                     # read p, g, sum; write p, sum
}


def _values():
    rng = np.random.default_rng(0)
    params = [rng.uniform(-0.1, 0.1, PER_TENSOR).astype(np.float32) for _ in range(TENSORS)]
    grads = [rng.uniform(-0.1, 0.1, PER_TENSOR).astype(np.float32) for _ in range(TENSORS)]
    return params, grads


def _tag(benchmark, name, impl, baseline=0):
    _, bpp, fpp = CONFIGS[name]
    n = TENSORS * PER_TENSOR
    benchmark.group = f"optim:{name}"
    record(benchmark, impl, baseline=baseline, bytes=bpp * n, flops=fpp * n, roof="memory", params=n,
           tensors=TENSORS)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
def test_gpugrad(benchmark, dev, name, fused):
    params, grads = _values()
    ps = [gg.tensor(p, device=dev.name, requires_grad=True) for p in params]
    for p, g in zip(ps, grads):
        p.grad = gg.tensor(g, device=dev.name)
    opt = getattr(optim, name)(ps, fused=fused, **CONFIGS[name][0])
    _tag(benchmark, name, "gpugrad-fused" if fused else "gpugrad-reference", baseline=0 if fused else 2)
    run(benchmark, dev.timed(opt.step))


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("variant", ["forloop", "foreach", "fused"])
def test_pytorch(benchmark, dev, torch_mod, name, variant):
    torch = torch_mod
    params, grads = _values()
    ps = [torch.tensor(p, device=dev.name, requires_grad=True) for p in params]
    for p, g in zip(ps, grads):
        p.grad = torch.tensor(g, device=dev.name)
    flag = {"forloop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}[variant]
    try:
        opt = getattr(torch.optim, name)(ps, **flag, **CONFIGS[name][0])
        opt.step()  # PyTorch checks fused support at the first step on some versions
    except (RuntimeError, ValueError, TypeError) as exc:
        pytest.skip(f"torch.optim.{name}({flag}) unsupported on {dev.name}: {exc}")

    def step():
        opt.step()
        torch_sync(torch)

    _tag(benchmark, name, f"pytorch-{variant}", baseline=1 if variant == "forloop" else 0)
    run(benchmark, step)
