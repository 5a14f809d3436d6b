"""gg.masked: reductions and normalisations that leave out the elements where the mask is False, checked
against NumPy on the kept elements (PyTorch's own samples: bench/compat/opinfo_sweep.py masked.*)."""
import numpy as np
import pytest

import gpugrad as gg


@pytest.fixture
def data(rng):
    x = rng.standard_normal((3, 5))
    mask = rng.random((3, 5)) > 0.4
    mask[:, 0] = True  # every row keeps an element
    return x, mask


def _rows(x, mask, fn):
    return np.array([fn(row[keep]) for row, keep in zip(x, mask)])


@pytest.mark.parametrize("name, ref", [
    ("sum", np.sum), ("prod", np.prod), ("amax", np.max), ("amin", np.min), ("mean", np.mean),
    ("logsumexp", lambda v: np.log(np.exp(v).sum())),
])
def test_reductions_leave_out_the_masked_elements(data, name, ref):
    x, mask = data
    out = getattr(gg.masked, name)(gg.tensor(x), 1, mask=gg.tensor(mask))
    np.testing.assert_allclose(out.numpy(), _rows(x, mask, ref), rtol=1e-12)


def test_var_std_median_and_arg_reductions(data):
    x, mask = data
    t, m = gg.tensor(x), gg.tensor(mask)
    np.testing.assert_allclose(gg.masked.norm(t, 2.0, 1, mask=m).numpy(), _rows(x, mask, np.linalg.norm), rtol=1e-12)
    np.testing.assert_allclose(gg.masked.var(t, 1, mask=m).numpy(), _rows(x, mask, lambda v: np.var(v, ddof=1)), rtol=1e-12)
    np.testing.assert_allclose(gg.masked.std(t, 1, correction=0, mask=m).numpy(), _rows(x, mask, np.std), rtol=1e-12)
    np.testing.assert_allclose(gg.masked.median(t, 1, mask=m).numpy(), _rows(x, mask, lambda v: np.sort(v)[(len(v) - 1) // 2]))
    picked = gg.masked.argmax(t, 1, mask=m)
    assert picked.dtype is gg.float64  # the input's dtype, as PyTorch's
    assert [x[i, int(j)] for i, j in enumerate(picked.tolist())] == list(_rows(x, mask, np.max))


def test_normalisations_and_scans(data):
    x, mask = data
    t, m = gg.tensor(x), gg.tensor(mask)
    soft = gg.masked.softmax(t, 1, mask=m).numpy()
    e = np.where(mask, np.exp(x - x.max(1, keepdims=True)), 0)
    np.testing.assert_allclose(soft, e / e.sum(1, keepdims=True), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gg.masked.cumsum(t, 1, mask=m).numpy(), np.cumsum(np.where(mask, x, 0), 1), rtol=1e-12)
    np.testing.assert_allclose(gg.masked.cumprod(t, 1, mask=m).numpy(), np.cumprod(np.where(mask, x, 1), 1), rtol=1e-12)
    unit = gg.masked.normalize(t, 2.0, 1, mask=m).numpy()
    np.testing.assert_allclose(unit, np.where(mask, x, 0) / _rows(x, mask, np.linalg.norm)[:, None], rtol=1e-12)
    both = gg.masked.logaddexp(t, t, input_mask=m, other_mask=gg.tensor(~mask)).numpy()
    np.testing.assert_allclose(both, x, rtol=1e-12)  # each element kept on exactly one side


def test_gradients_reach_only_the_kept_elements(data):
    x, mask = data
    t = gg.tensor(x, requires_grad=True)
    gg.masked.sum(t, mask=gg.tensor(mask)).backward()
    assert np.array_equal(t.grad.numpy(), mask.astype(float))
    assert gg.autograd.gradcheck(lambda v: gg.masked.mean(v, 1, mask=gg.tensor(mask)), (gg.tensor(x, requires_grad=True),))
    assert gg.autograd.gradcheck(lambda v: gg.masked.softmax(v, 0, mask=gg.tensor(mask)), (gg.tensor(x, requires_grad=True),))


def test_defaults_and_refusals():
    ints = gg.tensor([[1, 2], [3, 4]], dtype=gg.int32)
    assert gg.masked.sum(ints).dtype is gg.int64 and gg.masked.sum(ints).item() == 10  # no mask: every element
    assert gg.masked.amax(ints, mask=gg.tensor([True, False])).item() == 3  # a broadcast mask
    assert np.isnan(gg.masked.mean(gg.ones(2, 2), 1, mask=gg.tensor([[True, True], [False, False]]))[1].item())
    with pytest.raises(Exception, match="floating point"):
        gg.masked.mean(ints)
    with pytest.raises(Exception, match="more dims"):
        gg.masked.sum(gg.ones(2), mask=gg.ones(1, 2, dtype=gg.bool))
    with pytest.raises(Exception, match="fully masked"):
        gg.masked.median(ints, 1, mask=gg.tensor([[True, True], [False, False]]))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "argmax", "mean", "median", "var", "std", "norm",
                                  "logsumexp", "cumsum", "cumprod", "softmax", "log_softmax", "softmin"])
def test_values_and_gradients_match_pytorch(data, name):
    torch = pytest.importorskip("torch")
    x, mask = data
    args = (2.0, 1) if name == "norm" else (1,)
    t = torch.tensor(x, requires_grad=True)
    g = gg.tensor(x, requires_grad=True)
    out_t = getattr(torch.masked, name)(t, *args, mask=torch.tensor(mask))
    out_g = getattr(gg.masked, name)(g, *args, mask=gg.tensor(mask))
    assert str(out_g.dtype) == str(out_t.dtype) and tuple(out_g.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    if out_t.requires_grad:
        cot = np.random.default_rng(0).standard_normal(tuple(out_t.shape))
        out_t.backward(torch.tensor(cot))
        out_g.backward(gg.tensor(cot))
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
