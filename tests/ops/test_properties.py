"""Property tests over random broadcastable shapes, dims and dtypes (hypothesis)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg

binary_ops = st.sampled_from(
    [
        ("add", lambda a, b: a + b, lambda ga, a, b: (ga, ga)),
        ("sub", lambda a, b: a - b, lambda g, a, b: (g, -g)),
        ("mul", lambda a, b: a * b, lambda g, a, b: (g * b, g * a)),
        ("maximum", gg.maximum, None),
    ]
)


def reduce_to(g, shape):
    """NumPy's own account of broadcasting, reversed: the reference for the engine's sum-to-shape."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    return g.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True).reshape(shape)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), op=binary_ops, seed=st.integers(0, 2**16))
def test_binary_ops_broadcast_like_numpy_and_sum_gradients_back(shapes, op, seed):
    name, fn, grads = op
    rng = np.random.default_rng(seed)
    a_np, b_np = (rng.standard_normal(s) for s in shapes.input_shapes)
    a = gg.tensor(a_np, dtype=gg.float64, requires_grad=True)
    b = gg.tensor(b_np, dtype=gg.float64, requires_grad=True)
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    u = rng.standard_normal(shapes.result_shape)
    out.backward(gg.tensor(u, dtype=gg.float64))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    if grads is not None:
        ga, gb = grads(u, np.broadcast_to(a_np, u.shape), np.broadcast_to(b_np, u.shape))
        np.testing.assert_allclose(a.grad.numpy(), reduce_to(np.asarray(ga), a_np.shape), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b.grad.numpy(), reduce_to(np.asarray(gb), b_np.shape), rtol=1e-12, atol=1e-12)


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
    data=st.data(),
    keepdim=st.booleans(),
    reduction=st.sampled_from(["sum", "mean", "logsumexp", "amax"]),
)
def test_reductions_over_any_dims_match_numpy(shape, data, keepdim, reduction):
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim, unique_by=lambda d: d % ndim))
    rng = np.random.default_rng(len(shape))
    x_np = rng.standard_normal(shape)
    x = gg.tensor(x_np, dtype=gg.float64, requires_grad=True)
    axes = tuple(d % ndim for d in dims)
    if reduction == "amax":
        if len(axes) > 1:
            return
        out = gg.amax(x, dim=dims[0], keepdim=keepdim)
        expected = x_np.max(axis=axes, keepdims=keepdim)
    elif reduction == "logsumexp":
        out = x.logsumexp(dim=tuple(dims), keepdim=keepdim)
        m = x_np.max(axis=axes, keepdims=True)
        expected = np.log(np.exp(x_np - m).sum(axis=axes, keepdims=True)) + m
        expected = expected if keepdim else expected.squeeze(axis=axes)
    else:
        out = getattr(x, reduction)(dim=tuple(dims), keepdim=keepdim)
        expected = getattr(x_np, reduction)(axis=axes, keepdims=keepdim)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    assert x.grad.shape == x.shape


@given(dtype=st.sampled_from([gg.float32, gg.float64]), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
def test_float_dtypes_are_preserved_by_forward_and_backward(dtype, shape):
    x = gg.randn(shape, dtype=dtype, requires_grad=True)
    y = ((x * 2.0).exp().log1p() / 3.0 + x**2).tanh().sum()
    assert y.dtype is dtype
    y.backward()
    assert x.grad.dtype is dtype


@given(
    a_batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    b_batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    n=st.integers(1, 4),
    k=st.integers(1, 4),
    m=st.integers(1, 4),
    a_vec=st.booleans(),
    b_vec=st.booleans(),
)
def test_matmul_in_every_rank_combination(a_batch, b_batch, n, k, m, a_vec, b_vec):
    a_shape = (k,) if a_vec else a_batch + (n, k)
    b_shape = (k,) if b_vec else b_batch + (k, m)
    try:
        expected_shape = np.matmul(np.zeros(a_shape), np.zeros(b_shape)).shape
    except ValueError:
        return  # batch dims that do not broadcast: covered by the error tests
    rng = np.random.default_rng(0)
    a = gg.tensor(rng.standard_normal(a_shape), dtype=gg.float64, requires_grad=True)
    b = gg.tensor(rng.standard_normal(b_shape), dtype=gg.float64, requires_grad=True)
    out = a @ b
    assert out.shape == expected_shape
    assert gg.autograd.gradcheck(lambda x, y: x @ y, (a, b))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5), data=st.data())
def test_integer_array_indexing_accumulates_like_add_at(shape, data):
    idx = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=8))
    rng = np.random.default_rng(1)
    x = gg.tensor(rng.standard_normal(shape), dtype=gg.float64, requires_grad=True)
    u = rng.standard_normal((len(idx),) + shape[1:])
    x[gg.tensor(idx)].backward(gg.tensor(u, dtype=gg.float64))
    expected = np.zeros(shape)
    np.add.at(expected, np.array(idx), u)
    np.testing.assert_allclose(x.grad.numpy(), expected)
