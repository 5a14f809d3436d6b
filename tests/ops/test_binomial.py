"""gg.binomial (gpugrad/ops/sampling.py): draws tested statistically with fixed seeds (moments, and the
frequencies of small counts against the exact probabilities by a chi-square test), the generator's
reproducibility, PyTorch's edge cases and checks, no gradient; and (marked torch) the deterministic
cases, shapes, errors and the law of the draws beside PyTorch's."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError


def draws(count, prob, size, dtype=gg.float64, generator=None):
    return gg.binomial(gg.full((size,), count, dtype=dtype), gg.full((size,), prob, dtype=dtype),
                       generator=generator).numpy()


@pytest.mark.parametrize(("count", "prob"), [(7, 0.3), (40, 0.45), (200, 0.1), (15, 0.8), (1000, 0.97), (1, 0.5)])
def test_moments_are_binomial(count, prob):
    size = 40_000
    x = draws(count, prob, size)
    assert np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= count
    mean, var = count * prob, count * prob * (1 - prob)
    # The sample mean within 5 standard errors; the sample variance within 5 of its standard errors
    # (the fourth central moment of a binomial: n p q (1 + 3 (n - 2) p q)) plus the square of the mean's
    # allowance (the variance is taken about the sample mean).
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / size)
    mu4 = count * prob * (1 - prob) * (1 + 3 * (count - 2) * prob * (1 - prob))
    assert abs(x.var() - var) < 5 * math.sqrt((mu4 - var**2) / size) + 25 * var / size


@pytest.mark.parametrize(("count", "prob"), [(6, 0.35), (12, 0.7), (30, 0.5)])
def test_frequencies_pass_a_chi_square_test(count, prob):
    size = 30_000
    x = draws(count, prob, size).astype(np.int64)
    observed = np.bincount(x, minlength=count + 1)
    expected = np.array([math.comb(count, k) * prob**k * (1 - prob) ** (count - k) for k in range(count + 1)]) * size
    keep = expected >= 5  # the usual rule for the chi-square approximation; the rest pooled
    stat_obs = np.append(observed[keep], observed[~keep].sum())
    stat_exp = np.append(expected[keep], expected[~keep].sum())
    if stat_exp[-1] < 5:
        stat_obs, stat_exp = stat_obs[:-1], stat_exp[:-1]
    chi2 = float(((stat_obs - stat_exp) ** 2 / stat_exp).sum())
    dof = len(stat_exp) - 1
    # The 99.9% point of chi-square with dof degrees is below dof + 3.3 sqrt(2 dof) + 10 for these dofs.
    assert chi2 < dof + 3.3 * math.sqrt(2 * dof) + 10, (chi2, dof)


def test_a_seed_gives_the_same_draws():
    g = gg.Generator().manual_seed(3)
    first = draws(20, 0.3, 50, generator=g)
    g.manual_seed(3)
    assert np.array_equal(draws(20, 0.3, 50, generator=g), first)
    gg.manual_seed(5)
    a = draws(20, 0.3, 50)
    gg.manual_seed(5)
    assert np.array_equal(draws(20, 0.3, 50), a) and not np.array_equal(a, first)


def test_pytorchs_edge_cases():
    count = gg.tensor([5.0, 0.0, -3.0, 5.0, 5.0, 5.0, 5.5, 4.0, float("inf")])
    prob = gg.tensor([0.0, 0.5, 0.5, -0.2, 1.0, 1.7, 1.0, float("nan"), 0.5])
    out = gg.binomial(count, prob).tolist()
    # prob <= 0 or count <= 0: 0; prob >= 1: count itself (fractional too); NaN prob: NaN; inf count: inf
    assert out[:7] == [0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.5] and math.isnan(out[7]) and out[8] == math.inf


def test_a_fractional_count_is_drawn_as_pytorch_draws_it():
    # prob <= 0.5: Binomial(floor(count), prob); above: count - Binomial(floor(count), 1 - prob), which
    # keeps the fraction.
    low = draws(5.5, 0.3, 2000)
    assert np.all(low == np.round(low)) and low.max() <= 5
    high = draws(5.5, 0.7, 2000)
    assert np.all(high - 0.5 == np.round(high - 0.5)) and high.min() >= 0.5


def test_shapes_dtypes_and_broadcasting():
    x = gg.binomial(gg.full((2, 1), 4.0), gg.full((3,), 0.5))
    assert tuple(x.shape) == (2, 3) and x.dtype is gg.float32
    x = gg.binomial(gg.full((3,), 4.0, dtype=gg.float64), gg.full((3,), 0.5, dtype=gg.float64))
    assert x.dtype is gg.float64
    assert tuple(gg.binomial(gg.zeros(0), gg.zeros(0)).shape) == (0,)


def test_argument_checks():
    with pytest.raises(ArgumentError, match="floating-point dtypes for count"):
        gg.binomial(gg.tensor([5]), gg.tensor([0.5]))
    with pytest.raises(DTypeError, match="expected"):
        gg.binomial(gg.tensor([5.0]), gg.tensor([0.5], dtype=gg.float64))
    with pytest.raises(DTypeError, match="not implemented"):
        gg.binomial(gg.tensor([5.0], dtype=gg.float16), gg.tensor([0.5], dtype=gg.float16))
    with pytest.raises(TypeError, match="must be Tensor"):
        gg.binomial(gg.tensor([5.0]), 0.5)
    with pytest.raises(ShapeError, match="do not broadcast"):
        gg.binomial(gg.ones(2), gg.ones(3))


def test_no_derivative_as_in_pytorch():
    count = gg.tensor([5.0, 6.0], requires_grad=True)
    x = gg.binomial(count, gg.tensor([0.5, 0.5]))
    assert x.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
        x.sum().backward()


# Beside PyTorch -----------------------------------------------------------------------------------------


@pytest.mark.torch
def test_deterministic_cases_shapes_and_errors_match_pytorchs():
    torch = pytest.importorskip("torch")
    count = [5.0, 0.0, -3.0, 5.0, 5.0, 5.0, 5.5, 4.0]
    prob = [0.0, 0.5, 0.5, -0.2, 1.0, 1.7, 1.0, float("nan")]
    ours = gg.binomial(gg.tensor(count), gg.tensor(prob)).numpy()
    theirs = torch.binomial(torch.tensor(count), torch.tensor(prob)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    for lib in (gg, torch):
        assert lib.binomial(lib.ones(3, dtype=lib.float64), lib.full((3,), 0.5, dtype=lib.float64)).dtype == lib.float64
        assert lib.binomial(count=lib.zeros(2), prob=lib.ones(2), generator=None).tolist() == [0.0, 0.0]
        with pytest.raises(ValueError, match="floating-point dtypes for count"):
            lib.binomial(lib.tensor([5]), lib.tensor([0.5]))
        with pytest.raises(RuntimeError):
            lib.binomial(lib.tensor([5.0]), lib.tensor([0.5], dtype=lib.float64))
        with pytest.raises(TypeError):
            lib.binomial(lib.tensor([5.0]), 0.5)
        x = lib.binomial(lib.tensor([5.0], requires_grad=True), lib.tensor([0.5]))
        assert x.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
            x.sum().backward()


@pytest.mark.torch
def test_the_law_of_the_draws_is_pytorchs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    size = 40_000
    for count, prob in ((9, 0.2), (60, 0.6), (300, 0.02)):
        ours = draws(count, prob, size)
        theirs = torch.binomial(torch.full((size,), float(count), dtype=torch.float64),
                                torch.full((size,), prob, dtype=torch.float64)).numpy()
        # Two samples of one law: their means within 5 standard errors of the difference, and their
        # distribution functions within the two-sample Kolmogorov-Smirnov bound at the 0.1% level.
        sd = math.sqrt(count * prob * (1 - prob))
        assert abs(ours.mean() - theirs.mean()) < 5 * sd * math.sqrt(2 / size)
        grid = np.arange(count + 1)
        cdf_ours = np.searchsorted(np.sort(ours), grid, side="right") / size
        cdf_theirs = np.searchsorted(np.sort(theirs), grid, side="right") / size
        assert np.abs(cdf_ours - cdf_theirs).max() < 1.95 * math.sqrt(2 / size)
