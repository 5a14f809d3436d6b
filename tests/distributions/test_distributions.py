"""gpugrad.distributions: values against closed forms and NumPy, gradients against finite differences,
sampling by its statistics, PyTorch's argument checks, and everything against PyTorch where installed."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd import gradcheck
from gpugrad.distributions import (Bernoulli, Beta, Categorical, Dirichlet, Distribution, Exponential, Gamma,
                                   Independent, Laplace, Normal, OneHotCategorical, Poisson, Uniform, constraints,
                                   kl_divergence, register_kl)


def t64(values, requires_grad=False):
    return gg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


LOC, SCALE = [0.3, -1.2, 2.0], [0.5, 1.0, 2.5]
LOGITS = [[0.2, -1.0, 2.0, 0.0], [1.5, 1.5, -0.5, 3.0]]
PROBS = [0.1, 0.5, 0.93]
LOW, HIGH = [-1.0, 0.0, 2.0], [1.0, 0.5, 5.0]


# Closed forms --------------------------------------------------------------------------------------------

def test_normal_log_prob_entropy_cdf_and_icdf_are_the_closed_forms():
    d = Normal(t64(LOC), t64(SCALE))
    x = np.array([0.1, -2.0, 4.0])
    loc, scale = np.array(LOC), np.array(SCALE)
    want = -((x - loc) ** 2) / (2 * scale**2) - np.log(scale) - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(d.log_prob(t64(x)).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), 0.5 + 0.5 * math.log(2 * math.pi) + np.log(scale), rtol=1e-12)
    cdf = d.cdf(t64(x)).numpy()
    np.testing.assert_allclose(cdf, [0.5 * (1 + math.erf((v - m) / (s * math.sqrt(2)))) for v, m, s in zip(x, loc, scale)])
    np.testing.assert_allclose(d.icdf(gg.tensor(cdf)).numpy(), x, rtol=1e-9)
    assert d.mean is d.loc and d.stddev is d.scale and np.allclose(d.variance.numpy(), scale**2)


def test_categorical_normalises_and_reads_log_probabilities_by_index():
    logits = np.array(LOGITS)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    d = Categorical(logits=t64(logits))
    np.testing.assert_allclose(d.probs.numpy(), np.exp(log_p), rtol=1e-12)
    np.testing.assert_allclose(d.log_prob(gg.tensor([2, 3])).numpy(), [log_p[0, 2], log_p[1, 3]], rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), -(np.exp(log_p) * log_p).sum(-1), rtol=1e-12)
    by_probs = Categorical(probs=t64(np.exp(logits)))  # unnormalised weights
    np.testing.assert_allclose(by_probs.probs.numpy(), np.exp(log_p), rtol=1e-12)
    assert d.mode.tolist() == [2, 3] and d.batch_shape == (2,) and d.event_shape == ()
    assert d.enumerate_support().tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]


def test_bernoulli_and_uniform_are_their_closed_forms():
    p = np.array(PROBS)
    b = Bernoulli(t64(p))
    x = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(b.log_prob(t64(x)).numpy(), x * np.log(p) + (1 - x) * np.log1p(-p), rtol=1e-10)
    np.testing.assert_allclose(b.entropy().numpy(), -(p * np.log(p) + (1 - p) * np.log1p(-p)), rtol=1e-10)
    np.testing.assert_allclose(Bernoulli(logits=b.logits).probs.numpy(), p, rtol=1e-12)
    mode = b.mode.numpy()
    assert mode[0] == 0 and np.isnan(mode[1]) and mode[2] == 1
    u = Uniform(t64(LOW), t64(HIGH))
    width = np.array(HIGH) - np.array(LOW)
    np.testing.assert_allclose(u.log_prob(t64([0.0, 0.25, 2.0])).numpy(), -np.log(width))
    np.testing.assert_allclose(u.entropy().numpy(), np.log(width))
    np.testing.assert_allclose(u.cdf(t64([0.0, 0.25, 3.5])).numpy(), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(u.variance.numpy(), width**2 / 12)


def test_independent_sums_the_reinterpreted_dims():
    base = Normal(t64([LOC, SCALE]), t64([SCALE, SCALE]))  # batch (2, 3)
    d = Independent(base, 1)
    assert (d.batch_shape, d.event_shape) == ((2,), (3,))
    x = t64([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    np.testing.assert_allclose(d.log_prob(x).numpy(), base.log_prob(x).numpy().sum(-1))
    np.testing.assert_allclose(d.entropy().numpy(), base.entropy().numpy().sum(-1))
    assert repr(d.support) == "IndependentConstraint(Real(), 1)" and d.has_rsample
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        Independent(base, 3)


def test_kl_divergences_are_the_closed_forms():
    p, q = Normal(t64(LOC), t64(SCALE)), Normal(t64([0.0, 0.0, 0.0]), t64([1.0, 2.0, 0.5]))
    m1, s1, m2, s2 = (np.array(v) for v in (LOC, SCALE, [0.0, 0.0, 0.0], [1.0, 2.0, 0.5]))
    want = np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    np.testing.assert_allclose(kl_divergence(p, q).numpy(), want, rtol=1e-12)
    cp, cq = Categorical(probs=t64([0.5, 0.5, 0.0])), Categorical(probs=t64([0.25, 0.25, 0.5]))
    assert kl_divergence(cp, cq).item() == pytest.approx(math.log(2))
    assert kl_divergence(cq, cp).item() == math.inf  # q puts mass where p has none
    assert kl_divergence(Uniform(0.0, 1.0), Uniform(-1.0, 3.0)).item() == pytest.approx(math.log(4))
    assert kl_divergence(Uniform(-1.0, 3.0), Uniform(0.0, 1.0)).item() == math.inf
    bp, bq = Bernoulli(t64([0.0, 0.3])), Bernoulli(t64([0.5, 1.0]))
    np.testing.assert_allclose(kl_divergence(bp, bq).numpy(), [math.log(2), math.inf])
    ip, iq = Independent(p, 1), Independent(q, 1)
    assert kl_divergence(ip, iq).item() == pytest.approx(want.sum())


def test_kl_dispatch_finds_the_most_specific_registered_pair():
    class Wide(Normal):
        pass

    assert kl_divergence(Wide(0.0, 1.0), Normal(1.0, 1.0)).item() == pytest.approx(0.5)
    try:
        @register_kl(Wide, Normal)
        def _wide(p, q):
            return gg.tensor(-1.0)

        assert kl_divergence(Wide(0.0, 1.0), Normal(1.0, 1.0)).item() == -1.0
        assert kl_divergence(Normal(0.0, 1.0), Wide(1.0, 1.0)).item() == pytest.approx(0.5)
    finally:
        from gpugrad.distributions import kl

        del kl._KL_REGISTRY[Wide, Normal]
    with pytest.raises(NotImplementedError, match="Normal and q type Categorical"):
        kl_divergence(Normal(0.0, 1.0), Categorical(logits=t64([0.0, 1.0])))
    assert kl_divergence(Normal(0.0, 1.0), Uniform(0.0, 1.0)).item() == math.inf  # registered, as PyTorch's
    with pytest.raises(TypeError, match="expected classes"):
        register_kl(3, Normal)  # not a class at all (PyTorch raises TypeError too)


def test_kl_registers_a_library_base_class_mixed_into_distributions():
    from gpugrad.distributions import kl

    class LibraryBase:  # pyro's own Distribution base, which is no gpugrad Distribution
        pass

    class Point(LibraryBase, Normal):
        pass

    register_kl(LibraryBase, Normal)(lambda p, q: gg.tensor(7.0))
    try:
        assert kl_divergence(Point(0.0, 1.0), Normal(0.0, 1.0)).item() == 7.0
        assert kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)).item() == pytest.approx(0.5)  # Normal's own
    finally:
        del kl._KL_REGISTRY[LibraryBase, Normal]


def test_kl_registration_of_any_class_as_pytorch():
    torch = pytest.importorskip("torch")
    from torch.distributions import kl as tkl

    class LibraryBase:
        pass

    for register, normal in ((tkl.register_kl, torch.distributions.Normal), (register_kl, Normal)):
        register(LibraryBase, normal)(lambda p, q: None)  # accepted by both
        with pytest.raises(TypeError):
            register(3, normal)
    del tkl._KL_REGISTRY[LibraryBase, torch.distributions.Normal]
    tkl._KL_MEMOIZE.clear()
    from gpugrad.distributions import kl

    del kl._KL_REGISTRY[LibraryBase, Normal]


# Gradients ------------------------------------------------------------------------------------------------

def test_log_probs_entropies_and_kls_have_their_derivatives():
    x = t64([0.1, -2.0, 4.0])
    assert gradcheck(lambda m, s: Normal(m, s).log_prob(x), (t64(LOC, True), t64(SCALE, True)))
    assert gradcheck(lambda s: Normal(0.0, s).entropy(), (t64(SCALE, True),))
    assert gradcheck(lambda z: Categorical(logits=z).log_prob(gg.tensor([2, 0])), (t64(LOGITS, True),))
    assert gradcheck(lambda z: Categorical(logits=z).entropy(), (t64(LOGITS, True),))
    assert gradcheck(lambda p: Bernoulli(p).log_prob(t64([1.0, 0.0, 1.0])), (t64(PROBS, True),))
    assert gradcheck(lambda z: Bernoulli(logits=z).entropy(), (t64([0.3, -2.0, 1.0], True),))
    assert gradcheck(lambda a, b: Uniform(a, b).log_prob(t64([0.0, 0.25, 3.0])), (t64(LOW, True), t64(HIGH, True)))
    assert gradcheck(lambda m, s: kl_divergence(Normal(m, s), Normal(0.5, 2.0)), (t64(LOC, True), t64(SCALE, True)))


def test_rsample_is_reparameterised_and_sample_is_not():
    loc, scale = t64(LOC, True), t64(SCALE, True)
    gg.manual_seed(0)
    z = Normal(loc, scale).rsample((5,))
    z.sum().backward()
    eps = (z.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(loc.grad.numpy(), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-12)
    assert not Normal(loc, scale).sample().requires_grad
    low, high = t64(LOW, True), t64(HIGH, True)
    u = Uniform(low, high).rsample()
    u.sum().backward()
    np.testing.assert_allclose(high.grad.numpy() + low.grad.numpy(), [1.0, 1.0, 1.0])


# Sampling ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sample_shape", [(), (3,), (2, 4)])
def test_samples_have_sample_batch_and_event_shape(sample_shape):
    cases = [(Normal(t64(LOC), t64(SCALE)), (3,)), (Uniform(0.0, 1.0), ()), (Bernoulli(t64(PROBS)), (3,)),
             (Categorical(logits=t64(LOGITS)), (2,)), (Independent(Normal(t64(LOC), t64(SCALE)), 1), (3,))]
    for d, batch_and_event in cases:
        assert d.sample(sample_shape).shape == sample_shape + batch_and_event, d
    assert Categorical(logits=t64(LOGITS)).sample(sample_shape).dtype == gg.int64


def test_samples_follow_their_distributions():
    gg.manual_seed(1)
    n = 20000
    z = Normal(t64(LOC), t64(SCALE)).sample((n,)).numpy()
    np.testing.assert_allclose(z.mean(0), LOC, atol=4 * max(SCALE) / math.sqrt(n))
    np.testing.assert_allclose(z.std(0), SCALE, rtol=0.03)
    u = Uniform(t64(LOW), t64(HIGH)).sample((n,)).numpy()
    assert (u >= LOW).all() and (u < HIGH).all()
    np.testing.assert_allclose(u.mean(0), (np.array(LOW) + HIGH) / 2, atol=0.05)
    b = Bernoulli(t64(PROBS)).sample((n,)).numpy()
    np.testing.assert_allclose(b.mean(0), PROBS, atol=0.02)
    c = Categorical(probs=t64([0.1, 0.6, 0.3])).sample((n,)).numpy()
    np.testing.assert_allclose(np.bincount(c, minlength=3) / n, [0.1, 0.6, 0.3], atol=0.02)


# Argument checks ---------------------------------------------------------------------------------------------

def test_invalid_parameters_and_values_raise_as_pytorchs():
    with pytest.raises(ValueError, match="parameter scale .* GreaterThan"):
        Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="parameter loc"):
        Normal(t64([math.nan]), 1.0)
    with pytest.raises(ValueError, match="must be a Tensor"):
        Normal(0.0, 1.0).log_prob(0.5)
    with pytest.raises(ValueError, match="not broadcastable"):
        Normal(t64(LOC), 1.0).log_prob(t64([1.0, 2.0]))
    with pytest.raises(ValueError, match="within the support"):
        Uniform(0.0, 1.0).log_prob(t64(2.0))
    with pytest.raises(ValueError, match="within the support"):
        Bernoulli(0.5).log_prob(t64(0.5))
    with pytest.raises(ValueError, match="within the support"):
        Categorical(logits=t64([0.0, 1.0])).log_prob(gg.tensor(2))
    with pytest.raises(ValueError, match="Simplex"):
        Categorical(probs=t64([0.5, -0.5, 1.0]))
    with pytest.raises(ValueError, match="not both"):
        Categorical(probs=t64([0.5, 0.5]), logits=t64([0.0, 0.0]))
    with pytest.raises(ValueError, match="not both"):
        Bernoulli()
    with pytest.raises(ValueError, match="low>= high"):
        Uniform(1.0, 1.0)
    assert math.isnan(Normal(0.0, -1.0, validate_args=False).log_prob(t64(0.0)).item())
    before = Distribution._validate_args
    try:
        Distribution.set_default_validate_args(False)
        assert Uniform(0.0, 1.0).log_prob(t64(2.0)).item() == -math.inf
    finally:
        Distribution.set_default_validate_args(before)
    with pytest.raises(ValueError):
        Distribution.set_default_validate_args("yes")


def test_module_paths_and_reprs_are_pytorchs():
    from gpugrad.distributions.categorical import Categorical as C
    from gpugrad.distributions.normal import Normal as N

    assert (C, N) == (Categorical, Normal) and gg.distributions.kl.kl_divergence is kl_divergence
    assert repr(Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(Uniform(t64(LOW), t64(HIGH))) == "Uniform(low: torch.Size([3]), high: torch.Size([3]))"
    assert [repr(c) for c in (constraints.positive, constraints.unit_interval, constraints.simplex,
                              constraints.integer_interval(0, 2), constraints.real_vector)] == [
        "GreaterThan(lower_bound=0.0)", "Interval(lower_bound=0.0, upper_bound=1.0)", "Simplex()",
        "IntegerInterval(lower_bound=0, upper_bound=2)", "IndependentConstraint(Real(), 1)"]


# The gamma family, Exponential, Laplace, Poisson, OneHotCategorical ------------------------------------------

def test_gamma_family_log_probs_and_entropies_are_the_closed_forms():
    a, b, x = 2.5, 1.5, 0.7
    gamma_lp = a * math.log(b) + (a - 1) * math.log(x) - b * x - math.lgamma(a)
    assert Gamma(t64(a), t64(b)).log_prob(t64(x)).item() == pytest.approx(gamma_lp, rel=1e-13)
    beta_lp = (a - 1) * math.log(x) + (b - 1) * math.log(1 - x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    assert Beta(t64(a), t64(b)).log_prob(t64(x)).item() == pytest.approx(beta_lp, rel=1e-13)
    conc, point = [1.5, 2.0, 3.5], [0.2, 0.3, 0.5]
    dir_lp = sum((c - 1) * math.log(v) for c, v in zip(conc, point)) + math.lgamma(sum(conc)) - sum(map(math.lgamma, conc))
    assert Dirichlet(t64(conc)).log_prob(t64(point)).item() == pytest.approx(dir_lp, rel=1e-13)
    assert Poisson(t64(3.0)).log_prob(t64(2.0)).item() == pytest.approx(2 * math.log(3) - 3 - math.log(2), rel=1e-13)
    assert Exponential(t64(2.0)).log_prob(t64(0.5)).item() == pytest.approx(math.log(2) - 1, rel=1e-13)
    assert Laplace(t64(1.0), t64(2.0)).log_prob(t64(0.0)).item() == pytest.approx(-math.log(4) - 0.5, rel=1e-13)
    # Entropy of Gamma(1, rate) is that of Exponential(rate); Beta(1, 1) and Dirichlet(1, 1, 1) are flat.
    assert Gamma(t64(1.0), t64(2.0)).entropy().item() == pytest.approx(Exponential(t64(2.0)).entropy().item(), rel=1e-13)
    assert Beta(t64(1.0), t64(1.0)).entropy().item() == pytest.approx(0.0, abs=1e-14)
    assert Dirichlet(t64([1.0, 1.0, 1.0])).entropy().item() == pytest.approx(-math.log(2), rel=1e-13)
    hot = OneHotCategorical(probs=t64([0.2, 0.3, 0.5]))
    assert hot.log_prob(t64([0.0, 0.0, 1.0])).item() == pytest.approx(math.log(0.5))
    assert hot.event_shape == (3,) and hot.sample((4,)).shape == (4, 3) and hot.mode.tolist() == [0.0, 0.0, 1.0]


def test_gamma_family_gradients_and_kls():
    x = t64([0.3, 0.6, 0.9])
    assert gradcheck(lambda a, b: Gamma(a, b).log_prob(x), (t64([0.7, 2.0, 3.0], True), t64([1.0, 0.5, 2.0], True)))
    assert gradcheck(lambda a, b: Gamma(a, b).entropy(), (t64([0.7, 2.0, 3.0], True), t64([1.0, 0.5, 2.0], True)))
    assert gradcheck(lambda a, b: Beta(a, b).log_prob(x), (t64([0.7, 2.0, 3.0], True), t64([1.0, 0.5, 2.0], True)))
    assert gradcheck(lambda c: Dirichlet(c).entropy(), (t64([[0.7, 2.0, 3.0]], True),))
    assert gradcheck(lambda r: Poisson(r).log_prob(t64([0.0, 2.0, 5.0])), (t64([0.5, 2.0, 4.0], True),))
    assert gradcheck(lambda a: kl_divergence(Gamma(a, 2.0), Gamma(1.5, 1.0)), (t64([0.7, 2.0], True),))
    # KL against Monte Carlo: E_p[log p - log q] over many draws.
    gg.manual_seed(2)
    for p, q in ((Gamma(t64(2.0), t64(1.5)), Gamma(t64(3.0), t64(1.0))), (Beta(t64(2.0), t64(3.0)), Beta(t64(1.0), t64(1.5))),
                 (Exponential(t64(2.0)), Exponential(t64(0.5))), (Laplace(t64(0.0), t64(1.0)), Laplace(t64(1.0), t64(2.0)))):
        z = p.sample((40000,))
        estimate = (p.log_prob(z) - q.log_prob(z)).mean().item()
        assert kl_divergence(p, q).item() == pytest.approx(estimate, abs=0.03), type(p).__name__


def test_gamma_family_samples_follow_their_distributions():
    gg.manual_seed(3)
    n = 20000
    g = Gamma(t64([0.5, 4.0]), t64([2.0, 1.0])).sample((n,)).numpy()
    np.testing.assert_allclose(g.mean(0), [0.25, 4.0], rtol=0.05)
    np.testing.assert_allclose(g.var(0), [0.125, 4.0], rtol=0.1)
    bt = Beta(t64(2.0), t64(5.0)).sample((n,)).numpy()
    assert bt.mean() == pytest.approx(2 / 7, rel=0.03) and ((bt > 0) & (bt < 1)).all()
    d = Dirichlet(t64([1.0, 2.0, 3.0])).sample((n,)).numpy()
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d.mean(0), [1 / 6, 2 / 6, 3 / 6], atol=0.01)
    p = Poisson(t64([0.5, 6.0])).sample((n,)).numpy()
    np.testing.assert_allclose(p.mean(0), [0.5, 6.0], rtol=0.05)
    e = Exponential(t64(2.0)).rsample((n,)).numpy()
    assert e.mean() == pytest.approx(0.5, rel=0.03) and (e >= 0).all()
    lp = Laplace(t64(1.0), t64(2.0)).rsample((n,)).numpy()
    assert np.median(lp) == pytest.approx(1.0, abs=0.06) and lp.var() == pytest.approx(8.0, rel=0.06)


def test_gamma_draws_are_reparameterised_through_their_cdf():
    """d draw / d a holds the draw's CDF level fixed: checked against solving P(a + h, x') = P(a, x)."""
    from gpugrad import _gamma

    for a in (0.3, 1.0, 4.0, 40.0):
        for x in (0.05 * a, 0.7 * a, a, 1.6 * a + 1):
            level = _gamma.gammainc_scalar(a, x, False)
            h = 1e-6 * a

            def shifted(sign):
                lo, hi = 0.0, 10 * (a + 10)
                for _ in range(200):  # bisection on the monotone CDF
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if _gamma.gammainc_scalar(a + sign * h, mid, False) < level else (lo, mid)
                return 0.5 * (lo + hi)

            want = (shifted(1) - shifted(-1)) / (2 * h)
            assert _gamma.standard_gamma_grad_scalar(a, x) == pytest.approx(want, rel=1e-5)
    gg.manual_seed(6)
    conc, rate = t64([0.5, 3.0], True), t64([2.0, 0.5], True)
    z = Gamma(conc, rate).rsample((3,))
    z.sum().backward()
    assert conc.grad.abs().min().item() > 0
    np.testing.assert_allclose(rate.grad.numpy(), -(z.detach() / rate.detach()).sum(0).numpy())  # z = g / rate
    for dist in (Beta(t64(2.0, True), t64(1.0)), Dirichlet(t64([1.0, 2.0], True))):
        assert dist.has_rsample and dist.rsample((2,)).requires_grad


# MultivariateNormal ------------------------------------------------------------------------------------------

def test_multivariate_normal_is_its_closed_form_given_any_of_its_matrices():
    from gpugrad.distributions import MultivariateNormal

    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 3))
    cov, loc, x = a @ a.T + np.eye(3), rng.standard_normal(3), rng.standard_normal((5, 3))
    diff = x - loc
    want = -0.5 * (np.einsum("bi,ij,bj->b", diff, np.linalg.inv(cov), diff) + 3 * math.log(2 * math.pi)
                   + np.linalg.slogdet(cov)[1])
    for given in ({"covariance_matrix": cov}, {"precision_matrix": np.linalg.inv(cov)},
                  {"scale_tril": np.linalg.cholesky(cov)}):
        d = MultivariateNormal(t64(loc), **{k: t64(v) for k, v in given.items()})
        np.testing.assert_allclose(d.log_prob(t64(x)).numpy(), want, rtol=1e-12)
        np.testing.assert_allclose(d.covariance_matrix.numpy(), cov, rtol=1e-12)
        np.testing.assert_allclose(d.precision_matrix.numpy(), np.linalg.inv(cov), rtol=1e-10, atol=1e-12)
        assert d.entropy().item() == pytest.approx(0.5 * (3 * (1 + math.log(2 * math.pi)) + np.linalg.slogdet(cov)[1]))
    assert (d.batch_shape, d.event_shape) == ((), (3,)) and d.rsample((4, 2)).shape == (4, 2, 3)


def test_multivariate_normal_samples_gradients_and_checks():
    from gpugrad.distributions import MultivariateNormal

    gg.manual_seed(5)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    z = MultivariateNormal(t64([1.0, -1.0]), covariance_matrix=t64(cov)).sample((40000,)).numpy()
    np.testing.assert_allclose(z.mean(0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(np.cov(z.T), cov, atol=0.05)
    factor = t64([[1.2, 0.0], [0.3, 0.8]], True)
    assert gradcheck(lambda m, f: MultivariateNormal(m, scale_tril=f.tril()).log_prob(t64([[0.5, 0.2], [-1.0, 2.0]])),
                     (t64([0.1, -0.3], True), factor))
    with pytest.raises(ValueError, match="positive_definite|PositiveDefinite"):
        MultivariateNormal(t64([0.0, 0.0]), covariance_matrix=t64([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="Exactly one"):
        MultivariateNormal(t64([0.0]), covariance_matrix=t64([[1.0]]), scale_tril=t64([[1.0]]))


# Transforms -------------------------------------------------------------------------------------------------

def test_tanh_squashed_normal_as_sac_writes_it_and_the_transform_cache():
    from gpugrad.distributions import LogNormal, TanhTransform, TransformedDistribution

    loc, scale = t64([0.3, -2.0], True), t64([0.5, 1.5], True)
    squash = TanhTransform(cache_size=1)
    policy = TransformedDistribution(Normal(loc, scale), [squash])
    gg.manual_seed(7)
    action = policy.rsample()
    x = squash.inv(action)
    assert squash.inv(action) is x  # the cached pre-image, exact even where tanh is 1 - 1e-16
    manual = Normal(loc, scale).log_prob(x) - (1 - action.pow(2)).log()
    np.testing.assert_allclose(policy.log_prob(action).detach().numpy(), manual.detach().numpy(), rtol=1e-8)
    policy.log_prob(action).sum().backward()
    assert loc.grad is not None and scale.grad is not None
    ln = LogNormal(t64(0.3), t64(0.5))
    assert ln.log_prob(t64(1.5)).item() == pytest.approx(
        -math.log(1.5) - math.log(0.5 * math.sqrt(2 * math.pi)) - (math.log(1.5) - 0.3) ** 2 / 0.5, rel=1e-12)
    assert kl_divergence(ln, LogNormal(t64(0.0), t64(1.0))).item() == pytest.approx(
        kl_divergence(Normal(t64(0.3), t64(0.5)), Normal(t64(0.0), t64(1.0))).item())


def test_every_distribution_has_a_docstring():
    # as PyTorch's: pyro builds its wrappers' docstrings from them (str.lstrip on each)
    import inspect

    import gpugrad.distributions as D

    classes = [getattr(D, n) for n in dir(D) if inspect.isclass(getattr(D, n)) and issubclass(getattr(D, n), D.Distribution)]
    assert len(classes) > 30
    assert [c.__name__ for c in classes if not (c.__dict__.get("__doc__") or "").strip()] == []


def _subclasses(lib):
    D = lib.distributions

    class Plain(D.Dirichlet):  # no __init__ of its own: the inherited expand serves it
        pass

    class OwnInit(D.Dirichlet):  # an __init__ of its own, no expand: refused, as pyro's NaiveDirichlet
        def __init__(self, concentration, validate_args=None):
            super().__init__(concentration, validate_args=validate_args)
            self.extra = concentration * 2

    class OwnInitAndExpand(OwnInit):
        def expand(self, batch_shape, _instance=None):
            new = self._get_checked_instance(OwnInitAndExpand, _instance)
            new.extra = self.extra.expand(*batch_shape, 3)
            return D.Dirichlet.expand(self, batch_shape, _instance=new)

    return Plain, OwnInit, OwnInitAndExpand


def test_expand_refuses_a_subclass_with_its_own_init_and_no_expand():
    Plain, OwnInit, OwnInitAndExpand = _subclasses(gg)
    c = gg.tensor([1.0, 2.0, 3.0])
    wide = Plain(c).expand((2,))
    assert type(wide) is Plain and wide.batch_shape == (2,) and wide.concentration.shape == (2, 3)
    with pytest.raises(NotImplementedError, match="Subclass OwnInit of Dirichlet that defines a custom __init__"):
        OwnInit(c).expand((2,))
    both = OwnInitAndExpand(c).expand((4,))
    assert both.batch_shape == (4,) and both.extra.shape == (4, 3) and both.sample().shape == (4, 3)
    assert Normal(0.0, 1.0).expand((5,)).sample().shape == (5,)  # gpugrad's own classes expand as before


def test_expand_refusals_match_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (torch, gg):
        Plain, OwnInit, OwnInitAndExpand = _subclasses(lib)
        c = lib.tensor([1.0, 2.0, 3.0])
        assert tuple(Plain(c).expand((2,)).batch_shape) == (2,)
        assert tuple(OwnInitAndExpand(c).expand((4,)).batch_shape) == (4,)
        with pytest.raises(NotImplementedError):
            OwnInit(c).expand((2,))
