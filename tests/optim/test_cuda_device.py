"""The optimizers on the "cuda" device (a GPU, or Numba's CUDA simulator): the same steps as on the CPU."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backend, optim

from .helpers import grad, starts

usable = gg.cuda.is_available() or backend.simulating_cuda()
pytestmark = [
    pytest.mark.cudasim,
    pytest.mark.skipif(not usable, reason="needs a GPU, or GPUGRAD_SIMULATE_CUDA=1 with NUMBA_ENABLE_CUDASIM=1"),
]

CASES = [
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.6))),
    ("ASGD", dict(lr=0.05, t0=1)),
    ("Rprop", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, maximize=True)),
]


def steps(name, kwargs, device, n=3):
    arrays = starts(2, shapes=[(3, 5), (7,)])
    params = [gg.tensor(a, dtype=gg.float32, device=device, requires_grad=True) for a in arrays]
    opt = getattr(optim, name)(params, **kwargs)
    for t in range(n):
        for i, p in enumerate(params):
            p.grad = gg.tensor(grad(t, i, p.detach().cpu().numpy()), dtype=gg.float32, device=device)
        opt.step()
    return [p.detach().cpu().numpy() for p in params], opt


@pytest.mark.parametrize("name,kwargs", CASES, ids=[c[0] for c in CASES])
def test_fused_step_on_cuda_matches_the_cpu(name, kwargs):
    got, opt = steps(name, kwargs, "cuda")
    want, opt_cpu = steps(name, kwargs, "cpu")
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    p = opt.param_groups[0]["params"][0]
    assert p.device == "cuda:0" and all(v.device == "cuda:0" for v in opt.state[p].values() if isinstance(v, gg.Tensor))


def test_lbfgs_on_cuda_matches_the_cpu():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((8, 3)), rng.standard_normal(8)
    results = []
    for device in ("cuda", "cpu"):
        w = gg.zeros(3, dtype=gg.float64, device=device, requires_grad=True)
        At, bt = gg.tensor(A, device=device), gg.tensor(b, device=device)
        opt = optim.LBFGS([w], line_search_fn="strong_wolfe", max_iter=5)

        def closure():
            opt.zero_grad()
            r = At @ w - bt
            loss = (r * r).sum()
            loss.backward()
            return loss

        opt.step(closure)
        results.append(w.detach().cpu().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-12)
