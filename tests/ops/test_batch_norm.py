"""gpugrad.ops.batch_norm (F.batch_norm's fused op): values, running statistics, derivatives, PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ShapeError
from gpugrad.ops.batch_norm import batch_norm

SHAPES = [(5, 3), (4, 3, 7), (3, 2, 5, 3)]


def _numpy_batch_norm(x, w, b, eps):
    dims = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axis=dims), x.var(axis=dims)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)
    return y, mean, var


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_values_and_running_statistics(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 2 + 5).astype(dtype)
    c = shape[1]
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    rm0, rv0 = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    rm, rv = gg.tensor(rm0.copy()), gg.tensor(rv0.copy())
    out = batch_norm(gg.tensor(x), rm, rv, gg.tensor(w), gg.tensor(b), training=True, momentum=0.25, eps=1e-3)
    want, mean, var = _numpy_batch_norm(x.astype(np.float64), w, b, 1e-3)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), want, **tol)
    m = x.size // c
    np.testing.assert_allclose(rm.numpy(), 0.75 * rm0 + 0.25 * mean, **tol)
    np.testing.assert_allclose(rv.numpy(), 0.75 * rv0 + 0.25 * var * m / (m - 1), **tol)
    assert out.dtype == rm.dtype == gg.float32 if dtype == np.float32 else out.dtype == gg.float64


def test_eval_uses_the_running_statistics_and_leaves_them():
    x = gg.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    rm, rv = gg.tensor([1.0, 2.0]), gg.tensor([4.0, 16.0])
    out = batch_norm(x, rm, rv, None, gg.tensor([0.5, -0.5]), training=False, eps=0.0)
    np.testing.assert_allclose(out.numpy(), [[0.5, -0.5], [1.5, 0.5], [2.5, 1.5]], rtol=1e-6)
    assert rm.tolist() == [1.0, 2.0] and rv.tolist() == [4.0, 16.0]


def test_training_without_running_statistics_and_version_counter():
    x = gg.randn(6, 4)
    out = batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(out.numpy().mean(axis=0), 0.0, atol=1e-6)
    rm = gg.zeros(4)
    before = rm._version
    batch_norm(x, rm, None, training=True)
    assert rm._version == before + 1  # in-place, as PyTorch's buffers


def test_float16_takes_plain_ops():
    x = gg.randn(5, 3, 4).to(gg.float16)
    rm, rv = gg.zeros(3, dtype=gg.float16), gg.ones(3, dtype=gg.float16)
    out = batch_norm(x, rm, rv, training=True)
    assert out.dtype == gg.float16
    ref, _, _ = _numpy_batch_norm(x.numpy().astype(np.float64), np.ones(3), np.zeros(3), 1e-5)
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref, atol=1e-2)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2), (3, 2, 5), (2, 3, 2, 3)])
def test_first_and_second_derivatives(shape, training):
    rng = np.random.default_rng(len(shape) + training)
    c = shape[1]
    x = gg.tensor(rng.standard_normal(shape) * 2 + 1, requires_grad=True)
    w = gg.tensor(rng.standard_normal(c) + 1, requires_grad=True)
    b = gg.tensor(rng.standard_normal(c), requires_grad=True)
    rm, rv = gg.tensor(rng.standard_normal(c)), gg.tensor(rng.random(c) + 0.5)

    def fn(x, w, b):  # no running statistics in training: gradcheck calls it many times
        return batch_norm(x, None if training else rm, None if training else rv, w, b, training=training)

    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])


def test_derivatives_without_weight_and_bias():
    x = gg.tensor(np.random.default_rng(1).standard_normal((4, 3, 2)), requires_grad=True)
    assert gradcheck(lambda x: batch_norm(x, None, None, training=True), [x])
    assert gradgradcheck(lambda x: batch_norm(x, None, None, training=True), [x])


def test_errors_name_batch_norm():
    x = gg.randn(4, 3)
    with pytest.raises(ShapeError, match="batch_norm: weight must have shape"):
        batch_norm(x, None, None, gg.ones(4), training=True)
    with pytest.raises(ShapeError, match="at least 2 dims"):
        batch_norm(gg.randn(4), None, None, training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm(gg.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        batch_norm(x, None, None, training=False)
    with pytest.raises(TypeError, match="momentum must be a float"):  # as torch's
        batch_norm(x, None, None, training=True, momentum=None)


@pytest.mark.torch
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 9), (4, 5, 6, 7)])
def test_matches_torch_values_gradients_and_running_stats(shape, training):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    c = shape[1]
    arrays = [rng.standard_normal(shape).astype(np.float32) * 3 + 2, rng.standard_normal(c).astype(np.float32),
              rng.standard_normal(c).astype(np.float32)]
    rm0, rv0 = rng.standard_normal(c).astype(np.float32), (rng.random(c) + 0.5).astype(np.float32)
    up = rng.standard_normal(shape).astype(np.float32)
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    g_rm, g_rv = gg.tensor(rm0.copy()), gg.tensor(rv0.copy())
    t_rm, t_rv = torch.tensor(rm0.copy()), torch.tensor(rv0.copy())
    out = batch_norm(ours[0], g_rm, g_rv, ours[1], ours[2], training=training, momentum=0.3, eps=1e-4)
    ref = torch.nn.functional.batch_norm(theirs[0], t_rm, t_rv, theirs[1], theirs[2], training=training,
                                         momentum=0.3, eps=1e-4)
    out.backward(gg.tensor(up))
    ref.backward(torch.tensor(up))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g_rm.numpy(), t_rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_rv.numpy(), t_rv.numpy(), rtol=1e-5, atol=1e-6)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-3, atol=1e-3)
