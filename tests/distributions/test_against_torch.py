"""gpugrad.distributions against torch.distributions: the same parameters give the same shapes, moments,
log-probabilities, entropies, cdfs, KL divergences and parameter gradients, the same reprs, and the same
errors."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _torch_validates_arguments():
    """PyTorch's argument validation on, as by default: torch._dynamo's first use in the process (a
    torch.compile, flex_attention: tests/nn compares with those) turns it off for every distribution."""
    before = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(True)
    yield
    torch.distributions.Distribution.set_default_validate_args(before)
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(0)
LOC, SCALE = RNG.standard_normal((2, 3)), RNG.uniform(0.5, 2.0, (2, 3))
LOGITS = RNG.standard_normal((2, 4))
PROBS = RNG.uniform(0.05, 0.95, (2, 3))
LOW = RNG.standard_normal(3)
HIGH = LOW + RNG.uniform(0.5, 2.0, 3)

COUNTS = np.array([[1.0, 2.0, 0.0, 2.0], [0.0, 0.0, 5.0, 0.0]])
GP_CONCENTRATION = np.array([[0.2, -0.3, 0.0], [0.6, 0.1, -0.1]])
CB_LOGITS = np.array([[0.2, -1.5, 0.0], [2.0, 0.001, -0.3]])  # 0 and 0.001: inside the Taylor region
COV_FACTOR = RNG.standard_normal((2, 3, 2))


def _eye(lib):
    return lib.eye(3, dtype=lib.float64)


def _simplex(shape):
    x = RNG.uniform(0.2, 1.0, shape)
    return x / x.sum(-1, keepdims=True)


def _temperature(lib, value=0.7):
    return lib.tensor(value, dtype=lib.float64)


# name: (constructor from a library (gpugrad or torch) and its parameter tensors, parameters, values)
CASES = {
    "normal": (lambda lib, p: lib.distributions.Normal(p[0], p[1]), (LOC, SCALE), RNG.standard_normal((2, 3))),
    "normal scalar": (lambda lib, p: lib.distributions.Normal(p[0], 2.0), (np.array(0.5),), RNG.standard_normal(4)),
    "categorical logits": (lambda lib, p: lib.distributions.Categorical(logits=p[0]), (LOGITS,),
                           np.array([[0, 3], [2, 1]])),
    "categorical probs": (lambda lib, p: lib.distributions.Categorical(probs=p[0]), (np.exp(LOGITS),), np.array([1, 2])),
    "bernoulli probs": (lambda lib, p: lib.distributions.Bernoulli(p[0]), (PROBS,),
                        (RNG.uniform(size=(2, 3)) > 0.5) * 1.0),
    "bernoulli logits": (lambda lib, p: lib.distributions.Bernoulli(logits=p[0]), (LOC,),
                         (RNG.uniform(size=(2, 3)) > 0.5) * 1.0),
    "uniform": (lambda lib, p: lib.distributions.Uniform(p[0], p[1]), (LOW, HIGH), (LOW + HIGH) / 2),
    "independent normal": (lambda lib, p: lib.distributions.Independent(lib.distributions.Normal(p[0], p[1]), 1),
                           (LOC, SCALE), RNG.standard_normal((2, 3))),
    "exponential": (lambda lib, p: lib.distributions.Exponential(p[0]), (SCALE,), RNG.uniform(0.1, 3.0, (2, 3))),
    "laplace": (lambda lib, p: lib.distributions.Laplace(p[0], p[1]), (LOC, SCALE), RNG.standard_normal((2, 3))),
    "poisson": (lambda lib, p: lib.distributions.Poisson(p[0]), (SCALE * 3,),
                RNG.integers(0, 8, (2, 3)).astype(np.float64)),
    "gamma": (lambda lib, p: lib.distributions.Gamma(p[0], p[1]), (SCALE * 2, SCALE), RNG.uniform(0.1, 3.0, (2, 3))),
    "beta": (lambda lib, p: lib.distributions.Beta(p[0], p[1]), (SCALE * 2, SCALE), RNG.uniform(0.05, 0.95, (2, 3))),
    "dirichlet": (lambda lib, p: lib.distributions.Dirichlet(p[0]), (SCALE + 0.8,), np.array([0.2, 0.5, 0.3])),
    "one hot categorical": (lambda lib, p: lib.distributions.OneHotCategorical(logits=p[0]), (LOGITS,),
                            np.eye(4)[[1, 3]]),
    "log normal": (lambda lib, p: lib.distributions.LogNormal(p[0], p[1]), (LOC, SCALE), RNG.uniform(0.2, 3.0, (2, 3))),
    "tanh of affine of normal": (
        lambda lib, p: lib.distributions.TransformedDistribution(lib.distributions.Normal(p[0], p[1]), [
            lib.distributions.AffineTransform(0.5, 2.0), lib.distributions.TanhTransform()]),
        (LOC, SCALE), RNG.uniform(-0.9, 0.9, (2, 3))),
    "sigmoid of independent normal": (
        lambda lib, p: lib.distributions.TransformedDistribution(
            lib.distributions.Independent(lib.distributions.Normal(p[0], p[1]), 1), lib.distributions.SigmoidTransform()),
        (LOC, SCALE), RNG.uniform(0.1, 0.9, (2, 3))),
    "cauchy": (lambda lib, p: lib.distributions.Cauchy(p[0], p[1]), (LOC, SCALE), RNG.standard_normal((2, 3))),
    "half cauchy": (lambda lib, p: lib.distributions.HalfCauchy(p[0]), (SCALE,), RNG.uniform(0.1, 3.0, (2, 3))),
    "half normal": (lambda lib, p: lib.distributions.HalfNormal(p[0]), (SCALE,), RNG.uniform(0.1, 3.0, (2, 3))),
    "student t": (lambda lib, p: lib.distributions.StudentT(p[0], p[1], p[2]), (SCALE * 3, LOC, SCALE),
                  RNG.standard_normal((2, 3))),
    "chi2": (lambda lib, p: lib.distributions.Chi2(p[0]), (SCALE * 2,), RNG.uniform(0.1, 4.0, (2, 3))),
    "geometric": (lambda lib, p: lib.distributions.Geometric(p[0]), (PROBS,), RNG.integers(0, 5, (2, 3)).astype(np.float64)),
    "binomial": (lambda lib, p: lib.distributions.Binomial(5, logits=p[0]), (LOC,),
                 RNG.integers(0, 6, (2, 3)).astype(np.float64)),
    "gumbel": (lambda lib, p: lib.distributions.Gumbel(p[0], p[1]), (LOC, SCALE), RNG.standard_normal((2, 3))),
    "mixture of normals": (
        lambda lib, p: lib.distributions.MixtureSameFamily(lib.distributions.Categorical(logits=p[0]),
                                                           lib.distributions.Normal(p[1], p[2])),
        (LOGITS[:, :3], LOC, SCALE), RNG.standard_normal(2)),
    "multivariate normal covariance": (
        lambda lib, p: lib.distributions.MultivariateNormal(p[0], covariance_matrix=p[1] @ p[1].mT + 0.5 * _eye(lib)),
        (LOC, RNG.standard_normal((3, 3))), RNG.standard_normal((4, 2, 3))),
    "multivariate normal scale_tril": (
        lambda lib, p: lib.distributions.MultivariateNormal(p[0], scale_tril=p[1].tril(-1) + 1.5 * _eye(lib)),
        (LOC, RNG.standard_normal((2, 3, 3))), RNG.standard_normal((2, 3))),
    "multivariate normal precision": (
        lambda lib, p: lib.distributions.MultivariateNormal(p[0][0], precision_matrix=p[1] @ p[1].mT + _eye(lib)),
        (LOC, RNG.standard_normal((3, 3))), RNG.standard_normal(3)),
    "weibull": (lambda lib, p: lib.distributions.Weibull(p[0], p[1]), (SCALE, SCALE * 2), RNG.uniform(0.1, 3.0, (2, 3))),
    "pareto": (lambda lib, p: lib.distributions.Pareto(p[0], p[1]), (SCALE, SCALE * 2 + 0.5),
               SCALE + RNG.uniform(0.1, 2.0, (2, 3))),
    "kumaraswamy": (lambda lib, p: lib.distributions.Kumaraswamy(p[0], p[1]), (SCALE * 2, SCALE),
                    RNG.uniform(0.05, 0.95, (2, 3))),
    "inverse gamma": (lambda lib, p: lib.distributions.InverseGamma(p[0], p[1]), (SCALE * 2 + 0.5, SCALE),
                      RNG.uniform(0.1, 3.0, (2, 3))),
    "fisher snedecor": (lambda lib, p: lib.distributions.FisherSnedecor(p[0], p[1]), (SCALE * 3, SCALE * 4 + 3),
                        RNG.uniform(0.1, 3.0, (2, 3))),
    "multinomial logits": (lambda lib, p: lib.distributions.Multinomial(5, logits=p[0]), (LOGITS,), COUNTS),
    "multinomial probs": (lambda lib, p: lib.distributions.Multinomial(5, probs=p[0]), (np.exp(LOGITS),), COUNTS[0]),
    "negative binomial logits": (lambda lib, p: lib.distributions.NegativeBinomial(p[0], logits=p[1]),
                                 (SCALE * 2, LOC), RNG.integers(0, 8, (2, 3)).astype(np.float64)),
    "negative binomial probs": (lambda lib, p: lib.distributions.NegativeBinomial(p[0], probs=p[1]),
                                (SCALE * 2, PROBS), RNG.integers(0, 8, (2, 3)).astype(np.float64)),
    "logit relaxed bernoulli": (lambda lib, p: lib.distributions.relaxed_bernoulli.LogitRelaxedBernoulli(_temperature(lib), probs=p[0]),
                                (PROBS,), RNG.standard_normal((2, 3))),
    "relaxed bernoulli": (lambda lib, p: lib.distributions.RelaxedBernoulli(_temperature(lib), logits=p[0]),
                          (LOC,), RNG.uniform(0.05, 0.95, (2, 3))),
    "exp relaxed categorical": (
        lambda lib, p: lib.distributions.relaxed_categorical.ExpRelaxedCategorical(_temperature(lib, 1.3), logits=p[0]), (LOGITS,),
        np.log(_simplex((2, 4)))),
    "relaxed one hot categorical": (
        lambda lib, p: lib.distributions.RelaxedOneHotCategorical(_temperature(lib, 0.5), probs=p[0]),
        (np.exp(LOGITS),), _simplex((3, 2, 4))),
    "one hot categorical straight through": (
        lambda lib, p: lib.distributions.OneHotCategoricalStraightThrough(logits=p[0]), (LOGITS,), np.eye(4)[[2, 0]]),
    "continuous bernoulli probs": (lambda lib, p: lib.distributions.ContinuousBernoulli(p[0]), (PROBS,),
                                   RNG.uniform(0.0, 1.0, (2, 3))),
    "continuous bernoulli logits": (lambda lib, p: lib.distributions.ContinuousBernoulli(logits=p[0]), (CB_LOGITS,),
                                    RNG.uniform(0.0, 1.0, (2, 3))),
    "low rank multivariate normal": (
        lambda lib, p: lib.distributions.LowRankMultivariateNormal(p[0], p[1], p[2]), (LOC, COV_FACTOR, SCALE),
        RNG.standard_normal((4, 2, 3))),
    "low rank multivariate normal broadcast": (
        lambda lib, p: lib.distributions.LowRankMultivariateNormal(p[0][0], p[1], p[2][0]), (LOC, COV_FACTOR, SCALE),
        RNG.standard_normal(3)),
    "von mises": (lambda lib, p: lib.distributions.VonMises(p[0], p[1]), (LOC, SCALE * 2), RNG.standard_normal((2, 3))),
    "logistic normal": (lambda lib, p: lib.distributions.LogisticNormal(p[0], p[1]), (LOC, SCALE), _simplex((2, 4))),
    "logistic normal scalar": (lambda lib, p: lib.distributions.LogisticNormal(p[0], 1.5), (np.array(0.3),),
                               _simplex((3, 2))),
}


def _build(lib, case):
    make, params, value = CASES[case]
    tensors = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
    value = lib.tensor(value) if value.dtype.kind == "i" else lib.tensor(value, dtype=lib.float64)
    return make(lib, tensors), tensors, value


VALUES_ONLY = {("gamma", "cdf"), ("chi2", "cdf"), ("inverse gamma", "cdf")}  # no derivative in the concentration, in PyTorch either
# PyTorch's digamma and trigamma are within about 3e-10 of the exact values (ours within 1e-15).
GAMMA_FAMILY = {"gamma", "beta", "dirichlet", "poisson", "student t", "chi2", "binomial", "kumaraswamy",
                "inverse gamma", "fisher snedecor", "negative binomial logits", "negative binomial probs",
                "weibull"}
RTOL = {
    "multinomial logits": 1e-7,  # PyTorch's entropy takes log(n!) in float32 (torch.tensor(n).lgamma())
    "multinomial probs": 1e-7,
    "von mises": 2e-6,  # PyTorch's Bessel functions are polynomial fits good to ~1e-7; ours are exact
}


def _close(ours, theirs, rtol=1e-10):
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_a_distribution_gives_pytorchs_values_and_gradients(case):
    (ours, our_params, our_value), (theirs, their_params, their_value) = _build(gg, case), _build(torch, case)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    assert tuple(ours.sample((5,)).shape) == tuple(theirs.sample((5,)).shape)
    assert ours.has_rsample == theirs.has_rsample
    rtol = RTOL.get(case, 1e-8 if case in GAMMA_FAMILY else 1e-10)
    assert repr(ours) == repr(theirs)
    for name in ("mean", "mode", "variance", "stddev"):
        try:
            want = getattr(theirs, name)
        except NotImplementedError:  # a TransformedDistribution has no moments
            with pytest.raises(NotImplementedError):
                getattr(ours, name)
            continue
        _close(getattr(ours, name), want, rtol)
    for method in ("log_prob", "cdf", "entropy"):
        try:
            want = getattr(theirs, method)(their_value) if method != "entropy" else theirs.entropy()
        except NotImplementedError:
            continue
        got = getattr(ours, method)(our_value) if method != "entropy" else ours.entropy()
        _close(got, want, rtol)
        assert got.requires_grad == want.requires_grad
        if not want.requires_grad or (case, method) in VALUES_ONLY:
            continue
        grads = gg.autograd.grad(got.sum(), our_params, retain_graph=True, allow_unused=True)
        want_grads = torch.autograd.grad(want.sum(), their_params, retain_graph=True, allow_unused=True)
        for g, w in zip(grads, want_grads):  # None for a parameter the value does not depend on
            assert (g is None) == (w is None)
            if g is not None:
                _close(g, w, rtol)
    if theirs.has_enumerate_support:
        _close(ours.enumerate_support(), theirs.enumerate_support())


def test_generalized_pareto_gives_pytorchs_values_and_gradients():
    """In float32: PyTorch's log_prob and cdf fail in float64 (``isclose`` against a float32 zero)."""
    def build(lib):
        params = [lib.tensor(p, dtype=lib.float32, requires_grad=True) for p in (LOC, SCALE, GP_CONCENTRATION)]
        return lib.distributions.GeneralizedPareto(*params), params, lib.tensor(LOC + SCALE * 0.5, dtype=lib.float32)

    (ours, params, value), (theirs, tparams, tvalue) = build(gg), build(torch)
    assert repr(ours) == repr(theirs)
    assert ours.has_rsample and tuple(ours.rsample((4,)).shape) == (4, 2, 3)
    for name in ("mean", "mode", "variance", "stddev"):
        _close(getattr(ours, name), getattr(theirs, name), 1e-6)
    for method in ("log_prob", "cdf", "icdf", "entropy", "log_survival_function"):
        arg = () if method == "entropy" else ((value, tvalue) if method != "icdf" else (value * 0 + 0.3,
                                                                                         tvalue * 0 + 0.3))
        got = getattr(ours, method)(*arg[:1])
        want = getattr(theirs, method)(*arg[1:])
        _close(got, want, 1e-5)
        for g, w in zip(gg.autograd.grad(got.sum(), params, allow_unused=True),
                        torch.autograd.grad(want.sum(), tparams, allow_unused=True)):
            assert (g is None) == (w is None)
            if g is not None:
                np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)
    assert repr(ours.support).startswith("Interval(")
    np.testing.assert_allclose(ours.support.upper_bound.detach().numpy(), theirs.support.upper_bound.detach().numpy(),
                               rtol=1e-6)


