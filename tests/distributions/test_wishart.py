"""Wishart: one-by-one it is a gamma distribution; samples average to df * covariance; the three ways to
give the scale agree; everything beside PyTorch's."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.distributions import Gamma, Wishart


def _covariance(rng, batch=2, p=3):
    a = rng.standard_normal((batch, p, p))
    return a @ a.transpose(0, 2, 1) + p * np.eye(p)


def test_one_by_one_it_is_a_gamma():
    df, var = gg.tensor([3.0, 7.5], dtype=gg.float64), gg.tensor([0.5, 2.0], dtype=gg.float64)
    x = gg.tensor([[[1.3]], [[9.0]]], dtype=gg.float64)
    wishart = Wishart(df, covariance_matrix=var.view(2, 1, 1))
    gamma = Gamma(df / 2, 1 / (2 * var))
    np.testing.assert_allclose(wishart.log_prob(x).numpy(), gamma.log_prob(x.view(2)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(wishart.entropy().numpy(), gamma.entropy().numpy(), rtol=1e-12)


def test_samples_and_parameterisations():
    rng = np.random.default_rng(0)
    cov = _covariance(rng)
    df = gg.tensor([4.5, 6.0], dtype=gg.float64)
    by_cov = Wishart(df, covariance_matrix=gg.tensor(cov))
    by_tril = Wishart(df, scale_tril=gg.tensor(np.linalg.cholesky(cov)))
    by_precision = Wishart(df, precision_matrix=gg.tensor(np.linalg.inv(cov)))
    value = gg.tensor(cov + np.eye(3))
    for other in (by_tril, by_precision):
        np.testing.assert_allclose(other.log_prob(value).numpy(), by_cov.log_prob(value).numpy(), rtol=1e-10)
    gg.manual_seed(0)
    samples = by_cov.rsample((20000,))
    assert samples.shape == (20000, 2, 3, 3)
    np.testing.assert_allclose(samples.mean(0).numpy(), by_cov.mean.numpy(), rtol=0.05, atol=0.1)
    scale = gg.tensor(np.linalg.cholesky(cov), requires_grad=True)
    Wishart(df, scale_tril=scale).rsample((3,)).sum().backward()  # reparameterised
    assert scale.grad is not None and bool(gg.isfinite(scale.grad).all())
    with pytest.raises(ValueError, match="greater than ndim - 1 = 2"):
        Wishart(gg.tensor(2.0, dtype=gg.float64), covariance_matrix=gg.tensor(cov[0]))


@pytest.mark.torch
def test_as_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    cov = _covariance(rng)
    value = cov + np.eye(3)
    for kw, matrix in (("covariance_matrix", cov), ("precision_matrix", np.linalg.inv(cov)),
                       ("scale_tril", np.linalg.cholesky(cov))):
        ours = Wishart(gg.tensor([4.5, 6.0], dtype=gg.float64), **{kw: gg.tensor(matrix)})
        theirs = torch.distributions.Wishart(torch.tensor([4.5, 6.0], dtype=torch.float64),
                                             **{kw: torch.tensor(matrix)})
        for name in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix"):
            np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-10,
                                       err_msg=name)
        np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.log_prob(gg.tensor(value)).numpy(),
                                   theirs.log_prob(torch.tensor(value)).numpy(), rtol=1e-10)
