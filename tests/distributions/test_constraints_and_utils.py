"""constraints.dependent / dependent_property, MixtureSameFamilyConstraint and
distributions.utils.tril_matrix_to_vec / vec_to_tril_matrix: behaviour against hand-worked values and
NumPy, gradients against finite differences; and (marked torch) the same calls beside
torch.distributions."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import distributions as D
from gpugrad.distributions import constraints
from gpugrad.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix

# PyTorch's distributions whose support depends on their parameters, with the static attributes its
# dependent_property declares (None: not declared, so reading it raises NotImplementedError).
DEPENDENT_SUPPORTS = {
    "Binomial": (True, 0), "Categorical": (True, 0), "GeneralizedPareto": (False, 0), "Independent": (None, None),
    "MixtureSameFamily": (None, None), "Multinomial": (True, 1), "Pareto": (False, 0),
    "TransformedDistribution": (False, None), "Uniform": (False, 0),
}


# dependent and dependent_property ------------------------------------------------------------------------


def test_dependent_knows_only_what_it_was_told():
    assert constraints.is_dependent(constraints.dependent)
    with pytest.raises(NotImplementedError, match="is_discrete cannot be determined statically"):
        _ = constraints.dependent.is_discrete
    with pytest.raises(NotImplementedError, match="event_dim cannot be determined statically"):
        _ = constraints.dependent.event_dim
    told = constraints.dependent(is_discrete=True, event_dim=1)
    assert told.is_discrete and told.event_dim == 1 and constraints.is_dependent(told)
    assert told(event_dim=2).is_discrete and told(event_dim=2).event_dim == 2  # keeps what it is not told anew
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        told.check(gg.zeros(2))


def test_dependent_property_is_a_property_on_instances_and_a_constraint_on_the_class():
    class Box:
        def __init__(self, high: float) -> None:
            self.high = high

        @constraints.dependent_property(is_discrete=False, event_dim=0)
        def support(self):
            return constraints.interval(0.0, self.high)

        @constraints.dependent_property
        def bare(self):
            return self.high

    assert constraints.is_dependent(Box.support) and not Box.support.is_discrete and Box.support.event_dim == 0
    assert repr(Box.support) == "DependentProperty()"
    box = Box(2.0)
    assert box.bare == 2.0 and box.support.check(gg.tensor([1.0, 3.0])).tolist() == [True, False]
    with pytest.raises(NotImplementedError):
        _ = Box.bare.event_dim
    with pytest.raises(AttributeError):
        box.support = constraints.real  # a property without a setter


def test_the_distributions_dependent_supports_are_dependent_properties():
    for name, (is_discrete, event_dim) in DEPENDENT_SUPPORTS.items():
        support = getattr(D, name).support
        assert constraints.is_dependent(support), name
        for attr, expected in (("is_discrete", is_discrete), ("event_dim", event_dim)):
            if expected is None:
                with pytest.raises(NotImplementedError):
                    getattr(support, attr)
            else:
                assert getattr(support, attr) == expected, (name, attr)
    # read on an instance, the support itself
    assert D.Uniform(gg.tensor(0.0), gg.tensor(2.0)).support.check(gg.tensor([1.0, 3.0])).tolist() == [True, False]
    assert not constraints.is_dependent(D.Normal.support)


# MixtureSameFamilyConstraint ----------------------------------------------------------------------------


def test_mixture_constraint_checks_every_components_support():
    low, high = gg.tensor([0.0, 1.0, 2.0]), gg.tensor([3.0, 4.0, 5.0])
    constraint = constraints.MixtureSameFamilyConstraint(constraints.interval(low, high))
    # a value (batch of 4) against three components: inside [2, 3] only is inside all three
    assert constraint.check(gg.tensor([0.5, 2.5, 2.0, 3.5])).tolist() == [False, True, True, False]
    assert repr(constraint).startswith("MixtureSameFamilyConstraint(Interval(")
    assert not constraint.is_discrete and constraint.event_dim == 0
    discrete = constraints.MixtureSameFamilyConstraint(constraints.nonnegative_integer)
    assert discrete.is_discrete
    with pytest.raises(AssertionError, match="must be a Constraint"):
        constraints.MixtureSameFamilyConstraint(3)


def test_mixture_constraint_with_events_keeps_the_batch():
    constraint = constraints.MixtureSameFamilyConstraint(constraints.simplex)
    assert constraint.event_dim == 1
    value = gg.tensor([[0.2, 0.8], [0.5, 0.6], [1.0, 0.0]])  # three batch members, events of 2
    assert constraint.check(value).tolist() == [True, False, True]


def test_mixture_same_family_validates_samples_against_its_components():
    mix = D.MixtureSameFamily(D.Categorical(logits=gg.zeros(3)),
                              D.Uniform(gg.tensor([0.0, 1.0, 2.0]), gg.tensor([3.0, 4.0, 5.0])), validate_args=True)
    assert isinstance(mix.support, constraints.MixtureSameFamilyConstraint)
    mix.log_prob(gg.tensor([2.5]))  # inside every component's support
    with pytest.raises(ValueError, match="support"):
        mix.log_prob(gg.tensor([0.5]))


# tril_matrix_to_vec / vec_to_tril_matrix ----------------------------------------------------------------


@pytest.mark.parametrize("diag", [-2, -1, 0, 1])
def test_tril_vectors_in_row_order_and_back(rng, diag):
    n = 4
    mat = rng.standard_normal((2, 3, n, n))
    rows, cols = np.nonzero(np.tril(np.ones((n, n)), diag))  # row-major order of the lower part
    vec = tril_matrix_to_vec(gg.tensor(mat), diag)
    np.testing.assert_array_equal(vec.numpy(), mat[..., rows, cols])
    back = vec_to_tril_matrix(vec, diag)
    np.testing.assert_array_equal(back.numpy(), np.tril(mat, diag))


def test_values_above_the_diagonal_do_not_leak_into_the_vector():
    mat = gg.tensor([[1.0, float("inf")], [2.0, 3.0]])
    assert tril_matrix_to_vec(mat).tolist() == [1.0, 2.0, 3.0]


def test_tril_helpers_check_their_arguments():
    with pytest.raises(ValueError, match=r"diag \(3\) provided is outside \[-3, 2\]"):
        tril_matrix_to_vec(gg.zeros(3, 3), diag=3)
    for size in (4, 5):  # PyTorch's own check lets 4 through (to fail on the fill); this one does not
        with pytest.raises(ValueError, match=f"size of last dimension is {size}"):
            vec_to_tril_matrix(gg.zeros(size))
    assert tuple(vec_to_tril_matrix(gg.zeros(5, 10)).shape) == (5, 4, 4)


def test_tril_helpers_are_differentiable(rng):
    mat = gg.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    vec = gg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert gg.autograd.gradcheck(lambda m: tril_matrix_to_vec(m, -1), (mat,))
    assert gg.autograd.gradcheck(lambda v: vec_to_tril_matrix(v, -1), (vec,))
    assert gg.autograd.gradgradcheck(lambda v: vec_to_tril_matrix(v, -1) ** 2, (vec,))


# Beside PyTorch -----------------------------------------------------------------------------------------


@pytest.mark.torch
def test_constraints_and_supports_match_pytorchs():
    torch = pytest.importorskip("torch")
    tc = torch.distributions.constraints
    assert {"dependent_property", "MixtureSameFamilyConstraint"} <= set(constraints.__all__)
    assert set(tc.__all__) <= set(constraints.__all__)
    for name in DEPENDENT_SUPPORTS:
        ours, theirs = getattr(D, name).support, getattr(torch.distributions, name).support
        assert constraints.is_dependent(ours) and tc.is_dependent(theirs)
        for attr in ("is_discrete", "event_dim"):
            try:
                expected = getattr(theirs, attr)
            except NotImplementedError:
                with pytest.raises(NotImplementedError):
                    getattr(ours, attr)
            else:
                assert getattr(ours, attr) == expected, (name, attr)
    value = np.array([[0.2, 0.8], [0.5, 0.6], [1.0, 0.0], [-0.1, 1.1]])
    for base in ("simplex", "real_vector"):
        ours = constraints.MixtureSameFamilyConstraint(getattr(constraints, base)).check(gg.tensor(value))
        theirs = tc.MixtureSameFamilyConstraint(getattr(tc, base)).check(torch.tensor(value))
        assert ours.tolist() == theirs.tolist()
    low, high = [0.0, 1.0, 2.0], [3.0, 4.0, 5.0]
    x = [0.5, 2.5, 2.0, 3.5, 5.0]
    ours = D.MixtureSameFamily(D.Categorical(logits=gg.zeros(3)), D.Uniform(gg.tensor(low), gg.tensor(high)))
    theirs = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(logits=torch.zeros(3)),
                                                   torch.distributions.Uniform(torch.tensor(low), torch.tensor(high)))
    assert ours.support.check(gg.tensor(x)).tolist() == theirs.support.check(torch.tensor(x)).tolist()
    assert repr(ours.support) == repr(theirs.support)


@pytest.mark.torch
def test_tril_helpers_match_pytorchs(rng):
    torch = pytest.importorskip("torch")
    from torch.distributions import utils as tu

    import gpugrad.distributions.utils as gu

    assert {"tril_matrix_to_vec", "vec_to_tril_matrix"} <= set(gu.__all__)
    for n, diag in ((1, 0), (3, 0), (4, -1), (4, 1), (5, -3)):
        mat = rng.standard_normal((2, n, n))
        ours = gu.tril_matrix_to_vec(gg.tensor(mat), diag)
        theirs = tu.tril_matrix_to_vec(torch.tensor(mat), diag)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        np.testing.assert_array_equal(gu.vec_to_tril_matrix(ours, diag).numpy(),
                                      tu.vec_to_tril_matrix(theirs, diag).numpy())
        # gradients: the cotangent's entries picked back out (and zeros elsewhere), as PyTorch's
        cot = rng.standard_normal(tuple(theirs.shape))
        m_g, m_t = gg.tensor(mat, requires_grad=True), torch.tensor(mat, requires_grad=True)
        (gu.tril_matrix_to_vec(m_g, diag) * gg.tensor(cot)).sum().backward()
        (tu.tril_matrix_to_vec(m_t, diag) * torch.tensor(cot)).sum().backward()
        np.testing.assert_array_equal(m_g.grad.numpy(), m_t.grad.numpy())
    for lib, module in ((gg, gu), (torch, tu)):
        with pytest.raises(ValueError, match="provided is outside"):
            module.tril_matrix_to_vec(lib.zeros(3, 3), diag=-4)
        with pytest.raises(ValueError, match="cannot be expressed"):
            module.vec_to_tril_matrix(lib.zeros(5))


def test_private_helpers_libraries_import_from_utils():
    from gpugrad.distributions import utils

    x = gg.arange(24, dtype=gg.float64).reshape(2, 3, 4)
    np.testing.assert_array_equal(utils._sum_rightmost(x, 2).numpy(), x.numpy().sum((1, 2)))
    assert utils._sum_rightmost(x, 0) is x
    gg.manual_seed(0)
    z = utils._standard_normal((4000,), dtype=gg.float64, device="cpu")
    assert z.dtype == gg.float64 and z.shape == (4000,)
    assert abs(float(z.mean())) < 0.1 and abs(float(z.std()) - 1) < 0.1
    assert utils.euler_constant == pytest.approx(0.5772156649015329, abs=1e-16)
    assert utils.is_tensor_like(x) and not utils.is_tensor_like(1.0)


class _DiagNormal(D.Independent):
    """A subclass with its own __init__ whose expand fills the instance _get_checked_instance gives (zuko's)."""

    def __init__(self, loc, scale):
        super().__init__(D.Normal(loc, scale), 1)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(_DiagNormal, _instance))


