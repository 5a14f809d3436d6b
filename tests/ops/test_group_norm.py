"""gpugrad.ops.group_norm through F.group_norm: values, derivatives, the fallback, PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.ops.group_norm import group_norm


def _numpy_group_norm(x, groups, w, b, eps):
    n, c = x.shape[:2]
    rows = x.reshape(n, groups, -1)
    y = ((rows - rows.mean(axis=2, keepdims=True)) / np.sqrt(rows.var(axis=2, keepdims=True) + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("shape,groups", [((3, 4), 2), ((2, 6, 5), 3), ((2, 4, 3, 5), 4), ((3, 6, 2, 2), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_match_numpy(shape, groups, dtype):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 2 - 7).astype(dtype)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    out = F.group_norm(gg.tensor(x), groups, gg.tensor(w), gg.tensor(b), eps=1e-3)
    assert out._node is None and out.dtype == (gg.float32 if dtype == np.float32 else gg.float64)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), _numpy_group_norm(x.astype(np.float64), groups, w, b, 1e-3), **tol)


def test_f_group_norm_runs_the_fused_op_and_float16_the_plain_ops():
    x = gg.randn(2, 4, 3, requires_grad=True)
    assert F.group_norm(x, 2)._node.fn.__name__ == "GroupNorm"
    h = gg.randn(2, 4, 3).to(gg.float16)
    out = F.group_norm(h, 2)
    assert out.dtype == gg.float16
    ref = _numpy_group_norm(h.numpy().astype(np.float64), 2, np.ones(4), np.zeros(4), 1e-5)
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref, atol=2e-2)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape,groups", [((2, 4), 2), ((2, 6, 3), 3), ((1, 4, 2, 3), 2)])
def test_first_and_second_derivatives(shape, groups, affine):
    rng = np.random.default_rng(len(shape) + groups)
    c = shape[1]
    x = gg.tensor(rng.standard_normal(shape) + 1, requires_grad=True)
    w = gg.tensor(rng.standard_normal(c) + 1, requires_grad=True)
    b = gg.tensor(rng.standard_normal(c), requires_grad=True)
    if affine:
        fn, inputs = (lambda x, w, b: group_norm(x, groups, w, b, 1e-5)), [x, w, b]
    else:
        fn, inputs = (lambda x: group_norm(x, groups, None, None, 1e-5)), [x]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.torch
@pytest.mark.parametrize("shape,groups", [((4, 6), 3), ((3, 8, 7), 4), ((2, 6, 5, 4), 2)])
def test_matches_torch_values_and_gradients(shape, groups):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    c = shape[1]
    arrays = [rng.standard_normal(shape).astype(np.float32) * 2 + 3, rng.standard_normal(c).astype(np.float32),
              rng.standard_normal(c).astype(np.float32)]
    up = rng.standard_normal(shape).astype(np.float32)
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.group_norm(ours[0], groups, ours[1], ours[2], eps=1e-4)
    ref = torch.nn.functional.group_norm(theirs[0], groups, theirs[1], theirs[2], eps=1e-4)
    out.backward(gg.tensor(up))
    ref.backward(torch.tensor(up))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-3)
