"""gpugrad.distributions.transforms and constraint_registry against torch.distributions: the same transforms
give the same forward and inverse values, log |det J|, shapes, domains and gradients; round trips hold;
biject_to / transform_to pick the same transforms."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

RNG = np.random.default_rng(1)
X23 = RNG.standard_normal((2, 3))
POS23 = RNG.uniform(0.3, 2.0, (2, 3))
MAT = RNG.standard_normal((2, 3, 3))


def _t(lib, v):
    return lib.tensor(v, dtype=lib.float64)


# name: (constructor from a library, an x in the domain)
TRANSFORMS = {
    "exp": (lambda lib, D: D.ExpTransform(), X23),
    "affine": (lambda lib, D: D.AffineTransform(0.5, -2.0), X23),
    "affine tensor event_dim 1": (lambda lib, D: D.AffineTransform(_t(lib, X23[0]), _t(lib, POS23[0]), event_dim=1), X23),
    "sigmoid": (lambda lib, D: D.SigmoidTransform(), X23),
    "tanh": (lambda lib, D: D.TanhTransform(), X23),
    "softplus": (lambda lib, D: D.SoftplusTransform(), X23 * 3),
    "power": (lambda lib, D: D.PowerTransform(_t(lib, POS23[1] - 1.2)), POS23),
    "power scalar": (lambda lib, D: D.PowerTransform(0.5), POS23),
    "abs": (lambda lib, D: D.AbsTransform(), X23),
    "softmax": (lambda lib, D: D.SoftmaxTransform(), X23),
    "stick breaking": (lambda lib, D: D.StickBreakingTransform(), X23),
    "lower cholesky": (lambda lib, D: D.LowerCholeskyTransform(), MAT),
    "positive definite": (lambda lib, D: D.transforms.PositiveDefiniteTransform(), MAT),
    "corr cholesky": (lambda lib, D: D.transforms.CorrCholeskyTransform(), X23),
    "reshape": (lambda lib, D: D.ReshapeTransform((3,), (3, 1)), X23),
    "independent sigmoid": (lambda lib, D: D.IndependentTransform(D.SigmoidTransform(), 1), X23),
    "inverse sigmoid": (lambda lib, D: D.SigmoidTransform().inv, RNG.uniform(0.1, 0.9, (2, 3))),
    "compose exp affine": (lambda lib, D: D.ComposeTransform([D.ExpTransform(), D.AffineTransform(1.0, 2.0)]), X23),
    "compose stick breaking affine": (
        lambda lib, D: D.ComposeTransform([D.AffineTransform(0.0, 2.0), D.StickBreakingTransform()]), X23),
    "identity": (lambda lib, D: D.transforms.identity_transform, X23),
    "cat dim 1 (event)": (
        lambda lib, D: D.CatTransform([D.ExpTransform(), D.IndependentTransform(D.SigmoidTransform(), 1)], dim=-1,
                                      lengths=[1, 2]), X23),
    "cat dim 0 (batch)": (lambda lib, D: D.CatTransform([D.ExpTransform(), D.TanhTransform()], dim=0, lengths=[1, 1]),
                          X23),
    "stack": (lambda lib, D: D.StackTransform([D.ExpTransform(), D.SigmoidTransform(), D.AffineTransform(1.0, 3.0)],
                                              dim=1), X23),
    "cdf of normal": (lambda lib, D: D.CumulativeDistributionTransform(D.Normal(_t(lib, X23[0]), _t(lib, POS23[0]))),
                      X23),
}


def _close(ours, theirs, rtol=1e-10):
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=1e-12)


def _both(case):
    make, x = TRANSFORMS[case]
    return ((make(gg, gg.distributions), gg.tensor(x, dtype=gg.float64, requires_grad=True)),
            (make(torch, torch.distributions), torch.tensor(x, dtype=torch.float64, requires_grad=True)))


@pytest.mark.parametrize("case", list(TRANSFORMS))
def test_a_transform_gives_pytorchs_values_shapes_and_gradients(case):
    (ours, x), (theirs, tx) = _both(case)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.bijective == theirs.bijective
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert ours.domain.event_dim == theirs.domain.event_dim
    assert ours.codomain.event_dim == theirs.codomain.event_dim
    y, ty = ours(x), theirs(tx)
    _close(y, ty)
    assert tuple(ours.forward_shape(x.shape)) == tuple(theirs.forward_shape(tx.shape))
    assert tuple(ours.inverse_shape(y.shape)) == tuple(theirs.inverse_shape(ty.shape))
    _close(ours.inv(y.detach()), theirs.inv(ty.detach()), rtol=1e-9)
    try:
        want = theirs.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.log_abs_det_jacobian(x, y)
        want = None
    if want is not None:
        got = ours.log_abs_det_jacobian(x, y)
        _close(got, want, rtol=1e-9)
        w = RNG.standard_normal(tuple(got.shape))  # a random cotangent
        (g,) = gg.autograd.grad((got * gg.tensor(w)).sum() + (y * 0.3).sum(), [x])
        (tg,) = torch.autograd.grad((want * torch.tensor(w)).sum() + (ty * 0.3).sum(), [tx])
        _close(g, tg, rtol=1e-8)
    try:
        sign = theirs.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.sign
    else:
        if isinstance(sign, int):
            assert ours.sign == sign
        else:
            _close(ours.sign, sign)
    if ours.bijective:  # round trips, both ways
        _close(ours.inv(ours(x)), x, rtol=1e-9)
        _close(ours(ours.inv(y.detach())), y, rtol=1e-9)


def test_the_cache_inverse_views_and_equality_are_pytorchs():
    D = gg.distributions
    t = D.TanhTransform(cache_size=1)
    x = gg.tensor([30.0], dtype=gg.float64)
    y = t(x)
    assert t.inv(y) is x and t(x) is y  # the exact pre-image despite tanh(30) == 1
    assert t.inv.inv is t and t.inv.domain is t.codomain
    assert D.ExpTransform() == D.ExpTransform() and D.ExpTransform() != D.SigmoidTransform()
    assert D.AffineTransform(1.0, 2.0) == D.AffineTransform(1.0, 2.0) != D.AffineTransform(1.0, 3.0)
    assert D.PowerTransform(2.0) == D.PowerTransform(2.0) != D.PowerTransform(3.0)
    assert D.ExpTransform().inv == D.ExpTransform().inv
    assert D.ComposeTransform([D.ExpTransform()]) == D.ComposeTransform([D.ExpTransform()])
    assert D.ExpTransform().with_cache(1)._cache_size == 1
    cached = D.ComposeTransform([D.ExpTransform(), D.AffineTransform(1.0, 2.0)], cache_size=1)
    assert all(p._cache_size == 1 for p in cached.parts)
    assert isinstance(cached.inv, D.ComposeTransform) and cached.inv.inv is cached
    with pytest.raises(ValueError):
        D.ExpTransform(cache_size=2)
    with pytest.raises(ValueError, match="different numbers"):
        D.ReshapeTransform((3,), (2,))
    with pytest.raises(ValueError, match="Please use either"):
        D.CorrCholeskyTransform().event_dim  # its domain is a vector, its codomain a matrix
    for name in ("AbsTransform", "CatTransform", "CumulativeDistributionTransform", "IndependentTransform",
                 "LowerCholeskyTransform", "PowerTransform", "ReshapeTransform", "SoftmaxTransform",
                 "SoftplusTransform", "StackTransform", "StickBreakingTransform", "identity_transform",
                 "biject_to", "transform_to", "constraint_registry"):
        assert hasattr(D, name), name


def test_transformed_distributions_through_the_new_transforms_are_pytorchs():
    """A base pushed through event-coupling or reshaping transforms: shapes, Independent wrapping, log_prob."""
    def build(lib):
        D = lib.distributions
        loc = lib.tensor(X23, dtype=lib.float64)
        return [D.TransformedDistribution(D.Normal(loc, 1.5), D.StickBreakingTransform()),
                D.TransformedDistribution(D.Normal(loc, 1.5), [D.ReshapeTransform((3,), (3, 1))]),
                D.TransformedDistribution(D.Normal(loc, 1.5), [D.SoftplusTransform()]),
                D.TransformedDistribution(D.Normal(loc[0], 0.7), [D.AffineTransform(0.0, loc)])]

    for ours, theirs in zip(build(gg), build(torch)):
        assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
        assert tuple(ours.event_shape) == tuple(theirs.event_shape)
        assert repr(ours.support) == repr(theirs.support)
        assert type(ours.base_dist).__name__ == type(theirs.base_dist).__name__
        value = theirs.sample((2,))
        _close(ours.log_prob(gg.tensor(value.numpy())), theirs.log_prob(value), rtol=1e-9)


CONSTRAINTS = {
    "real": lambda lib, C: C.real,
    "positive": lambda lib, C: C.positive,
    "nonnegative": lambda lib, C: C.nonnegative,
    "greater_than": lambda lib, C: C.greater_than(1.5),
    "greater_than_eq": lambda lib, C: C.greater_than_eq(-1.0),
    "less_than": lambda lib, C: C.less_than(2.0),
    "unit_interval": lambda lib, C: C.unit_interval,
    "interval": lambda lib, C: C.interval(-2.0, 3.0),
    "interval tensor": lambda lib, C: C.interval(_t(lib, X23[0]), _t(lib, X23[0] + POS23[0])),
    "half_open_interval": lambda lib, C: C.half_open_interval(0.0, 2.0),
    "simplex": lambda lib, C: C.simplex,
    "real_vector": lambda lib, C: C.real_vector,
    "independent positive": lambda lib, C: C.independent(C.positive, 1),
    "lower_cholesky": lambda lib, C: C.lower_cholesky,
    "positive_definite": lambda lib, C: C.positive_definite,
    "positive_semidefinite": lambda lib, C: C.positive_semidefinite,
    "corr_cholesky": lambda lib, C: C.corr_cholesky,
    "cat": lambda lib, C: C.cat([C.positive, C.interval(0.0, 2.0)], dim=-1, lengths=[2, 1]),
    "stack": lambda lib, C: C.stack([C.positive, C.real, C.unit_interval], dim=-1),
}


def _x_for(case, transform):
    if case in ("lower_cholesky", "positive_definite", "positive_semidefinite"):
        return MAT
    return X23


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("case", list(CONSTRAINTS))
def test_the_constraint_registries_give_pytorchs_transforms(registry, case):
    ours_c = CONSTRAINTS[case](gg, gg.distributions.constraints)
    theirs_c = CONSTRAINTS[case](torch, torch.distributions.constraints)
    ours_r = getattr(gg.distributions.constraint_registry, registry)
    theirs_r = getattr(torch.distributions, registry)
    try:
        want = theirs_r(theirs_c)
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            ours_r(ours_c)
        return
    got = ours_r(ours_c)
    assert repr(got) == repr(want) or type(got).__name__ == type(want).__name__
    x = _x_for(case, got)
    y, ty = got(gg.tensor(x, dtype=gg.float64)), want(torch.tensor(x, dtype=torch.float64))
    _close(y, ty)
    assert bool(ours_c.check(y).all())
    if got.bijective:
        _close(got.inv(y), torch.tensor(x) if case != "real_vector" else torch.tensor(x), rtol=1e-8)


def test_registering_a_constraint_and_the_errors_are_pytorchs():
    from gpugrad.distributions import constraint_registry, constraints, transforms

    registry = constraint_registry.ConstraintRegistry()
    with pytest.raises(NotImplementedError, match="Cannot transform _Real constraints"):
        registry(constraints.real)
    registry.register(constraints.real, lambda c: transforms.ExpTransform())
    assert isinstance(registry(constraints.real), transforms.ExpTransform)

    @registry.register(constraints.positive)
    def _factory(constraint):
        return transforms.SoftplusTransform()

    assert isinstance(registry(constraints.greater_than(3.0)), transforms.SoftplusTransform)
    with pytest.raises(TypeError, match="Constraint subclass or instance"):
        registry.register(int, _factory)
    with pytest.raises(NotImplementedError):
        constraint_registry.biject_to(constraints.lower_cholesky)  # no bijection, as in PyTorch


def test_new_constraints_check_and_print_as_pytorchs():
    ours, theirs = gg.distributions.constraints, torch.distributions.constraints
    for name in ("positive_integer", "lower_triangular", "corr_cholesky", "square", "positive_semidefinite"):
        assert repr(getattr(ours, name)) == repr(getattr(theirs, name)), name
    assert repr(ours.less_than(2.0)) == repr(theirs.less_than(2.0))
    values = [np.eye(3), MAT[0], np.tril(MAT[0]), MAT[0] @ MAT[0].T, np.zeros((3, 3))]
    for name in ("lower_triangular", "lower_cholesky", "square", "symmetric", "positive_semidefinite",
                 "positive_definite"):
        for v in values:
            got = getattr(ours, name).check(gg.tensor(v)).tolist()
            assert got == getattr(theirs, name).check(torch.tensor(v)).tolist(), name
    counts = np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 1.0], [-1.0, 2.0, 0.0]])
    assert ours.multinomial(4).check(gg.tensor(counts)).tolist() == theirs.multinomial(4).check(
        torch.tensor(counts)).tolist()
    cat = lambda C: C.cat([C.positive, C.unit_interval], dim=0, lengths=[2, 1])
    v = np.array([1.0, -1.0, 0.5])
    assert cat(ours).check(gg.tensor(v)).tolist() == cat(theirs).check(torch.tensor(v)).tolist()
    stack = lambda C: C.stack([C.positive, C.unit_interval], dim=-1)
    v = np.array([[1.0, 0.5], [-1.0, 2.0]])
    assert stack(ours).check(gg.tensor(v)).tolist() == stack(theirs).check(torch.tensor(v)).tolist()
    assert stack(ours).event_dim == stack(theirs).event_dim
