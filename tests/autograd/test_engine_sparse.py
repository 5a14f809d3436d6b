"""The engine's rule for sparse gradients (autograd/engine.py): a backward that returns a sparse COO tensor
keeps it sparse into a leaf (copied unless the pass owns it), has it made dense into a node, and the sums
into .grad follow PyTorch (sparse + sparse sparse, with a dense one dense); checked with a custom Function
whose backward returns a sparse gradient, against NumPy."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

import gpugrad as gg


class RowsOf(gg.autograd.Function):
    """x[rows] with the gradient of x returned as a sparse tensor (kept on the class, to check copies)."""

    returned: ClassVar[list] = []

    @staticmethod
    def forward(ctx, x, rows, dtype=None):
        ctx.rows, ctx.shape, ctx.dtype = rows, tuple(x.shape), dtype
        return x[gg.tensor(rows)]

    @staticmethod
    def backward(ctx, gy):
        values = gy if ctx.dtype is None else gy.to(ctx.dtype)
        g = gg.sparse_coo_tensor([ctx.rows], values, ctx.shape)
        RowsOf.returned.append(g)
        return g, None, None


def _leaf(rng, dtype=gg.float64):
    return gg.tensor(rng.normal(size=(4, 2)), dtype=dtype, requires_grad=True)


def _expected(rows, cot, shape=(4, 2)):
    out = np.zeros(shape)
    np.add.at(out, rows, cot)
    return out


def test_a_leaf_keeps_a_copy_of_the_sparse_gradient(rng):
    x = _leaf(rng)
    cot = rng.normal(size=(3, 2))
    RowsOf.apply(x, [0, 3, 0]).backward(gg.tensor(cot))
    assert x.grad.is_sparse and x.grad._indices().numpy().tolist() == [[0, 3, 0]]
    returned = RowsOf.returned[-1]
    assert x.grad is not returned  # a user's Function may keep what it returns: the pass does not own it
    returned._values().mul_(0.0)
    np.testing.assert_allclose(x.grad.to_dense().numpy(), _expected([0, 3, 0], cot), rtol=1e-15)


def test_into_a_node_it_is_made_dense(rng):
    x = _leaf(rng)
    cot = rng.normal(size=(2, 2))
    RowsOf.apply(x.exp(), [1, 1]).backward(gg.tensor(cot))
    assert not x.grad.is_sparse
    np.testing.assert_allclose(x.grad.numpy(), _expected([1, 1], cot) * np.exp(x.detach().numpy()), rtol=1e-14)


def test_shape_and_dtype(rng):
    class Wrong(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, gy):
            return gg.sparse_coo_tensor([[0]], gg.ones(1, 3, dtype=gg.float64), (4, 3))

    with pytest.raises(gg.ShapeError, match=r"wrong: backward returned a sparse gradient of shape \(4, 3\) for an input "
                                            r"of shape \(4, 2\)"):
        Wrong.apply(_leaf(rng)).sum().backward()
    x = _leaf(rng)
    RowsOf.apply(x, [2], gg.float32).sum().backward()  # float32 values for a float64 input: cast, as dense ones are
    assert x.grad.is_sparse and x.grad.dtype is gg.float64


def test_sums_with_dense_gradients_within_a_pass_and_into_grad(rng):
    x = _leaf(rng)
    dense_cot, rows_cot = rng.normal(size=(4, 2)), rng.normal(size=(2, 2))
    want = dense_cot + _expected([3, 1], rows_cot)
    for first in (0, 1):
        x.grad = None
        terms = [(x * gg.tensor(dense_cot)).sum(), (RowsOf.apply(x, [3, 1]) * gg.tensor(rows_cot)).sum()]
        (terms[first] + terms[1 - first]).backward()
        assert not x.grad.is_sparse
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-14)
    x.grad = None
    RowsOf.apply(x, [3]).sum().backward()
    RowsOf.apply(x, [0, 0]).sum().backward()
    assert x.grad.is_sparse and x.grad._indices().numpy().tolist() == [[3, 0, 0]]
    (x * 2).sum().backward()
    assert not x.grad.is_sparse
    np.testing.assert_allclose(x.grad.numpy(), 2 + _expected([3, 0, 0], np.ones((3, 2))), rtol=1e-15)


def test_create_graph_and_inputs(rng):
    x = _leaf(rng)
    RowsOf.apply(x, [1]).pow(2).sum().backward(create_graph=True)  # a sparse .grad that requires grad
    assert x.grad.is_sparse and x.grad.requires_grad
    (x * 3).sum().backward(create_graph=True)  # dense onto it under create_graph: a new, dense, recorded sum
    assert not x.grad.is_sparse and x.grad.requires_grad
    want = np.full((4, 2), 3.0)
    want[1] += 2 * x.detach().numpy()[1]
    np.testing.assert_allclose(x.grad.detach().numpy(), want, rtol=1e-14)
    RowsOf.apply(x, [2]).sum().backward()  # sparse onto a .grad that requires grad: a new tensor, detached
    assert not x.grad.requires_grad
    want[2] += 1
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-14)

    y = _leaf(rng)
    y.grad = gg.ones(4, 2, dtype=gg.float64)
    RowsOf.apply(y, [0]).sum().backward(inputs=[y])  # backward(inputs=): the same sums
    np.testing.assert_array_equal(y.grad.numpy(), 1 + _expected([0], np.ones((1, 2))))
    y.grad = None
    RowsOf.apply(y, [0]).sum().backward(inputs=[y])
    RowsOf.apply(y, [1]).sum().backward(inputs=[y])
    assert y.grad.is_sparse and y.grad._indices().numpy().tolist() == [[0, 1]]