class _NoExpand(D.Independent):
    def __init__(self, loc, scale):
        super().__init__(D.Normal(loc, scale), 1)

    def expand(self, batch_shape, _instance=None):
        return super().expand(batch_shape, self._get_checked_instance(D.Independent, _instance))


def test_get_checked_instance_gives_a_bare_instance_of_the_subclass_or_refuses_a_custom_init():
    d = _DiagNormal(gg.zeros(3), gg.ones(3))
    e = d.expand((5,))
    assert type(e) is _DiagNormal and e.batch_shape == (5,) and e.event_shape == (3,)
    np.testing.assert_allclose(e.log_prob(gg.zeros(5, 3)).numpy(), np.full(5, -1.5 * np.log(2 * np.pi)), rtol=1e-6)
    given = _DiagNormal.__new__(_DiagNormal)
    assert d._get_checked_instance(_DiagNormal, given) is given
    with pytest.raises(NotImplementedError, match="custom __init__"):
        _NoExpand(gg.zeros(3), gg.ones(3)).expand((5,))


def test_utils_names_match_pytorchs():
    torch = pytest.importorskip("torch")
    import torch.distributions.utils as theirs

    from gpugrad.distributions import utils as ours

    for name in ("_sum_rightmost", "_standard_normal", "euler_constant", "is_tensor_like", "broadcast_all",
                 "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits"):
        assert hasattr(theirs, name) and hasattr(ours, name), name
    assert ours.euler_constant == theirs.euler_constant
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(ours._sum_rightmost(gg.tensor(x), 1).numpy(),
                                  theirs._sum_rightmost(torch.tensor(x), 1).numpy())
