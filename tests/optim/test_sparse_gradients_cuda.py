"""Sparse embedding gradients and the optimizers that take them on the "cuda" device (a GPU, or Numba's
CUDA simulator with GPUGRAD_SIMULATE_CUDA=1): the same gradients and steps as on the CPU."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, nn

usable = gg.cuda.is_available() or backend.simulating_cuda()
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.cudasim,
    pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1"),
]


def _train(device: str, name: str, kwargs: dict):
    rng = np.random.default_rng(4)
    emb = nn.Embedding(9, 4, sparse=True, padding_idx=0, device=device)
    with gg.no_grad():
        emb.weight.copy_(gg.tensor(rng.standard_normal((9, 4)).astype(np.float32), device=device))
    opt = getattr(gg.optim, name)(emb.parameters(), **kwargs)
    grads = []
    for _ in range(3):
        idx = gg.tensor(rng.integers(0, 9, size=(3, 5)), device=device)
        emb(idx).backward(gg.tensor(rng.standard_normal((3, 5, 4)).astype(np.float32), device=device))
        g = emb.weight.grad
        assert g.is_sparse and g.device == gg.device(device)
        grads.append((g._indices().cpu().numpy(), g._values().cpu().numpy()))
        opt.step()
        opt.zero_grad()
    return emb.weight.detach().cpu().numpy(), grads


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adagrad", {"lr": 0.2}),
                                         ("SparseAdam", {"lr": 0.05})])
def test_same_gradients_and_steps_as_on_the_cpu(name, kwargs):
    on_gpu, gpu_grads = _train("cuda", name, kwargs)
    on_cpu, cpu_grads = _train("cpu", name, kwargs)
    for (gi, gv), (ci, cv) in zip(gpu_grads, cpu_grads):
        np.testing.assert_array_equal(gi, ci)
        np.testing.assert_allclose(gv, cv, rtol=1e-6)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-5, atol=1e-6)