# The other side of each KL: a distribution of the same type made from the first parameter.
SHIFTED = {
    "normal": lambda lib, x: lib.distributions.Normal(x * 0.5, 1.5),
    "categorical logits": lambda lib, x: lib.distributions.Categorical(logits=x.flip(-1)),
    "bernoulli probs": lambda lib, x: lib.distributions.Bernoulli(x.flip(-1)),
    "uniform": lambda lib, x: lib.distributions.Uniform(x - 3.0, x + 5.0),
    "independent normal": lambda lib, x: lib.distributions.Independent(lib.distributions.Normal(x * 0.5, 1.5), 1),
    "exponential": lambda lib, x: lib.distributions.Exponential(x.flip(-1)),
    "laplace": lambda lib, x: lib.distributions.Laplace(x * 0.5, 1.5),
    "poisson": lambda lib, x: lib.distributions.Poisson(x.flip(-1)),
    "gamma": lambda lib, x: lib.distributions.Gamma(x.flip(-1), 2.0),
    "beta": lambda lib, x: lib.distributions.Beta(x.flip(-1), 0.7),
    "dirichlet": lambda lib, x: lib.distributions.Dirichlet(x.flip(-1)),
    "one hot categorical": lambda lib, x: lib.distributions.OneHotCategorical(logits=x.flip(-1)),
    "log normal": lambda lib, x: lib.distributions.LogNormal(x * 0.5, 1.5),
    "half normal": lambda lib, x: lib.distributions.HalfNormal(x.flip(-1)),
    "geometric": lambda lib, x: lib.distributions.Geometric(x.flip(-1)),
    "binomial": lambda lib, x: lib.distributions.Binomial(5, logits=x.flip(-1)),
    "gumbel": lambda lib, x: lib.distributions.Gumbel(x * 0.5, 1.5),
    "multivariate normal covariance": lambda lib, x: lib.distributions.MultivariateNormal(
        x.flip(-1), covariance_matrix=2.0 * _eye(lib)),
    "multivariate normal scale_tril": lambda lib, x: lib.distributions.MultivariateNormal(
        x[0] * 0.5, scale_tril=0.7 * _eye(lib)),
    "cauchy": lambda lib, x: lib.distributions.Cauchy(x * 0.5, 1.5),
    "pareto": lambda lib, x: lib.distributions.Pareto(x.flip(-1), 1.5),
    "inverse gamma": lambda lib, x: lib.distributions.InverseGamma(x.flip(-1), 2.0),
    "continuous bernoulli probs": lambda lib, x: lib.distributions.ContinuousBernoulli(x.flip(-1)),
    "continuous bernoulli logits": lambda lib, x: lib.distributions.ContinuousBernoulli(logits=x.flip(-1)),
    "low rank multivariate normal": lambda lib, x: lib.distributions.LowRankMultivariateNormal(
        x.flip(-1), _t(lib, COV_FACTOR[0] * 0.5), _t(lib, SCALE[0] + 0.5)),
    "logistic normal": lambda lib, x: lib.distributions.LogisticNormal(x * 0.5, 1.5),
}


