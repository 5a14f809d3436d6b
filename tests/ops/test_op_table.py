"""Every exported differentiable op: first and second derivatives against finite differences in float64,
and the forward in each listed dtype against the float64 result."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.ops import DIFFERENTIABLE

from .op_table import ROWS


def make_inputs(row, dtype=gg.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [gg.tensor(domain(rng, shape), dtype=dtype, requires_grad=True) for shape, domain in row.inputs]


def test_every_exported_op_has_a_row():
    covered = {row.covers for row in ROWS}
    missing = sorted(fn.__name__ for fn in DIFFERENTIABLE if fn.__name__ not in covered)
    assert not missing, f"ops without a gradcheck row: {missing}"


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_gradcheck(row):
    assert gg.autograd.gradcheck(row.fn, make_inputs(row))


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_gradgradcheck(row):
    assert gg.autograd.gradgradcheck(row.fn, make_inputs(row))


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_forward_in_each_dtype(row):
    expected = row.fn(*make_inputs(row)).detach().numpy()
    for dtype in row.dtypes:
        out = row.fn(*make_inputs(row, dtype))
        assert out.dtype is dtype, f"{row.name}: {dtype} inputs gave {out.dtype}"
        tol = 1e-5 if dtype is gg.float32 else 1e-12
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_leaf_gradients_share_memory_with_nothing(row):
    """The engine makes an op's fresh gradient .grad without a copy (Function.fresh_gradients): no op may
    return an array it keeps (a saved value, a cached buffer) or one it returns for another input too."""
    first = make_inputs(row, seed=1)
    out = row.fn(*first)
    upstream = gg.tensor(np.random.default_rng(2).standard_normal(tuple(out.shape)))
    out.backward(upstream)
    grads = [x.grad for x in first if x.grad is not None]
    values = [g.numpy().copy() for g in grads]
    # A second graph of the same op: a buffer reused across calls would overwrite the first .grad.
    second = make_inputs(row, seed=3)
    out2 = row.fn(*second)
    out2.backward(gg.ones_like(out2))
    held = [t._array for t in first + second + [out, out2, upstream]] + [x.grad._array for x in second if x.grad is not None]
    for i, g in enumerate(grads):
        others = held + [h._array for j, h in enumerate(grads) if j != i]
        assert not any(np.shares_memory(g._array, h) for h in others), f"{row.name}: a .grad shares memory"
    for g, v in zip(grads, values):
        np.testing.assert_array_equal(g.numpy(), v)
