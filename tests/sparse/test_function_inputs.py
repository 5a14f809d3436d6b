"""Sparse COO tensors given to a user's autograd.Function: forward sees the sparse tensor itself, it may
be saved for backward, and the gradient backward returns for it (None, sparse or dense) reaches the values
it was made from; checked by finite differences in float64, with PyTorch's answers where it is installed."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

INDICES = [[0, 1, 1, 2], [1, 0, 0, 3]]  # (1, 0) twice: an uncoalesced tensor
SIZE = (3, 4)


def _sparse(lib, values):
    return lib.sparse_coo_tensor(lib.tensor(INDICES), values, SIZE, check_invariants=True)


def _sparse_times_dense(lib):
    """A Function computing sparse @ dense, its backward giving the sparse input's gradient as
    ``make_grad(lib, sparse, grad_output, dense)`` and the dense input's as sparse^T @ grad_output."""

    class SparseTimesDense(lib.autograd.Function):
        make_grad = None

        @staticmethod
        def forward(ctx, sparse, dense):
            ctx.save_for_backward(sparse, dense)
            ctx.seen = (sparse, sparse.is_sparse, ctx.needs_input_grad)
            return sparse.to_dense() @ dense

        @staticmethod
        def backward(ctx, grad):
            sparse, dense = ctx.saved_tensors
            ctx.saved_sparse = sparse
            sparse_grad = SparseTimesDense.make_grad(lib, sparse, grad, dense)
            return sparse_grad, sparse.to_dense().t() @ grad

    return SparseTimesDense


def _dense_grad(lib, sparse, grad, dense):
    return grad @ dense.t()


def _sparse_grad(lib, sparse, grad, dense):
    full = grad @ dense.t()
    index = sparse.coalesce().indices()  # each entry once: a repeated index would count it twice
    return lib.sparse_coo_tensor(index, full[index[0], index[1]], SIZE, check_invariants=True)


def _other_pattern_grad(lib, sparse, grad, dense):  # entries at (0, 0) and (1, 0): one inside the pattern
    full = grad @ dense.t()
    return lib.sparse_coo_tensor(lib.tensor([[0, 1], [0, 0]]), full[[0, 1], [0, 0]], SIZE, check_invariants=True)


GRADS = {"dense": _dense_grad, "sparse": _sparse_grad, "other_pattern": _other_pattern_grad}


def test_forward_gets_the_sparse_tensor_and_saves_it():
    fn = _sparse_times_dense(gg)
    fn.make_grad = staticmethod(lambda lib, s, g, d: None)
    values = gg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    sparse = _sparse(gg, values)
    dense = gg.randn(4, 2, requires_grad=True)
    out = fn.apply(sparse, dense)
    ctx = out.grad_fn
    assert ctx.seen[0] is sparse and ctx.seen[1] and ctx.seen[2] == (True, True)
    assert ctx.name() == "SparseTimesDenseBackward"
    out.sum().backward()
    assert ctx.saved_sparse is sparse and values.grad is None  # backward gave None for it
    np.testing.assert_allclose(dense.grad.numpy(), sparse.to_dense().t().detach().numpy() @ np.ones((3, 2)), rtol=1e-6)


def test_without_grad_the_result_is_a_plain_tensor():
    fn = _sparse_times_dense(gg)
    sparse = _sparse(gg, gg.tensor([1.0, 2.0, 3.0, 4.0]))
    dense = gg.ones(4, 2)
    out = fn.apply(sparse, dense)
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_allclose(out.numpy(), sparse.to_dense().numpy() @ np.ones((4, 2)))


@pytest.mark.parametrize("grad_kind", sorted(GRADS))
def test_gradient_reaches_the_values(grad_kind):
    """The values' gradient is the returned gradient at the sparse tensor's indices (each repeated index
    gets the whole entry); for the dense and sparse-same-pattern gradients that is the true one."""
    fn = _sparse_times_dense(gg)
    fn.make_grad = staticmethod(GRADS[grad_kind])
    rng = np.random.default_rng(0)
    values = gg.tensor(rng.standard_normal(4), requires_grad=True)
    dense = gg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    fn.apply(_sparse(gg, values), dense).sum().backward()
    full = np.ones((3, 2)) @ dense.detach().numpy().T
    rows, cols = np.asarray(INDICES)
    if grad_kind == "other_pattern":
        expected = np.where((rows == 1) & (cols == 0), full[1, 0], 0.0)
    else:
        expected = full[rows, cols]
    np.testing.assert_allclose(values.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("grad_kind", ["dense", "sparse"])
def test_gradcheck_through_the_values(grad_kind):
    fn = _sparse_times_dense(gg)
    fn.make_grad = staticmethod(GRADS[grad_kind])
    rng = np.random.default_rng(1)
    values = gg.tensor(rng.standard_normal(4), requires_grad=True)
    dense = gg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    assert gg.autograd.gradcheck(lambda v, d: fn.apply(_sparse(gg, v * 1.5), d), (values, dense))


def test_setup_context_form():
    class Scale(gg.autograd.Function):
        @staticmethod
        def forward(sparse, factor):
            return sparse.to_dense() * factor

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.factor = inputs[1]

        @staticmethod
        def backward(ctx, grad):
            assert ctx.saved_tensors[0].is_sparse
            return grad * ctx.factor, None

    values = gg.tensor([1.0, 2.0, 3.0, 4.0], dtype=gg.float64, requires_grad=True)
    Scale.apply(_sparse(gg, values), 3.0).sum().backward()
    np.testing.assert_allclose(values.grad.numpy(), [3.0] * 4)


def test_gpugrads_own_ops_still_refuse_sparse_tensors():
    sparse = _sparse(gg, gg.tensor([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(NotImplementedError, match="exp: a sparse tensor .* call .to_dense"):
        gg.exp(sparse)


def test_an_error_in_forward_is_its_own():
    """Not chained to the sparse tensor's missing array, which apply met on the way."""

    class Broken(gg.autograd.Function):
        @staticmethod
        def forward(ctx, sparse):
            raise KeyError("the user's own")

        @staticmethod
        def backward(ctx, grad):
            return None

    with pytest.raises(KeyError, match="the user's own") as info:
        Broken.apply(_sparse(gg, gg.tensor([1.0, 2.0, 3.0, 4.0])))
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_wrong_gradient_shape_is_named():
    fn = _sparse_times_dense(gg)
    fn.make_grad = staticmethod(lambda lib, s, g, d: lib.ones(2, 2))
    values = gg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    out = fn.apply(_sparse(gg, values), gg.ones(4, 2))
    with pytest.raises(gg.ShapeError, match=r"sparsetimesdense: .*shape \(2, 2\) for a sparse input of shape \(3, 4\)"):
        out.sum().backward()


@pytest.mark.parametrize("grad_kind", sorted(GRADS))
def test_matches_pytorch(grad_kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    v, d = rng.standard_normal(4), rng.standard_normal((4, 2))
    grads = []
    for lib in (gg, torch):
        fn = _sparse_times_dense(lib)
        fn.make_grad = staticmethod(GRADS[grad_kind])
        values = lib.tensor(v, requires_grad=True)
        dense = lib.tensor(d, requires_grad=True)
        out = fn.apply(_sparse(lib, values * 1.0), dense)  # values * 1.0: the sparse tensor is not a leaf
        (out * out).sum().backward()
        grads.append((out.detach().numpy(), values.grad.numpy(), dense.grad.numpy()))
    for mine, theirs in zip(*grads):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