def _t(lib, v):
    return lib.tensor(v, dtype=lib.float64)


@pytest.mark.parametrize("case", list(CASES))
def test_expand_is_pytorchs(case):
    (ours, _, _), (theirs, _, _) = _build(gg, case), _build(torch, case)
    shape = (4,) + tuple(theirs.batch_shape)
    try:
        want = theirs.expand(shape)
    except NotImplementedError:
        return
    got = ours.expand(shape)
    assert type(got) is type(ours)
    assert tuple(got.batch_shape) == tuple(want.batch_shape) and tuple(got.event_shape) == tuple(want.event_shape)
    tvalue = want.sample((2,))
    assert tuple(got.sample((2,)).shape) == tuple(tvalue.shape)
    _close(got.log_prob(gg.tensor(tvalue.numpy())), want.log_prob(tvalue), RTOL.get(case, 1e-8))


@pytest.mark.parametrize("case", list(SHIFTED))
def test_kl_divergence_is_pytorchs(case):
    (p, p_params, _), (tp, tp_params, _) = _build(gg, case), _build(torch, case)
    shifted = SHIFTED[case]
    got = gg.distributions.kl_divergence(p, shifted(gg, p_params[0].detach()))
    want = torch.distributions.kl_divergence(tp, shifted(torch, tp_params[0].detach()))
    rtol = 1e-8 if case in GAMMA_FAMILY else 1e-10
    _close(got, want, rtol)
    for g, w in zip(gg.autograd.grad(got.sum(), p_params), torch.autograd.grad(want.sum(), tp_params)):
        _close(g, w, rtol)


