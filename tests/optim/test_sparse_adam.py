"""optim.SparseAdam (gpugrad/optim/sparse_adam.py): PyTorch's checks, its refusal of dense gradients, and
its lazy update of the elements a sparse gradient names, against a NumPy float64 reference and PyTorch.

gpugrad's autograd makes dense gradients only, so the sparse gradients here are set on ``_grad`` directly
(``Tensor.grad``'s setter takes dense tensors)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim


def _sparse_grads(steps: int, shape: tuple, seed: int = 0):
    """Per step: (indices (ndim, nnz) with repeats, values (nnz,)), some steps naming nothing."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(steps):
        nnz = 0 if t == 2 else int(rng.integers(1, 7))
        idx = np.stack([rng.integers(0, n, nnz) for n in shape]).astype(np.int64)
        out.append((idx, rng.standard_normal(nnz)))
    return out


def _reference(p0: np.ndarray, grads, lr, betas, eps, maximize):
    """SparseAdam by hand: duplicates summed, then only the named elements' moments and values move."""
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for step, (idx, vals) in enumerate(grads, 1):
        g = np.zeros_like(p0)
        named = np.zeros(p0.shape, dtype=bool)
        np.add.at(g, tuple(idx), vals)
        named[tuple(idx)] = True
        if maximize:
            g = -g
        if not named.any():
            continue
        m[named] = betas[0] * m[named] + (1 - betas[0]) * g[named]
        v[named] = betas[1] * v[named] + (1 - betas[1]) * g[named] ** 2
        size = lr * math.sqrt(1 - betas[1] ** step) / (1 - betas[0] ** step)
        p[named] -= size * m[named] / (np.sqrt(v[named]) + eps)
    return p, m, v


def _step_all(opt, param, grads, lib):
    for idx, vals in grads:
        sparse = lib.sparse_coo_tensor(lib.tensor(idx).reshape(len(param.shape), -1), lib.tensor(vals),
                                       tuple(param.shape))
        if lib is gg:
            param._grad = sparse
        else:
            param.grad = sparse
        opt.step()


@pytest.mark.parametrize("maximize", [False, True])
def test_lazy_update_against_numpy(maximize):
    p0 = np.random.default_rng(1).standard_normal((5, 3))
    grads = _sparse_grads(6, p0.shape)
    p = gg.nn.Parameter(gg.tensor(p0))
    opt = optim.SparseAdam([p], lr=0.05, betas=(0.8, 0.95), eps=1e-6, maximize=maximize)
    _step_all(opt, p, grads, gg)
    ref_p, ref_m, ref_v = _reference(p0, grads, 0.05, (0.8, 0.95), 1e-6, maximize)
    np.testing.assert_allclose(p.detach().numpy(), ref_p, rtol=1e-12, atol=1e-14)
    state = opt.state[p]
    np.testing.assert_allclose(state["exp_avg"].numpy(), ref_m, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state["exp_avg_sq"].numpy(), ref_v, rtol=1e-12, atol=1e-14)
    assert state["step"] == 6  # counted on every step with a gradient, an empty one included
    untouched = np.ones(p0.shape, dtype=bool)
    for idx, _ in grads:
        untouched[tuple(idx)] = False
    np.testing.assert_array_equal(p.detach().numpy()[untouched], p0[untouched])


def test_checks_and_dense_gradients():
    p = gg.nn.Parameter(gg.zeros(4, 3))
    for kwargs, match in [({"lr": -1.0}, "learning rate"), ({"lr": 0.0}, "learning rate"), ({"eps": 0.0}, "epsilon"),
                          ({"betas": (1.0, 0.9)}, "index 0"), ({"betas": (0.9, -0.1)}, "index 1")]:
        with pytest.raises(ValueError, match=match):
            optim.SparseAdam([p], **kwargs)
    with pytest.raises(TypeError):
        optim.SparseAdam([p], weight_decay=0.1)
    with pytest.raises(ValueError, match="Complex params"):
        optim.SparseAdam([gg.nn.Parameter(gg.zeros(2, dtype=gg.complex64))])
    opt = optim.SparseAdam([p])
    assert opt.defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "maximize": False}
    p.grad = gg.ones(4, 3)
    with pytest.raises(RuntimeError, match="dense gradients"):
        opt.step()
    assert p.detach().numpy().tolist() == [[0.0] * 3] * 4 and not opt.state
    p.grad = None
    opt.step()  # nothing to do
    assert opt.step(lambda: 3.0) == 3.0
    assert opt.state_dict()["param_groups"][0]["betas"] == (0.9, 0.999)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_pytorch_over_several_steps(dtype):
    torch = pytest.importorskip("torch")
    p0 = np.random.default_rng(2).standard_normal((6, 4))
    grads = _sparse_grads(8, p0.shape, seed=3)
    results = []
    for lib in (gg, torch):
        p = lib.nn.Parameter(lib.tensor(p0, dtype=getattr(lib, dtype)))
        opt = lib.optim.SparseAdam([p], lr=0.1, betas=(0.85, 0.99))
        for idx, vals in grads:
            sparse = lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals, dtype=getattr(lib, dtype)), p0.shape,
                                           check_invariants=True)
            if lib is gg:
                p._grad = sparse
            else:
                p.grad = sparse
            opt.step()
        state = opt.state[p]
        results.append([p.detach().numpy(), state["exp_avg"].numpy(), state["exp_avg_sq"].numpy(), state["step"]])
    tol = 1e-6 if dtype == "float32" else 1e-12
    for a, b in zip(results[0][:3], results[1][:3]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert results[0][3] == results[1][3]


@pytest.mark.torch
def test_refusals_match_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (gg, torch):
        p = lib.nn.Parameter(lib.zeros(3))
        p.grad = lib.ones(3)
        with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
            lib.optim.SparseAdam([p]).step()
        with pytest.raises(ValueError, match="Invalid learning rate"):
            lib.optim.SparseAdam([p], lr=-0.5)
