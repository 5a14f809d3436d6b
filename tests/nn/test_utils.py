"""nn.utils.clip_grad_norm_ / clip_grad_value_."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn


def _params_with_grads(grads):
    params = []
    for g in grads:
        p = nn.Parameter(gg.zeros(*np.shape(g)))
        p.grad = gg.tensor(g, dtype=gg.float32)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_scales_only_when_needed(norm_type, rng):
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    params = _params_with_grads(grads)
    params.append(nn.Parameter(gg.zeros(2)))  # no grad: skipped
    out = nn.utils.clip_grad_norm_(params, max_norm=total / 2, norm_type=norm_type)
    assert isinstance(out, gg.Tensor)
    np.testing.assert_allclose(out.item(), total, rtol=1e-5)
    coef = (total / 2) / (total + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-5)
    params = _params_with_grads(grads)
    nn.utils.clip_grad_norm_(params, max_norm=total * 2, norm_type=norm_type)
    for p, g in zip(params, grads):  # below the limit: untouched (never scaled up)
        np.testing.assert_allclose(p.grad.numpy(), g.astype(np.float32), rtol=1e-7)


def test_clip_grad_norm_nonfinite_and_single_tensor():
    p = _params_with_grads([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    (q,) = _params_with_grads([np.array([3.0, 4.0])])
    np.testing.assert_allclose(nn.utils.clip_grad_norm_(q, 1.0).item(), 5.0)
    np.testing.assert_allclose(q.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_([nn.Parameter(gg.zeros(1))], 1.0).item() == 0.0


def test_clip_grad_value_and_parameters_to_vector():
    (p,) = _params_with_grads([np.array([-3.0, 0.5, 2.0])])
    nn.utils.clip_grad_value_(p, 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), [-1.0, 0.5, 1.0])
    lin = nn.Linear(2, 3)
    assert nn.utils.parameters_to_vector(lin.parameters()).shape == (9,)


@pytest.mark.torch
def test_clip_grad_norm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((4, 3)), rng.standard_normal(7)]
    ours = _params_with_grads(grads)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g, dtype=torch.float32)
    a = nn.utils.clip_grad_norm_(ours, 0.7)
    b = torch.nn.utils.clip_grad_norm_(theirs, 0.7)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_vector_to_parameters_inverts_parameters_to_vector():
    params = [nn.Parameter(gg.zeros(2, 2)), nn.Parameter(gg.zeros(3, dtype=gg.float64))]
    nn.utils.vector_to_parameters(gg.arange(8.0), params)  # a longer vector: its prefix, as PyTorch
    assert params[0].tolist() == [[0.0, 1.0], [2.0, 3.0]] and params[1].tolist() == [4.0, 5.0, 6.0]
    assert params[1].dtype is gg.float64 and params[0].requires_grad
    assert nn.utils.parameters_to_vector(params).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_vector_to_parameters_errors_leave_parameters_unchanged():
    params = [nn.Parameter(gg.zeros(2, 2)), nn.Parameter(gg.zeros(3))]
    with pytest.raises(gg.ShapeError, match=r"vector_to_parameters: .*at least 7 elements.*\(6,\)"):
        nn.utils.vector_to_parameters(gg.arange(6.0), params)
    with pytest.raises(TypeError, match="expected a Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0] * 7, params)
    assert params[0].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_parameters_to_vector_is_differentiable():
    a, b = nn.Parameter(gg.ones(2)), nn.Parameter(gg.ones(1, 2))
    (nn.utils.parameters_to_vector([a, b]) * gg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert a.grad.tolist() == [1.0, 2.0] and b.grad.tolist() == [[3.0, 4.0]]


@pytest.mark.torch
def test_vector_round_trip_matches_torch(rng):
    torch = pytest.importorskip("torch")
    shapes = [(3, 2), (4,), (1, 1, 2)]
    vec = rng.standard_normal(12).astype(np.float32)
    tp = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
    gp = [nn.Parameter(gg.zeros(*s)) for s in shapes]
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), tp)
    nn.utils.vector_to_parameters(gg.tensor(vec), gp)
    for t, g in zip(tp, gp):
        np.testing.assert_array_equal(g.detach().numpy(), t.detach().numpy())
    np.testing.assert_array_equal(
        nn.utils.parameters_to_vector(gp).detach().numpy(), torch.nn.utils.parameters_to_vector(tp).detach().numpy()
    )


def test_get_total_norm_and_clip_grads_with_norm_compose_to_clip_grad_norm_():
    grads = [gg.tensor([3.0, 4.0]), gg.tensor([12.0])]
    assert nn.utils.get_total_norm(grads).item() == pytest.approx(13.0)
    assert nn.utils.get_total_norm(grads, norm_type="inf").item() == 12.0
    assert nn.utils.get_total_norm([]).item() == 0.0
    params = _params_with_grads([[3.0, 4.0], [12.0]])
    nn.utils.clip_grads_with_norm_(params, 1.0, nn.utils.get_total_norm([p.grad for p in params]))
    np.testing.assert_allclose(params[0].grad.numpy(), np.array([3.0, 4.0]) / (13.0 + 1e-6), rtol=1e-6)
    nn.utils.clip_grads_with_norm_(params, 100.0, gg.tensor(13.0))  # never scaled up
    np.testing.assert_allclose(params[1].grad.numpy(), [12.0 / (13.0 + 1e-6)], rtol=1e-6)
    with pytest.raises(RuntimeError, match="get_total_norm: the total norm of order 2.0"):
        nn.utils.get_total_norm([gg.tensor([float("inf")])], error_if_nonfinite=True)


@pytest.mark.torch
def test_get_total_norm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    for norm_type in (1.0, 2.0, 3.5, math.inf):
        expected = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type=norm_type).item()
        got = nn.utils.get_total_norm([gg.tensor(a) for a in arrays], norm_type=norm_type).item()
        assert got == pytest.approx(expected, rel=1e-5)
