"""The distributions added after the first set (Weibull, Pareto, Kumaraswamy, InverseGamma, FisherSnedecor,
Multinomial, NegativeBinomial, the relaxed ones, ContinuousBernoulli, LowRankMultivariateNormal, VonMises,
LogisticNormal, GeneralizedPareto) by their samples' statistics and their reparameterised gradients; the
ExponentialFamily base's Bregman entropy and KL; and every KL pair PyTorch registers, against PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.distributions import (ContinuousBernoulli, FisherSnedecor, GeneralizedPareto, InverseGamma,
                                   Kumaraswamy, LogisticNormal, LowRankMultivariateNormal, Multinomial,
                                   NegativeBinomial, OneHotCategoricalStraightThrough, Pareto, RelaxedBernoulli,
                                   RelaxedOneHotCategorical, VonMises, Weibull)


def t64(values, requires_grad=False):
    return gg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# name: (constructor from float64 parameter tensors, the parameters)
SAMPLED = {
    "weibull": (lambda p: Weibull(p[0], p[1]), ([1.0, 2.0], [1.5, 3.0])),
    "pareto": (lambda p: Pareto(p[0], p[1]), ([1.0, 2.0], [5.0, 6.0])),
    "kumaraswamy": (lambda p: Kumaraswamy(p[0], p[1]), ([2.0, 0.7], [3.0, 1.5])),
    "inverse gamma": (lambda p: InverseGamma(p[0], p[1]), ([5.0, 6.0], [2.0, 1.0])),
    "fisher snedecor": (lambda p: FisherSnedecor(p[0], p[1]), ([5.0, 10.0], [12.0, 20.0])),
    "negative binomial": (lambda p: NegativeBinomial(p[0], probs=p[1]), ([3.0, 10.0], [0.3, 0.6])),
    "multinomial": (lambda p: Multinomial(10, probs=p[0]), ([0.2, 0.3, 0.5],)),
    "continuous bernoulli": (lambda p: ContinuousBernoulli(p[0]), ([0.2, 0.5, 0.9],)),
    "low rank multivariate normal": (lambda p: LowRankMultivariateNormal(p[0], p[1], p[2]),
                                     ([1.0, -1.0], [[1.0, 0.3], [0.5, -0.4]], [0.5, 0.8])),
    "generalized pareto": (lambda p: GeneralizedPareto(p[0], p[1], p[2]), ([0.0, 1.0, -1.0], [1.0, 0.5, 2.0],
                                                                            [0.1, -0.2, 0.0])),
}
N = 6000


@pytest.mark.parametrize("case", list(SAMPLED))
def test_samples_have_the_distributions_mean_and_variance(case):
    """Sample mean and variance within 5 standard errors (the errors estimated from the same draws)."""
    make, params = SAMPLED[case]
    d = make([t64(p) for p in params])
    gg.manual_seed(11)
    x = d.sample((N,)).numpy()
    assert x.shape == (N,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert bool(d.support.check(gg.tensor(x)).all())
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * np.sqrt(var / N))
    sq = (x - mean) ** 2
    np.testing.assert_array_less(np.abs(sq.mean(0) - var), 5 * sq.std(0) / math.sqrt(N))


REPARAMETERISED = ["weibull", "pareto", "kumaraswamy", "inverse gamma", "fisher snedecor", "continuous bernoulli",
                   "low rank multivariate normal", "generalized pareto"]


@pytest.mark.parametrize("case", REPARAMETERISED)
def test_rsample_gradients_are_those_of_the_second_moment(case):
    """d/dtheta of the sample mean of x^2 over reparameterised draws estimates d/dtheta (variance + mean^2)."""
    make, params = SAMPLED[case]
    if case == "generalized pareto":  # at concentration 0 exactly the draws do not depend on it (as PyTorch)
        params = params[:2] + ([0.1, -0.2, -0.05],)
    if case == "continuous bernoulli":  # nor near probs 1/2, where PyTorch's icdf is the identity
        params = ([0.2, 0.7, 0.9],)
    ps = [t64(p, True) for p in params]
    d = make(ps)
    assert d.has_rsample
    gg.manual_seed(12)
    x = d.rsample((N,))
    estimate = gg.autograd.grad(x.pow(2).mean(0).sum(), ps, retain_graph=True)
    exact = gg.autograd.grad((d.variance + d.mean.pow(2)).sum(), ps)
    for e, g in zip(estimate, exact):
        np.testing.assert_allclose(e.numpy(), g.numpy(), rtol=0.12, atol=0.03)


def test_multinomial_and_negative_binomial_samples():
    gg.manual_seed(13)
    counts = Multinomial(7, logits=t64([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])).sample((5,))
    assert counts.shape == (5, 2, 3) and counts.dtype == gg.float64
    np.testing.assert_array_equal(counts.sum(-1).numpy(), 7.0)
    nb = NegativeBinomial(t64([2.0]), logits=t64([0.3])).sample((100,)).numpy()
    assert (nb >= 0).all() and (nb == np.round(nb)).all()


def test_relaxed_distributions_sample_their_relaxations():
    gg.manual_seed(14)
    temperature, logits = t64(0.5), t64([-1.0, 0.5, 2.0])
    y = RelaxedBernoulli(temperature, logits=logits).sample((N,)).numpy()
    assert ((y > 0) & (y < 1)).all()
    z = np.log(y) - np.log1p(-y)  # logit: (logistic noise + logits) / temperature
    np.testing.assert_allclose(z.mean(0), logits.numpy() / 0.5, atol=5 * math.pi / math.sqrt(3) / 0.5 / math.sqrt(N))
    np.testing.assert_allclose(z.var(0), (math.pi / 0.5) ** 2 / 3, rtol=0.1)
    probs = np.array([0.1, 0.6, 0.3])
    s = RelaxedOneHotCategorical(t64(0.3), probs=t64(probs)).sample((N,)).numpy()
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-12)
    # the Gumbel-max trick: the argmax of a relaxed draw is categorical at any temperature
    np.testing.assert_allclose(np.bincount(s.argmax(-1), minlength=3) / N, probs, atol=0.025)


def test_relaxed_and_straight_through_rsample_gradients():
    gg.manual_seed(15)
    logits = t64([0.2, -0.4, 1.0], True)
    d = OneHotCategoricalStraightThrough(logits=logits)
    w = t64([0.3, -1.2, 0.7])
    sample = d.rsample((4,))
    assert ((sample.detach() == 0) | (sample.detach() == 1)).all() and sample.requires_grad
    (g,) = gg.autograd.grad((sample * w).sum(), [logits], retain_graph=True)
    (want,) = gg.autograd.grad((4 * d.probs * w).sum(), [logits])  # straight through: d sample = d probs
    np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=1e-12)
    temperature = t64(0.7, True)
    for dist in (RelaxedBernoulli(temperature, logits=logits), RelaxedOneHotCategorical(temperature, logits=logits)):
        y = dist.rsample((3,))
        grads = gg.autograd.grad(y.pow(2).sum(), [logits, temperature], retain_graph=True)
        assert all(bool(gg.isfinite(g).all()) and g.abs().sum().item() > 0 for g in grads)


def test_von_mises_samples_follow_the_circular_moments():
    gg.manual_seed(16)
    loc, kappa = t64([0.5, -2.5, 3.0]), t64([0.5, 4.0, 1e-6])
    d = VonMises(loc, kappa)
    x = d.sample((N,)).numpy()
    assert x.dtype == np.float64 and (x >= -math.pi).all() and (x < math.pi).all()
    cos, sin = np.cos(x - loc.numpy()), np.sin(x - loc.numpy())
    # E[cos(x - loc)] = I1(kappa) / I0(kappa) = 1 - circular variance; E[sin(x - loc)] = 0
    np.testing.assert_allclose(cos.mean(0), 1 - d.variance.numpy(), atol=5 / math.sqrt(2 * N) + 1e-3)
    np.testing.assert_allclose(sin.mean(0), 0.0, atol=5 / math.sqrt(2 * N))
    assert VonMises(t64(0.0), t64(1.0)).sample((3,)).shape == (3,)
    assert VonMises(gg.tensor([0.0]), gg.tensor([2.0])).sample().dtype == gg.float32


def test_logistic_normal_draws_are_stick_broken_normals():
    gg.manual_seed(17)
    loc, scale = t64([0.5, -1.0]), t64([0.3, 1.2])
    d = LogisticNormal(loc, scale)
    assert (d.batch_shape, d.event_shape) == ((), (3,))
    y = d.rsample((N,))
    np.testing.assert_allclose(y.sum(-1).numpy(), 1.0, rtol=1e-12)
    x = d.transforms[0].inv(y).detach().numpy()  # back to the normal draws
    np.testing.assert_allclose(x.mean(0), loc.numpy(), atol=5 * 1.2 / math.sqrt(N))
    np.testing.assert_allclose(x.std(0), scale.numpy(), rtol=0.05)


def test_exponential_family_entropy_and_kl_by_bregman_divergence():
    """The generic ExponentialFamily entropy and KL (autograd on the log normaliser) equal the closed forms."""
    from gpugrad.distributions import (Bernoulli, Beta, Dirichlet, Exponential, ExponentialFamily, Gamma, Normal,
                                       Poisson, kl, kl_divergence)

    pairs = [(Normal(t64([0.3, -1.0]), t64([0.5, 2.0])), Normal(t64([1.0, 0.0]), t64([1.5, 0.7]))),
             (Exponential(t64([0.5, 3.0])), Exponential(t64([2.0, 1.0]))),
             (Gamma(t64([0.7, 4.0]), t64([2.0, 0.5])), Gamma(t64([1.5, 2.0]), t64([1.0, 1.0]))),
             (Bernoulli(t64([0.2, 0.9])), Bernoulli(t64([0.5, 0.4]))),
             (Poisson(t64([0.5, 4.0])), Poisson(t64([2.0, 3.0]))),
             (Beta(t64([0.7, 2.0]), t64([1.5, 3.0])), Beta(t64([2.0, 1.0]), t64([1.0, 0.5]))),
             (Dirichlet(t64([[0.7, 2.0, 1.0]])), Dirichlet(t64([[1.5, 1.0, 3.0]]))),
             (ContinuousBernoulli(t64([0.2, 0.5002])), ContinuousBernoulli(t64([0.7, 0.1])))]
    for p, q in pairs:
        assert isinstance(p, ExponentialFamily)
        np.testing.assert_allclose(kl._kl_expfamily_expfamily(p, q).detach().numpy(),
                                   gg.distributions.kl_divergence(p, q).numpy(),
                                   rtol=1e-9, err_msg=type(p).__name__)
        if type(p) not in (Poisson, Beta, Dirichlet):  # no carrier-measure mean: no Bregman entropy (as PyTorch)
            np.testing.assert_allclose(ExponentialFamily.entropy(p).detach().numpy(), p.entropy().numpy(), rtol=1e-9)
    rate = t64([0.5, 3.0], True)
    (g,) = gg.autograd.grad(ExponentialFamily.entropy(Exponential(rate)).sum(), [rate])
    np.testing.assert_allclose(g.numpy(), -1 / rate.detach().numpy())  # d/d rate (1 - log rate)
    p_rate = t64([0.5, 3.0], True)
    (g,) = gg.autograd.grad(kl._kl_expfamily_expfamily(Exponential(p_rate), Exponential(t64([2.0, 1.0]))).sum(),
                            [p_rate])
    (want,) = gg.autograd.grad(kl_divergence(Exponential(p_rate), Exponential(t64([2.0, 1.0]))).sum(), [p_rate])
    np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="different exponential families"):
        kl._kl_expfamily_expfamily(pairs[0][0], pairs[1][0])
    with pytest.raises(NotImplementedError):
        ExponentialFamily.entropy(Poisson(t64(1.0)))


LOC, SCALE, UNIT = [0.3, -0.5, 1.2], [0.6, 1.4, 2.0], [0.2, 0.5, 0.7]


@pytest.mark.torch
def test_every_kl_pair_pytorch_registers_is_pytorchs():
    """All pairs among these families: the same value and gradients as PyTorch where it has the pair, and
    NotImplementedError where it has none."""
    torch = pytest.importorskip("torch")

    def families(lib):
        D = lib.distributions
        loc, scale, unit = (lib.tensor(v, dtype=lib.float64) for v in (LOC, SCALE, UNIT))
        return {
            "Normal": lambda x: D.Normal(x * loc, scale),
            "Beta": lambda x: D.Beta(x * scale, scale.flip(-1) + 0.5),
            "Exponential": lambda x: D.Exponential(x * scale),
            "Gamma": lambda x: D.Gamma(x * scale + 0.5, scale),
            "Gumbel": lambda x: D.Gumbel(x * loc, scale),
            "Laplace": lambda x: D.Laplace(x * loc, scale),
            "Pareto": lambda x: D.Pareto(x * scale, scale * 2 + 0.5),
            "Uniform": lambda x: D.Uniform(x * unit * 0.5, unit + 0.25),
            "ContinuousBernoulli": lambda x: D.ContinuousBernoulli(x * unit),
            "Bernoulli": lambda x: D.Bernoulli(x * unit),
            "Poisson": lambda x: D.Poisson(x * scale),
            "Binomial": lambda x: D.Binomial(4, x * unit),
            "Cauchy": lambda x: D.Cauchy(x * loc, scale),
        }

    ours, theirs = families(gg), families(torch)
    compared = 0
    for p_name in ours:
        for q_name in ours:
            x, tx = t64(1.0, True), torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
            q_arg, tq_arg = t64(0.9), torch.tensor(0.9, dtype=torch.float64)
            try:
                want = torch.distributions.kl_divergence(theirs[p_name](tx), theirs[q_name](tq_arg))
            except NotImplementedError:
                with pytest.raises(NotImplementedError):
                    gg.distributions.kl_divergence(ours[p_name](x), ours[q_name](q_arg))
                continue
            got = gg.distributions.kl_divergence(ours[p_name](x), ours[q_name](q_arg))
            compared += 1
            np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-8,
                                       err_msg=f"{p_name} || {q_name}")
            if np.isfinite(want.detach().numpy()).any() and want.requires_grad:
                mask = np.isfinite(want.detach().numpy())
                (g,) = gg.autograd.grad((got * gg.tensor(mask * 1.0)).sum(), [x])
                (w,) = torch.autograd.grad((want * torch.tensor(mask * 1.0)).sum(), [tx])
                np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-7, atol=1e-10,
                                           err_msg=f"d KL({p_name} || {q_name})")
    assert compared == 75, compared  # of the 169 pairs, those PyTorch registers (some through a base class)
