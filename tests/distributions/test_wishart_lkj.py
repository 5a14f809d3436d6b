"""Wishart and LKJCholesky: densities against float64 NumPy formulas and closed forms (a 1 x 1 Wishart is
a scaled chi-square; a 2 x 2 LKJ factor carries one correlation r, with (r + 1) / 2 ~ Beta(eta, eta)), draws
by their moments under a fixed seed, the redraws of singular Wishart samples, gradients by finite
differences, argument checks, and, where PyTorch is installed, every value beside torch.distributions'."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck
from gpugrad.distributions import Chi2, LKJCholesky, Wishart, constraints, kl_divergence
from gpugrad.distributions import wishart as wishart_module


def t64(x, requires_grad: bool = False) -> gg.Tensor:
    return gg.tensor(np.asarray(x, dtype=np.float64), requires_grad=requires_grad)


def _spd(rng: np.random.Generator, batch: tuple = (), p: int = 3) -> np.ndarray:
    """Well-conditioned symmetric positive-definite matrices."""
    a = rng.standard_normal(batch + (p, p))
    return a @ np.swapaxes(a, -1, -2) + p * np.eye(p)


def _digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to x >= 8, then the asymptotic series (error below 1e-13)."""
    shift = 0.0
    while x < 8:
        shift -= 1 / x
        x += 1
    inv2 = 1 / (x * x)
    return shift + math.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 / 240)))


def _log_mvgamma(a: float, p: int) -> float:
    return p * (p - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a - i / 2) for i in range(p))


def _wishart_log_pdf(x: np.ndarray, df: float, cov: np.ndarray) -> float:
    """The textbook density: |X|^((n-p-1)/2) exp(-tr(S^-1 X)/2) / (2^(np/2) |S|^(n/2) Gamma_p(n/2))."""
    p = cov.shape[-1]
    return ((df - p - 1) / 2 * np.linalg.slogdet(x)[1] - np.trace(np.linalg.solve(cov, x)) / 2
            - df * p / 2 * math.log(2) - df / 2 * np.linalg.slogdet(cov)[1] - _log_mvgamma(df / 2, p))


def _wishart_kl(df0: float, cov0: np.ndarray, df1: float, cov1: np.ndarray) -> float:
    """KL(W(df0, cov0) || W(df1, cov1)) in closed form."""
    p = cov0.shape[-1]
    mvdigamma = sum(_digamma(df0 / 2 - i / 2) for i in range(p))
    return (df1 / 2 * (np.linalg.slogdet(cov1)[1] - np.linalg.slogdet(cov0)[1])
            + df0 / 2 * (np.trace(np.linalg.solve(cov1, cov0)) - p)
            + _log_mvgamma(df1 / 2, p) - _log_mvgamma(df0 / 2, p) + (df0 - df1) / 2 * mvdigamma)


# Wishart: closed forms and NumPy ---------------------------------------------------------------------------