@pytest.mark.parametrize("bad", [
    lambda D, T: D.Normal(T([0.0]), T([-1.0])),
    lambda D, T: D.Normal(T([float("nan")]), T([1.0])),
    lambda D, T: D.Normal(T([0.0]), T([1.0])).log_prob(0.0),
    lambda D, T: D.Uniform(T([0.0]), T([1.0])).log_prob(T([1.5])),
    lambda D, T: D.Uniform(T([1.0]), T([0.0])),
    lambda D, T: D.Bernoulli(T([1.5])),
    lambda D, T: D.Bernoulli(T([0.5])).log_prob(T([0.5])),
    lambda D, T: D.Categorical(probs=T([0.5, -0.1])),
    lambda D, T: D.Categorical(probs=T(0.5)),
    lambda D, T: D.Categorical(),
    lambda D, T: lib.distributions.Independent(lib.distributions.Normal(T([0.0]), T([1.0])), 2),
    lambda D, T: D.Exponential(T([0.0])),
    lambda D, T: D.Exponential(T([1.0])).log_prob(T([-1.0])),
    lambda D, T: D.Poisson(T([2.0])).log_prob(T([1.5])),
    lambda D, T: D.Gamma(T([1.0]), T([-1.0])),
    lambda D, T: D.Beta(T([1.0]), T([0.0])),
    lambda D, T: D.Beta(T([1.0]), T([1.0])).log_prob(T([1.5])),
    lambda D, T: D.Dirichlet(T(1.0)),
    lambda D, T: D.Dirichlet(T([1.0, 1.0])).log_prob(T([0.5, 0.6])),
    lambda D, T: D.OneHotCategorical(logits=T([0.0, 0.0])).log_prob(T([1.0, 1.0])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), covariance_matrix=T([[1.0, 2.0], [2.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 0.5], [0.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T([0.0, 0.0]), covariance_matrix=T([[1.0, 0.0], [0.0, 1.0]]), scale_tril=T([[1.0, 0.0], [0.0, 1.0]])),
    lambda D, T: D.MultivariateNormal(T(0.0), covariance_matrix=T([[1.0]])),
    lambda D, T: D.StudentT(T([0.0])),
    lambda D, T: D.Binomial(3, T([1.5])),
    lambda D, T: D.Binomial(T([-1.0]), T([0.5])),
    lambda D, T: D.Geometric(T([0.0])),
    lambda D, T: D.HalfNormal(T([1.0])).log_prob(T([-1.0])),
    lambda D, T: D.MixtureSameFamily(D.Categorical(logits=T([0.0, 0.0])), D.Normal(T([0.0, 1.0, 2.0]), T([1.0, 1.0, 1.0]))),
    lambda D, T: D.MixtureSameFamily(D.Normal(T([0.0]), T([1.0])), D.Normal(T([0.0]), T([1.0]))),
    lambda D, T: D.Weibull(T([1.0]), T([-1.0])),
    lambda D, T: D.Weibull(T([1.0]), T([1.0])).log_prob(T([-1.0])),
    lambda D, T: D.Pareto(T([0.0]), T([1.0])),
    lambda D, T: D.Pareto(T([1.0]), T([1.0])).log_prob(T([0.5])),
    lambda D, T: D.Kumaraswamy(T([1.0]), T([0.0])),
    lambda D, T: D.Kumaraswamy(T([1.0]), T([1.0])).log_prob(T([1.5])),
    lambda D, T: D.InverseGamma(T([-1.0]), T([1.0])),
    lambda D, T: D.FisherSnedecor(T([1.0]), T([0.0])),
    lambda D, T: D.FisherSnedecor(T([1.0]), T([1.0])).log_prob(T([-1.0])),
    lambda D, T: D.Multinomial(2.5, probs=T([0.5, 0.5])),
    lambda D, T: D.Multinomial(3, probs=T([0.5, -0.5])),
    lambda D, T: D.Multinomial(3, probs=T([0.5, 0.5])).log_prob(T([3.0, 1.0])),
    lambda D, T: D.Multinomial(3),
    lambda D, T: D.NegativeBinomial(T([1.0]), probs=T([1.0])),
    lambda D, T: D.NegativeBinomial(T([-1.0]), probs=T([0.5])),
    lambda D, T: D.NegativeBinomial(T([1.0])),
    lambda D, T: D.NegativeBinomial(T([1.0]), logits=T([0.0])).log_prob(T([1.5])),
    lambda D, T: D.RelaxedBernoulli(T(0.5), probs=T([1.5])),
    lambda D, T: D.RelaxedBernoulli(T(0.5)),
    lambda D, T: D.RelaxedBernoulli(T(0.5), probs=T([0.5])).log_prob(T([1.5])),
    lambda D, T: D.RelaxedOneHotCategorical(T(0.5), probs=T([0.5, -0.1])),
    lambda D, T: D.OneHotCategoricalStraightThrough(probs=T([0.5, -0.1])),
    lambda D, T: D.ContinuousBernoulli(T([1.5]), validate_args=True),
    lambda D, T: D.ContinuousBernoulli(),
    lambda D, T: D.ContinuousBernoulli(T([0.3])).log_prob(T([1.5])),
    lambda D, T: D.LowRankMultivariateNormal(T([0.0, 0.0]), T([[1.0], [0.0]]), T([1.0, -1.0])),
    lambda D, T: D.LowRankMultivariateNormal(T([0.0, 0.0]), T([1.0, 0.0]), T([1.0, 1.0])),
    lambda D, T: D.LowRankMultivariateNormal(T([0.0, 0.0]), T([[1.0], [0.0], [1.0]]), T([1.0, 1.0])),
    lambda D, T: D.LowRankMultivariateNormal(T([0.0, 0.0]), T([[1.0], [0.0]]), T([1.0, 1.0, 1.0])),
    lambda D, T: D.LowRankMultivariateNormal(T(0.0), T([[1.0]]), T([1.0])),
    lambda D, T: D.VonMises(T([0.0]), T([-1.0])),
    lambda D, T: D.LogisticNormal(T([0.0]), T([-1.0])),
    lambda D, T: D.LogisticNormal(T([0.0]), T([1.0])).log_prob(T([0.6, 0.6])),
    lambda D, T: D.GeneralizedPareto(T([0.0]), T([-1.0]), T([0.1])),
    lambda D, T: D.GeneralizedPareto(T([0.0]), T([1.0]), T([-0.5])).log_prob(T([3.0])),
    lambda D, T: D.TransformedDistribution(D.Normal(T(0.0), T(1.0)), D.StickBreakingTransform()),
])
def test_invalid_arguments_raise_what_pytorch_raises(bad):
    with pytest.raises(Exception) as theirs:
        bad(torch.distributions, lambda v: torch.tensor(v))
    with pytest.raises(type(theirs.value)):
        bad(gg.distributions, lambda v: gg.tensor(v))


def test_constraint_reprs_are_pytorchs():
    ours, theirs = gg.distributions.constraints, torch.distributions.constraints
    for name in ("real", "boolean", "positive", "nonnegative", "unit_interval", "simplex", "real_vector",
                 "nonnegative_integer", "one_hot", "symmetric", "positive_definite", "lower_cholesky"):
        assert repr(getattr(ours, name)) == repr(getattr(theirs, name)), name
    assert repr(ours.interval(-1.0, 2.0)) == repr(theirs.interval(-1.0, 2.0))
    assert repr(ours.integer_interval(0, 4)) == repr(theirs.integer_interval(0, 4))


@pytest.mark.parametrize("alpha", [0.05, 0.5, 1.0, 2.0, 10.0, 100.0])
def test_gamma_draws_differentiate_as_pytorchs(alpha):
    """d draw / d concentration at the same draws: PyTorch's _standard_gamma_grad is an approximation
    good to about 1e-4 (ours: central differences of the exact CDF, checked against the inverse CDF in
    test_distributions.py)."""
    from gpugrad import _gamma

    x = np.quantile(np.random.default_rng(0).standard_gamma(alpha, 20000), [0.01, 0.2, 0.5, 0.8, 0.99])
    ours = _gamma.standard_gamma_grad(np, np.full(5, alpha), x)
    theirs = torch._standard_gamma_grad(torch.tensor(np.full(5, alpha)), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)
