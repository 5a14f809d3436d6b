"""Numerically delicate ops stay finite and right at extreme inputs."""
import numpy as np
import pytest

import gpugrad as gg


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_softmax_family_at_huge_logits(dtype):
    x_np = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1.0, -1e4]])
    x = gg.tensor(x_np, dtype=dtype, requires_grad=True)
    ls = x.log_softmax(dim=1)
    sm = x.softmax(dim=1)
    lse = x.logsumexp(dim=1)
    for t in (ls, sm, lse):
        assert np.isfinite(t.detach().numpy()).all()
    ref = x_np - (np.log(np.exp(x_np - x_np.max(1, keepdims=True)).sum(1, keepdims=True)) + x_np.max(1, keepdims=True))
    np.testing.assert_allclose(ls.detach().numpy(), ref, rtol=1e-6)
    (ls.sum() + sm[:, 0].sum() + lse.sum()).backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("v", [-1e4, -88.0, -30.0, 0.0, 30.0, 88.0, 1e4])
def test_sigmoid_and_softplus_at_extremes(dtype, v):
    x = gg.tensor([v], dtype=dtype, requires_grad=True)
    y = x.sigmoid() + gg.softplus(x)
    y.sum().backward()
    s = 1 / (1 + np.exp(-np.float64(v))) if v > -700 else 0.0
    sp = np.logaddexp(0.0, np.float64(v))
    np.testing.assert_allclose(y.detach().numpy(), [s + sp], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [s * (1 - s) + s], rtol=1e-5, atol=1e-30)


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    x = gg.tensor([[-np.inf, -np.inf], [0.0, -np.inf]])
    out = x.logsumexp(dim=1).numpy()
    assert np.isneginf(out[0]) and out[1] == 0.0


def test_where_gradient_matches_pytorch_when_the_branch_not_taken_is_nan_or_inf():
    # where() itself sends exactly 0 to the branch not taken; the op below it then computes
    # 0 * its local derivative, which is NaN where that derivative is NaN or inf. PyTorch gives the
    # same (checked against torch in test_against_torch.py): [nan, 0.25] here.
    x = gg.tensor([-1.0, 4.0], dtype=gg.float64, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = gg.where(x > 0, x.sqrt(), gg.zeros(2, dtype=gg.float64))
        y.sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.25
    # The safe pattern, masking the input first, gives a clean zero.
    x.grad = None
    safe = gg.where(x > 0, x, gg.ones(2, dtype=gg.float64))
    gg.where(x > 0, safe.sqrt(), 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.25])


def test_float32_exp_is_within_one_ulp():
    # NumPy's own float32 exp is 2.4 ulp off on AVX-512 machines; gpugrad's goes through kernels/_vmath.
    x = np.concatenate([np.linspace(-104.0, 89.0, 400_001, dtype=np.float32),
                        np.array([0.0, -0.0, 1e-30, -1e-30, 88.72283, -87.33654, -103.9], np.float32)])
    got = gg.exp(gg.tensor(x)).numpy().astype(np.float64)
    exact = np.exp(x.astype(np.float64))
    finite = exact < np.finfo(np.float32).max
    ulp = np.spacing(np.abs(exact[finite].astype(np.float32))).astype(np.float64)
    assert np.max(np.abs(got - exact)[finite] / ulp) <= 1.0
    special = gg.exp(gg.tensor([np.inf, -np.inf, np.nan, 89.0, -200.0], dtype=gg.float32)).numpy()
    assert special[0] == np.inf and special[1] == 0.0 and np.isnan(special[2]) and special[3] == np.inf
    assert special[4] == 0.0
