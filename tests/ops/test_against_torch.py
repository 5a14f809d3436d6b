"""Every row of the op table against PyTorch: forward values and gradients (skipped without PyTorch)."""
import numpy as np
import pytest

import gpugrad as gg

from .op_table import ROWS

pytestmark = pytest.mark.torch


def _torch_fn(row, torch):
    if row.torch is None:
        return row.fn
    return lambda *tensors: row.torch(torch, *tensors)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_row_matches_pytorch(row):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [domain(rng, shape) for shape, domain in row.inputs]
    ours = [gg.tensor(a, dtype=gg.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = row.fn(*ours)
    ref = _torch_fn(row, torch)(*theirs)
    rtol = row.tol.get("torch", 1e-10)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=1e-12)
    u = rng.standard_normal(tuple(ref.shape))
    out.backward(gg.tensor(u, dtype=gg.float64))
    ref.backward(torch.tensor(u, dtype=torch.float64))
    for mine, th in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), th.grad.numpy(), rtol=rtol, atol=1e-12)


def test_where_with_nan_in_the_branch_not_taken_matches_pytorch():
    torch = pytest.importorskip("torch")
    for v in (-1.0, 0.0):
        x = gg.tensor([v, 4.0], dtype=gg.float64, requires_grad=True)
        t = torch.tensor([v, 4.0], dtype=torch.float64, requires_grad=True)
        with np.errstate(all="ignore"):
            gg.where(x > 0, x.log(), gg.zeros(2, dtype=gg.float64)).sum().backward()
        torch.where(t > 0, t.log(), torch.zeros(2, dtype=torch.float64)).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_max_ties_split_gradient_like_pytorch():
    torch = pytest.importorskip("torch")
    a = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    x = gg.tensor(a, dtype=gg.float64, requires_grad=True)
    t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    (x.max() + gg.maximum(x, gg.full((2, 3), 2.0, dtype=gg.float64)).sum()).backward()
    (t.max() + torch.maximum(t, torch.full((2, 3), 2.0, dtype=torch.float64)).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