def test_one_by_one_wishart_is_a_scaled_chi_square():
    df = t64([1.5, 4.0, 9.25])
    wishart = Wishart(df, covariance_matrix=t64(np.ones((3, 1, 1))))
    chi2 = Chi2(df)
    x = t64([0.3, 2.5, 11.0])
    np.testing.assert_allclose(wishart.log_prob(x.view(3, 1, 1)).numpy(), chi2.log_prob(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(wishart.entropy().numpy(), chi2.entropy().numpy(), rtol=1e-12)
    np.testing.assert_allclose(wishart.mean.view(3).numpy(), df.numpy(), rtol=1e-15)
    np.testing.assert_allclose(wishart.variance.view(3).numpy(), 2 * df.numpy(), rtol=1e-15)
    # with variance s: W = s * chi2, density divided by s
    s = 2.5
    scaled = Wishart(df, scale_tril=t64(np.full((3, 1, 1), math.sqrt(s))))
    np.testing.assert_allclose(scaled.log_prob((s * x).view(3, 1, 1)).numpy(),
                               chi2.log_prob(x).numpy() - math.log(s), rtol=1e-12)
    gg.manual_seed(3)
    draws = Wishart(t64(4.0), covariance_matrix=t64([[1.0]])).sample((40000,)).view(-1).numpy()
    assert abs(draws.mean() - 4.0) < 4 * math.sqrt(8.0 / 40000)
    assert abs(draws.var() - 8.0) < 0.05 * 8.0


def test_wishart_density_matches_the_numpy_formula_for_every_parameterisation():
    rng = np.random.default_rng(0)
    cov = _spd(rng, (2,))
    x = _spd(rng, (4, 1)) / 2  # values (4, 1, 3, 3) broadcast against the batch (2,)
    df = np.array([3.5, 7.0])
    want = np.array([[_wishart_log_pdf(x[i, 0], df[j], cov[j]) for j in range(2)] for i in range(4)])
    for kw, matrix in (("covariance_matrix", cov), ("precision_matrix", np.linalg.inv(cov)),
                       ("scale_tril", np.linalg.cholesky(cov))):
        dist = Wishart(t64(df), **{kw: t64(matrix)})
        np.testing.assert_allclose(dist.log_prob(t64(x)).numpy(), want, rtol=1e-11, err_msg=kw)
        np.testing.assert_allclose(dist.covariance_matrix.numpy(), cov, rtol=1e-12, err_msg=kw)
        np.testing.assert_allclose(dist.precision_matrix.numpy(), np.linalg.inv(cov), rtol=1e-10, atol=1e-14,
                                   err_msg=kw)
        np.testing.assert_allclose(dist.scale_tril.numpy(), np.linalg.cholesky(cov), rtol=1e-12, err_msg=kw)
        np.testing.assert_allclose(dist.mean.numpy(), df[:, None, None] * cov, rtol=1e-12, err_msg=kw)
        diag = np.diagonal(cov, axis1=-2, axis2=-1)
        np.testing.assert_allclose(dist.variance.numpy(),
                                   df[:, None, None] * (cov**2 + diag[..., :, None] * diag[..., None, :]),
                                   rtol=1e-12, err_msg=kw)
    mode = Wishart(t64([3.5, 7.0]), covariance_matrix=t64(cov)).mode.numpy()
    assert np.isnan(mode[0]).all()  # df <= p + 1: no mode
    np.testing.assert_allclose(mode[1], 3.0 * cov[1], rtol=1e-12)


def test_wishart_entropy_is_minus_the_expected_log_density():
    rng = np.random.default_rng(1)
    cov = _spd(rng)
    dist = Wishart(t64([3.2, 8.0]), covariance_matrix=t64(cov))
    gg.manual_seed(11)
    log_p = dist.log_prob(dist.sample((20000,))).numpy()
    standard_error = log_p.std(0) / math.sqrt(log_p.shape[0])
    assert (np.abs(-log_p.mean(0) - dist.entropy().numpy()) < 5 * standard_error).all()


def test_wishart_draws_have_its_mean_and_variance_and_repeat_under_a_seed():
    rng = np.random.default_rng(2)
    cov = _spd(rng, (2,))
    dist = Wishart(t64([[4.5, 12.0]]), covariance_matrix=t64(cov))  # batch (1, 2)
    n = 30000
    gg.manual_seed(5)
    draws = dist.rsample((n,))
    assert draws.shape == (n, 1, 2, 3, 3)
    assert bool(constraints.positive_definite.check(draws).all())
    w = draws.numpy()
    np.testing.assert_allclose(w, np.swapaxes(w, -1, -2), rtol=0, atol=1e-12)
    variance = dist.variance.numpy()
    assert (np.abs(w.mean(0) - dist.mean.numpy()) < 5 * np.sqrt(variance / n)).all()
    np.testing.assert_allclose(w.var(0), variance, rtol=0.08)
    gg.manual_seed(5)
    np.testing.assert_array_equal(dist.rsample((n,)).numpy(), w)


def test_wishart_kl_is_the_closed_form_per_batch_member():
    rng = np.random.default_rng(3)
    cov_p, cov_q = _spd(rng, (2,)), _spd(rng, (2,))
    df_p, df_q = np.array([3.5, 6.0]), np.array([5.0, 3.25])
    p = Wishart(t64(df_p), covariance_matrix=t64(cov_p))
    q = Wishart(t64(df_q), scale_tril=t64(np.linalg.cholesky(cov_q)))
    want = [_wishart_kl(df_p[i], cov_p[i], df_q[i], cov_q[i]) for i in range(2)]
    np.testing.assert_allclose(kl_divergence(p, q).detach().numpy(), want, rtol=1e-9)
    np.testing.assert_allclose(kl_divergence(p, p).detach().numpy(), 0.0, atol=1e-10)
    # a batch of 2 x 2: the df term is not summed over the batch (as PyTorch's generic KL does)
    p4, q4 = p.expand((2, 2)), q.expand((2, 2))
    np.testing.assert_allclose(kl_divergence(p4, q4).detach().numpy(), np.broadcast_to(want, (2, 2)), rtol=1e-9)


def test_wishart_expand_shares_the_parameters_and_draws_the_new_batch():
    rng = np.random.default_rng(4)
    cov = _spd(rng)
    dist = Wishart(t64([4.0, 5.0]), covariance_matrix=t64(cov))
    big = dist.expand((3, 2))
    assert big.batch_shape == (3, 2) and big.event_shape == (3, 3)
    assert big.df.shape == (3, 2) and big.covariance_matrix.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(big.entropy().numpy(), np.broadcast_to(dist.entropy().numpy(), (3, 2)), rtol=1e-14)
    x = t64(cov * 2)
    np.testing.assert_allclose(big.log_prob(x).numpy(), np.broadcast_to(dist.log_prob(x).numpy(), (3, 2)),
                               rtol=1e-14)
    assert big.rsample((4,)).shape == (4, 3, 2, 3, 3)
    assert big._validate_args == dist._validate_args


# Wishart: the redraws of singular samples ------------------------------------------------------------------

class _SingularFirst:
    """Stands in for ``_bartlett_sampling``: the first draw has ``broken`` (an index) zeroed."""

    def __init__(self, dist: Wishart, broken: tuple) -> None:
        self.dist, self.broken, self.calls = dist, broken, []
        self.real = dist._bartlett_sampling

    def __call__(self, sample_shape):
        draw = self.real(sample_shape)
        if not self.calls:
            draw = draw.clone()
            draw[self.broken] = 0.0
        self.calls.append(tuple(sample_shape))
        return draw


def test_singular_wishart_draws_are_drawn_again_for_the_whole_batch():
    dist = Wishart(t64([4.0, 6.0]), covariance_matrix=t64(np.eye(3)))
    fake = _SingularFirst(dist, (1, 0))
    dist._bartlett_sampling = fake
    gg.manual_seed(0)
    with pytest.warns(UserWarning, match="Singular sample detected."):
        draws = dist.rsample((3,))
    assert fake.calls == [(3,), (1,)]  # only sample index 1 is drawn again, for both batch members
    assert bool(constraints.positive_definite.check(draws).all())
    gg.manual_seed(0)
    first = fake.real((3,)).numpy()
    np.testing.assert_array_equal(draws.numpy()[[0, 2]], first[[0, 2]])
    assert not np.allclose(draws.numpy()[1, 1], first[1, 1])


def test_singular_wishart_draws_are_kept_after_max_try_correction():
    dist = Wishart(t64(4.0), covariance_matrix=t64(np.eye(2)))
    fake = _SingularFirst(dist, (0,))
    dist._bartlett_sampling = fake
    with pytest.warns(UserWarning, match="Singular sample detected."):
        draws = dist.rsample((2,), max_try_correction=0)
    assert fake.calls == [(2,)]
    assert (draws.numpy()[0] == 0).all()
    assert Wishart(t64(4.0), covariance_matrix=t64(np.eye(2)), validate_args=False).log_prob(
        draws[0]).item() == -math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when nothing is singular
        Wishart(t64(4.0), covariance_matrix=t64(np.eye(2))).rsample((5,))


def test_while_tracing_every_draw_is_redrawn_where_singular(monkeypatch):
    monkeypatch.setattr(wishart_module, "is_tracing", lambda: True)
    dist = Wishart(t64(4.0), covariance_matrix=t64(np.eye(2)))
    fake = _SingularFirst(dist, (1,))
    dist._bartlett_sampling = fake
    draws = dist.rsample((3,))
    assert fake.calls == [(3,)] * 4  # max_try_correction is 3 under tracing, whole draws each time
    assert bool(constraints.positive_definite.check(draws).all())


# Wishart: gradients ----------------------------------------------------------------------------------------

def test_wishart_log_prob_entropy_and_kl_have_their_derivatives():
    rng = np.random.default_rng(5)
    cov = _spd(rng, (), 2)
    x = t64(_spd(rng, (), 2))
    tril = t64(np.linalg.cholesky(cov), True)
    df = t64([3.0, 4.5], True)
    assert gradcheck(lambda s, d: Wishart(d, scale_tril=s.tril()).log_prob(x), (tril, df))
    assert gradcheck(lambda c, d: Wishart(d, covariance_matrix=(c + c.mT) / 2).entropy(), (t64(cov, True), df))
    assert gradcheck(lambda c: Wishart(df.detach(), precision_matrix=(c + c.mT) / 2).log_prob(x),
                     (t64(np.linalg.inv(cov), True),))
    assert gradcheck(lambda v: Wishart(df.detach(), covariance_matrix=t64(cov), validate_args=False).log_prob(
        (v + v.mT) / 2), (t64(x.numpy(), True),))
    other = Wishart(t64(5.0), covariance_matrix=t64(np.eye(2)))
    assert gradcheck(lambda s, d: kl_divergence(Wishart(d, scale_tril=s.tril()), other), (tril, df))


def test_wishart_rsample_is_differentiable_in_the_scale_and_in_df():
    rng = np.random.default_rng(6)
    cov = _spd(rng, (), 2)
    df = t64(4.5)

    def draw(scale_tril):
        gg.manual_seed(7)
        return Wishart(df, scale_tril=scale_tril.tril()).rsample((3,))

    assert gradcheck(draw, (t64(np.linalg.cholesky(cov), True),))
    # d/d df of the draws: its expectation is d E[W] / d df = covariance
    df = t64(6.0, True)
    gg.manual_seed(8)
    n = 20000
    Wishart(df, covariance_matrix=t64(cov)).rsample((n,)).sum().backward()
    assert df.grad.item() / n == pytest.approx(cov.sum(), rel=0.05)
    gg.manual_seed(8)
    assert not Wishart(df, covariance_matrix=t64(cov)).sample((2,)).requires_grad


# Wishart: argument checks ----------------------------------------------------------------------------------

def test_wishart_argument_checks():
    eye = t64(np.eye(3))
    with pytest.raises(AssertionError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        Wishart(t64(4.0), covariance_matrix=eye, scale_tril=eye)
    with pytest.raises(AssertionError, match="Exactly one of"):
        Wishart(t64(4.0))
    with pytest.raises(ValueError, match="scale_tril must be at least two-dimensional"):
        Wishart(t64(4.0), covariance_matrix=t64([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Value of df=2.0 expected to be greater than ndim - 1 = 2\."):
        Wishart(2.0, covariance_matrix=eye)
    with pytest.warns(UserWarning, match="Low df values detected"):
        Wishart(t64([2.5, 4.0]), covariance_matrix=eye)
    with pytest.raises(ValueError, match="covariance_matrix .* PositiveDefinite"):
        Wishart(t64(4.0), covariance_matrix=-eye)
    with pytest.raises(ValueError, match="scale_tril .* LowerCholesky"):
        Wishart(t64(4.0), scale_tril=t64(np.ones((3, 3))))
    dist = Wishart(t64(4.0), covariance_matrix=eye)
    with pytest.raises(ValueError, match="within the support"):
        dist.log_prob(-eye)
    with pytest.raises(ValueError, match="right-most size of value must match event_shape"):
        dist.log_prob(t64(np.eye(2)))
    assert Wishart(t64(4.0), covariance_matrix=eye, validate_args=False).log_prob(-eye).shape == ()
    assert repr(dist.arg_constraints["df"]) == "GreaterThan(lower_bound=2)"
    assert dist.support is constraints.positive_definite and dist.has_rsample
    # a number df takes the matrix's dtype and is broadcast to its batch
    batched = Wishart(5.0, covariance_matrix=t64(np.broadcast_to(np.eye(3), (4, 3, 3))))
    assert batched.df.dtype == gg.float64 and batched.mean.shape == (4, 3, 3)
    # df and the matrix broadcast together
    assert Wishart(t64([[4.0], [5.0]]), covariance_matrix=t64(_spd(np.random.default_rng(7), (3,)))).batch_shape \
        == (2, 3)


# LKJCholesky: closed forms ---------------------------------------------------------------------------------

def _corr_factor_2x2(r: np.ndarray) -> np.ndarray:
    out = np.zeros(r.shape + (2, 2))
    out[..., 0, 0], out[..., 1, 0], out[..., 1, 1] = 1.0, r, np.sqrt(1 - r**2)
    return out


@pytest.mark.parametrize("eta", [0.4, 1.0, 3.0])
def test_lkj_in_two_dimensions_is_a_beta_on_the_correlation(eta):
    r = np.linspace(-0.95, 0.95, 9)
    log_beta = math.lgamma(eta) * 2 - math.lgamma(2 * eta)
    want = (eta - 1) * np.log((1 + r) / 2 * (1 - r) / 2) - log_beta - math.log(2)  # density of 2 B - 1
    dist = LKJCholesky(2, t64(eta))
    np.testing.assert_allclose(dist.log_prob(t64(_corr_factor_2x2(r))).numpy(), want, rtol=1e-12, atol=1e-13)
    if eta == 1.0:
        np.testing.assert_allclose(want, math.log(0.5), rtol=1e-13)  # uniform on (-1, 1)
    gg.manual_seed(1)
    n = 40000
    draws = dist.sample((n,)).numpy()
    correlation = draws[:, 1, 0]
    assert abs(correlation.mean()) < 4 * math.sqrt(1 / (2 * eta + 1) / n)
    assert correlation.var() == pytest.approx(1 / (2 * eta + 1), rel=0.04)
    if eta == 1.0:  # uniform: each quarter of (-1, 1) holds a quarter of the draws
        counts = np.histogram(correlation, bins=4, range=(-1, 1))[0]
        assert np.abs(counts / n - 0.25).max() < 0.01


def test_lkj_density_integrates_to_one_over_three_by_three_factors():
    rng = np.random.default_rng(8)
    n = 200000
    # the free entries: L10 in (-1, 1), (L20, L21) in the unit disc, area 2 pi in all
    r10 = rng.uniform(-1, 1, n)
    radius, angle = np.sqrt(rng.uniform(0, 1, n)), rng.uniform(0, 2 * np.pi, n)
    factor = np.zeros((n, 3, 3))
    factor[:, 0, 0], factor[:, 1, 0], factor[:, 1, 1] = 1.0, r10, np.sqrt(1 - r10**2)
    factor[:, 2, 0], factor[:, 2, 1] = radius * np.cos(angle), radius * np.sin(angle)
    factor[:, 2, 2] = np.sqrt(1 - radius**2)
    for eta in (1.0, 2.5):
        density = np.exp(LKJCholesky(3, t64(eta), validate_args=False).log_prob(t64(factor)).numpy()) * 2 * np.pi
        assert abs(density.mean() - 1) < 5 * density.std() / math.sqrt(n)


def test_lkj_draws_are_correlation_factors_with_the_lkj_marginals():
    # each off-diagonal correlation of LKJ(eta) in d dims is 2 Beta(b, b) - 1, b = eta - 1 + d / 2 (LKJ is
    # exchangeable; PyTorch 2.13's draws are not: from row 2 on their variances come out near 0.30, not 0.25)
    eta = t64([0.5, 2.0])
    dist = LKJCholesky(4, eta)
    gg.manual_seed(2)
    n = 20000
    draws = dist.sample((n,))
    assert draws.shape == (n, 2, 4, 4) and draws.dtype == gg.float64
    assert bool(constraints.corr_cholesky.check(draws).all())
    factor = draws.numpy()
    corr = factor @ np.swapaxes(factor, -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, atol=1e-12)
    rows, cols = np.tril_indices(4, -1)
    off = corr[..., rows, cols]  # (n, 2, 6)
    want_var = 1 / (2 * eta.numpy() + 3)
    assert (np.abs(off.mean(0)) < 5 * np.sqrt(want_var[:, None] / n)).all()
    np.testing.assert_allclose(off.var(0), np.broadcast_to(want_var[:, None], (2, 6)), rtol=0.06)
    gg.manual_seed(2)
    np.testing.assert_array_equal(dist.sample((n,)).numpy(), factor)


def test_lkj_float32_defaults_shapes_expand_and_checks():
    dist = LKJCholesky(3)
    assert dist.concentration.dtype == gg.float32 and dist.batch_shape == () and dist.event_shape == (3, 3)
    assert dist.sample().dtype == gg.float32 and dist.sample((2, 5)).shape == (2, 5, 3, 3)
    assert not dist.has_rsample and dist.support is constraints.corr_cholesky
    assert repr(dist.arg_constraints["concentration"]) == "GreaterThan(lower_bound=0.0)"
    big = LKJCholesky(3, t64([1.0, 2.0])).expand((4, 2))
    assert big.batch_shape == (4, 2) and big.dim == 3 and big.concentration.shape == (4, 2)
    assert big.sample((5,)).shape == (5, 4, 2, 3, 3)
    value = LKJCholesky(3, t64(1.0)).sample()
    np.testing.assert_allclose(big.log_prob(value).numpy(),
                               np.broadcast_to(LKJCholesky(3, t64([1.0, 2.0])).log_prob(value).numpy(), (4, 2)),
                               rtol=1e-14)
    with pytest.raises(ValueError, match=r"Expected dim to be an integer greater than or equal to 2\. Found dim=1\."):
        LKJCholesky(1)
    with pytest.raises(ValueError, match="Expected parameter"):
        LKJCholesky(3, t64([1.0, -0.5]))
    with pytest.raises(ValueError, match="within the support"):
        dist.log_prob(gg.ones(3, 3))
    with pytest.raises(NotImplementedError):
        dist.rsample()


def test_lkj_log_prob_has_its_derivatives():
    value = LKJCholesky(3, t64(1.0)).sample((2,))
    assert gradcheck(lambda c: LKJCholesky(3, c).log_prob(value), (t64([0.7, 2.5], True),))
    assert gradcheck(lambda v: LKJCholesky(3, t64(1.5), validate_args=False).log_prob(v), (t64(value.numpy(), True),))


def test_pytorchs_module_paths():
    import gpugrad.distributions as d

    assert d.chi2.Chi2 is d.Chi2 and d.half_cauchy.HalfCauchy is d.HalfCauchy
    assert d.studentT.StudentT is d.StudentT and d.lkj_cholesky.LKJCholesky is LKJCholesky
    assert d.wishart.Wishart is Wishart


# Beside PyTorch --------------------------------------------------------------------------------------------

@pytest.mark.torch
def test_every_torch_distributions_submodule_imports():
    torch = pytest.importorskip("torch")
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(torch.distributions.__path__):
        if not module.name.startswith("_"):
            ours = importlib.import_module(f"gpugrad.distributions.{module.name}")
            theirs = importlib.import_module(f"torch.distributions.{module.name}")
            for name in getattr(theirs, "__all__", ()):  # its distributions (not every helper)
                thing = getattr(theirs, name)
                if isinstance(thing, type) and issubclass(thing, torch.distributions.Distribution):
                    assert hasattr(ours, name), f"gpugrad.distributions.{module.name}.{name}"


@pytest.mark.torch
def test_wishart_as_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    cov = _spd(rng, (3,))
    value = _spd(rng, (4, 1, 1)) / 3
    df = np.array([[2.5], [4.0]])  # batch (2, 3); 2.5 < p + 1: a NaN mode
    for kw, matrix in (("covariance_matrix", cov), ("precision_matrix", np.linalg.inv(cov)),
                       ("scale_tril", np.linalg.cholesky(cov))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # low df
            ours = Wishart(t64(df), **{kw: t64(matrix)})
            theirs = torch.distributions.Wishart(torch.tensor(df), **{kw: torch.tensor(matrix)})
        assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
        for name in ("mean", "mode", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
            np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-10,
                                       atol=1e-14, err_msg=f"{kw} {name}")
        np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-10, err_msg=kw)
        np.testing.assert_allclose(ours.log_prob(t64(value)).numpy(), theirs.log_prob(torch.tensor(value)).numpy(),
                                   rtol=1e-10, err_msg=kw)
        assert {k: repr(c) for k, c in ours.arg_constraints.items()} == \
            {k: repr(c) for k, c in theirs.arg_constraints.items()}
    # the gradients of log_prob in the scale and df
    tril = np.linalg.cholesky(cov[0])
    ours_s, ours_df = t64(tril, True), t64(3.5, True)
    theirs_s, theirs_df = torch.tensor(tril, requires_grad=True), torch.tensor(3.5, dtype=torch.float64,
                                                                               requires_grad=True)
    Wishart(ours_df, scale_tril=ours_s).log_prob(t64(value[0, 0, 0])).backward()
    torch.distributions.Wishart(theirs_df, scale_tril=theirs_s).log_prob(torch.tensor(value[0, 0, 0])).backward()
    # all of it: log_prob reads only the lower triangle, but cholesky_solve's gradient in the factor is
    # PyTorch's, which sends some to the upper triangle too
    np.testing.assert_allclose(ours_s.grad.numpy(), theirs_s.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours_df.grad.numpy(), theirs_df.grad.numpy(), rtol=1e-9)
    # unbatched KL: PyTorch's generic exponential-family KL
    p_args, q_args = (4.5, cov[0]), (6.0, cov[1])
    ours = kl_divergence(Wishart(t64(p_args[0]), covariance_matrix=t64(p_args[1])),
                         Wishart(t64(q_args[0]), covariance_matrix=t64(q_args[1])))
    theirs = torch.distributions.kl_divergence(
        torch.distributions.Wishart(torch.tensor(p_args[0], dtype=torch.float64),
                                    covariance_matrix=torch.tensor(p_args[1])),
        torch.distributions.Wishart(torch.tensor(q_args[0], dtype=torch.float64),
                                    covariance_matrix=torch.tensor(q_args[1])))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)


@pytest.mark.torch
def test_wishart_errors_as_pytorchs():
    torch = pytest.importorskip("torch")
    cases = [
        lambda lib, T: lib.distributions.Wishart(T(4.0), covariance_matrix=T(np.eye(2)), scale_tril=T(np.eye(2))),
        lambda lib, T: lib.distributions.Wishart(T(4.0), covariance_matrix=T([1.0, 2.0])),
        lambda lib, T: lib.distributions.Wishart(T([1.0, 3.0]), covariance_matrix=T(np.eye(3))),
        lambda lib, T: lib.distributions.LKJCholesky(1, 0.5),
    ]
    for case in cases:
        with pytest.raises(Exception) as ours:
            case(gg, t64)
        with pytest.raises(Exception) as theirs:
            case(torch, lambda x: torch.tensor(np.asarray(x, dtype=np.float64)))
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value).replace("gpugrad", "torch") == str(theirs.value)


@pytest.mark.torch
@pytest.mark.parametrize("dim", [2, 3, 5])
def test_lkj_log_prob_as_pytorchs(dim):
    torch = pytest.importorskip("torch")
    eta = np.array([0.3, 1.0, 4.0])
    torch.manual_seed(dim)
    theirs = torch.distributions.LKJCholesky(dim, torch.tensor(eta))
    gg.manual_seed(dim)
    ours = LKJCholesky(dim, t64(eta))
    for value in (theirs.sample((4,)).numpy(), ours.sample((4,)).numpy()):
        np.testing.assert_allclose(ours.log_prob(t64(value)).numpy(), theirs.log_prob(torch.tensor(value)).numpy(),
                                   rtol=1e-10)
    value32 = theirs.sample().numpy().astype(np.float32)
    np.testing.assert_allclose(LKJCholesky(dim, gg.tensor(eta.astype(np.float32))).log_prob(gg.tensor(value32)).numpy(),
                               torch.distributions.LKJCholesky(dim, torch.tensor(eta, dtype=torch.float32)).log_prob(
                                   torch.tensor(value32)).numpy(), rtol=1e-5)
    ours_eta, theirs_eta = t64(eta, True), torch.tensor(eta, requires_grad=True)
    value = theirs.sample((2,)).numpy()
    LKJCholesky(dim, ours_eta).log_prob(t64(value)).sum().backward()
    torch.distributions.LKJCholesky(dim, theirs_eta).log_prob(torch.tensor(value)).sum().backward()
    np.testing.assert_allclose(ours_eta.grad.numpy(), theirs_eta.grad.numpy(), rtol=1e-9)
