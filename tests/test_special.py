"""gpugrad.special, as torch.special: the shared names are the top-level functions, the rest agree with
closed forms and edge values here and with PyTorch where installed (the op table covers derivatives)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import special


def t64(values, requires_grad=False):
    return gg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_shared_names_are_the_top_level_functions():
    assert special.expit is gg.sigmoid and special.gammaln is gg.lgamma and special.psi is gg.digamma
    assert special.multigammaln is gg.mvlgamma and special.logsumexp is gg.logsumexp and special.erf is gg.erf
    assert set(special.__all__) <= set(dir(special))


def test_values_at_known_points_and_edges():
    x = t64([-math.inf, -2.0, 0.0, 0.5, math.inf, math.nan])
    entr = special.entr(x).numpy()
    assert entr[:3].tolist() == [-math.inf, -math.inf, 0.0] and entr[3] == pytest.approx(0.5 * math.log(2))
    assert entr[4] == -math.inf and math.isnan(entr[5])
    assert special.ndtr(t64([0.0, 1.0])).numpy() == pytest.approx([0.5, 0.8413447460685429], rel=1e-15)
    assert special.ndtri(t64([0.5, 0.975])).numpy() == pytest.approx([0.0, 1.959963984540054], abs=1e-14)
    # log ndtr far in the left tail, where ndtr itself underflows: the asymptotic series
    # -x^2/2 - log(-x sqrt(2 pi)) + log(1 - a + 3a^2 - 15a^3 ...), a = 1/x^2, at x = -40.
    far = special.log_ndtr(t64([-40.0])).item()
    a = 1 / 40**2
    assert far == pytest.approx(-800 - math.log(40 * math.sqrt(2 * math.pi)) - a + 2.5 * a**2 - 37 / 3 * a**3, rel=1e-13)
    assert special.ndtr(t64([-8.0])).item() == pytest.approx(6.220960574271784e-16, rel=1e-13)
    assert special.erfcx(t64([0.0, 30.0, 1e8])).numpy() == pytest.approx(
        [1.0, 0.018795888861416751, 1 / (1e8 * math.sqrt(math.pi))], rel=1e-13)
    assert special.xlog1py(t64([0.0, 0.0, 2.0]), t64([-1.0, math.nan, math.e - 1])).numpy()[[0, 2]].tolist() == [0.0, 2.0]
    assert math.isnan(special.xlog1py(t64(0.0), t64(math.nan)).item())
    # P(1, x) = 1 - e^-x; P + Q = 1; zeta(2, 1) = pi^2 / 6.
    assert special.gammainc(t64(1.0), t64([0.5, 3.0])).numpy() == pytest.approx(1 - np.exp([-0.5, -3.0]), rel=1e-14)
    a, xs = t64([0.3, 4.0, 50.0]), t64([0.2, 6.0, 45.0])
    np.testing.assert_allclose((special.gammainc(a, xs) + special.gammaincc(a, xs)).numpy(), 1.0, rtol=1e-14)
    assert special.zeta(2.0, t64([1.0])).item() == pytest.approx(math.pi**2 / 6, rel=1e-15)


def test_bessel_functions_at_their_edges():
    x = t64([0.0, -0.0, 30.0, 710.0, math.inf, -math.inf, math.nan])
    i0, i1e = special.i0(x).numpy(), special.i1e(x).numpy()
    assert i0[:2].tolist() == [1.0, 1.0] and i0[3] == pytest.approx(3.3453345e306, rel=1e-7)  # finite: PyTorch's is inf
    assert i0[4:6].tolist() == [math.inf, math.inf] and math.isnan(i0[6])
    assert i1e[4] == 0.0 and i1e[5] == 0.0 and math.copysign(1.0, i1e[5]) == -1.0
    assert special.i1(t64([-2.0])).item() == -special.i1(t64([2.0])).item()
    z = t64([0.0], True)
    (g,) = gg.autograd.grad(special.i1(z).sum(), z)
    assert g.item() == 0.5


def test_the_derivatives_pytorch_lacks_raise_clearly():
    a, x = t64([2.0], True), t64([1.0], True)
    with pytest.raises(NotImplementedError, match="gammainc: .*first argument"):
        special.gammainc(a, x).sum().backward()
    s = t64([3.0], True)
    with pytest.raises(NotImplementedError, match="zeta: .*first argument"):
        special.zeta(s, t64([2.0])).sum().backward()
    (g,) = gg.autograd.grad(special.gammainc(2.0, x).sum(), x)
    assert g.item() == pytest.approx(math.exp(-1.0), rel=1e-14)  # x e^-x / Gamma(2) at x = 1


@pytest.mark.torch
def test_special_matches_pytorch_on_a_sweep():
    torch = pytest.importorskip("torch")
    x = np.linspace(-8.0, 8.0, 161)
    for name in ("entr", "erfcx", "ndtr", "log_ndtr", "expit", "gammaln", "psi", "erf", "erfc", "exp2", "expm1",
                 "log1p", "sinc", "round", "i0", "i0e", "i1", "i1e"):
        ours = getattr(special, name)(t64(x)).numpy()
        theirs = getattr(torch.special, name)(torch.tensor(x)).numpy()
        # atol: PyTorch's ndtr is off by up to 2% where it is under 1e-14 (x < -7.5; ours is exact there)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15, equal_nan=True, err_msg=name)
    a, b = np.meshgrid(np.linspace(0.1, 20.0, 25), np.linspace(0.0, 30.0, 25))
    for name in ("gammainc", "gammaincc", "xlog1py", "xlogy"):
        ours = getattr(special, name)(t64(a), t64(b)).numpy()
        theirs = getattr(torch.special, name)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-300, err_msg=name)
    s, q = np.meshgrid(np.linspace(1.5, 6.0, 10), np.linspace(0.2, 9.0, 10))
    np.testing.assert_allclose(special.zeta(t64(s), t64(q)).numpy(),
                               torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy(), rtol=1e-12)
    p = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(special.ndtri(t64(p)).numpy(), torch.special.ndtri(torch.tensor(p)).numpy(), rtol=1e-9)
    np.testing.assert_allclose(special.multigammaln(t64(x[x > 2]), 3).numpy(),
                               torch.special.multigammaln(torch.tensor(x[x > 2]), 3).numpy(), rtol=1e-12)


# The Bessel family, airy_ai and the orthogonal polynomials: not differentiable in PyTorch, nor here ---------
BESSEL_NAMES = ("airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
                "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
                "scaled_modified_bessel_k1", "spherical_bessel_j0")
POLYNOMIAL_NAMES = tuple(f"{shift}chebyshev_polynomial_{kind}" for shift in ("", "shifted_") for kind in "tuvw") + (
    "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p")

# Values to 16 digits (from 40-digit arithmetic), on both sides of each algorithm's split (5 for J and Y,
# 2 for K, +-2.09 for Ai).
KNOWN = {
    "bessel_j0": ([0.5, 3.0, 5.0, 7.5, 40.0], [0.9384698072408129, -0.26005195490193345, -0.1775967713143383,
                                               0.2663396578803784, 0.00736689058423729]),
    "bessel_j1": ([-2.0, 0.5, 4.9, 12.0, 100.0], [-0.5767248077568734, 0.2422684576748739, -0.31469467101519066,
                                                  -0.2234471044906276, -0.07714535201411216]),
    "bessel_y0": ([0.1, 2.0, 5.0, 6.5, 60.0], [-1.5342386513503667, 0.5103756726497451, -0.30851762524903376,
                                               -0.17324243491898234, 0.0473589522094494]),
    "bessel_y1": ([0.1, 2.0, 4.5, 9.0, 250.0], [-6.4589510947020266, -0.10703243154093754, 0.3009973230696546,
                                                0.10431457519671589, 0.025966992185484584]),
    "modified_bessel_k0": ([0.001, 0.5, 2.0, 3.0, 50.0], [7.023688800562382, 0.9244190712276659, 0.11389387274953344,
                                                          0.03473950438627925, 3.4101677497894956e-23]),
    "modified_bessel_k1": ([0.001, 0.5, 2.0, 3.0, 50.0], [999.9962381560856, 1.656441120003301, 0.13986588181652243,
                                                          0.040156431128194184, 3.4441022267175555e-23]),
    "airy_ai": ([-30.0, -5.0, -2.2, -1.0, 0.0, 1.5, 2.1, 10.0, 50.0],
                [-0.08796818845684216, 0.35076100902411433, 0.09614537800766888, 0.5355608832923521,
                 0.3550280538878172, 0.07174949700810541, 0.029952602115866523, 1.1047532552898686e-10,
                 4.5849417240748285e-104]),
}


def _trapezoid(values, step):
    return step * (values.sum(axis=-1) - 0.5 * (values[..., 0] + values[..., -1]))


def test_bessel_functions_at_known_values():
    for name, (x, expected) in KNOWN.items():
        np.testing.assert_allclose(getattr(special, name)(t64(x)).numpy(), expected, rtol=2e-14, err_msg=name)
    x = t64([0.001, 0.5, 2.0, 3.0, 50.0])
    np.testing.assert_allclose(special.scaled_modified_bessel_k0(x).numpy(),
                               np.exp(x.numpy()) * np.array(KNOWN["modified_bessel_k0"][1]), rtol=2e-14)
    np.testing.assert_allclose(special.scaled_modified_bessel_k1(x).numpy(),
                               np.exp(x.numpy()) * np.array(KNOWN["modified_bessel_k1"][1]), rtol=2e-14)
    # I0 and I1 are special.i0 and i1's values; j0 is sin(x) / x
    x = t64(np.linspace(-30.0, 30.0, 241))
    assert special.modified_bessel_i0(x).numpy().tolist() == special.i0(x).numpy().tolist()
    assert special.modified_bessel_i1(x).numpy().tolist() == special.i1(x).numpy().tolist()
    xs = np.concatenate([x.numpy(), [1e-3, 0.3, -0.49]])
    expected = np.sin(xs) / np.where(xs == 0, 1.0, xs) + (xs == 0)
    np.testing.assert_allclose(special.spherical_bessel_j0(t64(xs)).numpy(), expected, rtol=1e-15, atol=1e-17)


def test_bessel_functions_against_their_integrals():
    """J by Bessel's integrals over [0, pi], K by exp(-x cosh t) over [0, 12] (trapezoid sums of periodic or
    doubly-exponentially decaying integrands: exact to rounding), Y by the Wronskian J1 Y0 - J0 Y1 = 2 / (pi x)
    (blind to a multiple of J added to Y, which the known values rule out), I and K by theirs: NumPy float64
    references on both sides of every split."""
    x = np.concatenate([np.linspace(0.05, 12.0, 240), [15.0, 20.0, 35.0, 60.0]])
    theta, step = np.linspace(0.0, np.pi, 4001, retstep=True)
    j0 = _trapezoid(np.cos(x[:, None] * np.sin(theta)), step) / np.pi
    j1 = _trapezoid(np.cos(theta - x[:, None] * np.sin(theta)), step) / np.pi
    np.testing.assert_allclose(special.bessel_j0(t64(x)).numpy(), j0, atol=3e-15)
    np.testing.assert_allclose(special.bessel_j1(t64(x)).numpy(), j1, atol=3e-15)
    y0, y1 = special.bessel_y0(t64(x)).numpy(), special.bessel_y1(t64(x)).numpy()
    np.testing.assert_allclose(j1 * y0 - j0 * y1, 2 / (np.pi * x), rtol=1e-13)
    t, step = np.linspace(0.0, 12.0, 24001, retstep=True)
    xk = np.array([0.05, 0.3, 1.0, 1.9, 2.0, 2.1, 4.0, 9.0, 30.0])
    decay = np.exp(-xk[:, None] * np.cosh(t))
    k0, k1 = _trapezoid(decay, step), _trapezoid(decay * np.cosh(t), step)
    np.testing.assert_allclose(special.modified_bessel_k0(t64(xk)).numpy(), k0, rtol=1e-13)
    np.testing.assert_allclose(special.modified_bessel_k1(t64(xk)).numpy(), k1, rtol=1e-13)
    i0, i1 = special.i0(t64(xk)).numpy(), special.i1(t64(xk)).numpy()
    np.testing.assert_allclose(i0 * k1 + i1 * k0, 1 / xk, rtol=1e-13)  # the modified functions' Wronskian


def test_airy_ai_solves_its_equation():
    """Ai'' = x Ai by fourth-order central differences across all three algorithms' ranges (whose joins
    would show), and Ai's integral over the positive axis, 1/3."""
    h = 5e-3
    x = np.linspace(-12.0, 8.0, 201)

    def ai(v):
        return special.airy_ai(t64(v)).numpy()

    second = (16 * (ai(x + h) + ai(x - h)) - ai(x + 2 * h) - ai(x - 2 * h) - 30 * ai(x)) / (12 * h * h)
    assert (np.abs(second - x * ai(x)) < 1e-10 * (1 + np.abs(x)) ** 2).all()
    grid, step = np.linspace(0.0, 40.0, 400001, retstep=True)
    assert _trapezoid(ai(grid), step) == pytest.approx(1 / 3, rel=1e-9)


def test_bessel_functions_edges_and_dtypes():
    inf, nan = math.inf, math.nan
    x = t64([0.0, -0.0, -2.0, inf, -inf, nan])
    edges = {  # at 0, -0, -2, inf, -inf, NaN
        "bessel_j0": [1.0, 1.0, 0.22389077914123567, 0.0, 0.0, nan],
        "bessel_j1": [0.0, -0.0, -0.5767248077568734, 0.0, 0.0, nan],
        "bessel_y0": [-inf, -inf, nan, 0.0, nan, nan],
        "bessel_y1": [-inf, -inf, nan, 0.0, nan, nan],
        "modified_bessel_k0": [inf, inf, nan, 0.0, nan, nan],
        "modified_bessel_k1": [inf, inf, nan, 0.0, nan, nan],
        "scaled_modified_bessel_k0": [inf, inf, nan, 0.0, nan, nan],
        "scaled_modified_bessel_k1": [inf, inf, nan, 0.0, nan, nan],
        "modified_bessel_i0": [1.0, 1.0, 2.2795853023360673, inf, inf, nan],
        "modified_bessel_i1": [0.0, 0.0, -1.5906368546373291, inf, -inf, nan],
        "spherical_bessel_j0": [1.0, 1.0, math.sin(2.0) / 2.0, 0.0, 0.0, nan],
        "airy_ai": [0.3550280538878172, 0.3550280538878172, 0.22740742820168558, 0.0, 0.0, nan],
    }
    for name, expected in edges.items():
        got = getattr(special, name)(x).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-14, err_msg=name)
        assert np.array_equal(np.signbit(got[:2]), np.signbit(expected[:2])), name  # J1(-0) is -0
    # Far out the phase x - pi/4 keeps all its bits (sin and cos of x itself): J0(1e17) to the last digit.
    assert special.bessel_j0(t64([1e17])).item() == pytest.approx(-2.408723548367383e-09, rel=1e-14)
    # Integer and bool inputs compute in float32 (the default float dtype); float32 stays float32; the
    # math runs in float64 and rounds once, so float32 results are float64's rounded.
    for name in BESSEL_NAMES:
        fn = getattr(special, name)
        assert fn(gg.tensor([1, 2])).dtype is gg.float32 and fn(gg.tensor([True])).dtype is gg.float32
        x32 = np.linspace(0.1, 30.0, 50, dtype=np.float32)
        ours = fn(gg.tensor(x32)).numpy()
        assert ours.dtype == np.float32
        rounded = fn(gg.tensor(x32.astype(np.float64))).numpy().astype(np.float32)
        np.testing.assert_array_equal(ours, rounded, err_msg=name)
        with pytest.raises(gg.errors.DTypeError, match=f"{name}: not implemented for .*float16"):
            fn(gg.ones(2, dtype=gg.float16))
    assert special.bessel_j0(t64(2.0)).shape == ()


def _chebyshev_references(x, n):
    """T, U, V, W at x in (-1, 1) by their trigonometric definitions, x = cos(theta)."""
    theta = np.arccos(x)
    return {
        "t": np.cos(n * theta),
        "u": np.sin((n + 1) * theta) / np.sin(theta),
        "v": np.cos((n + 0.5) * theta) / np.cos(theta / 2),
        "w": np.sin((n + 0.5) * theta) / np.sin(theta / 2),
    }


def test_orthogonal_polynomials_against_numpy():
    from numpy.polynomial import chebyshev, hermite, hermite_e, laguerre, legendre

    x = np.linspace(-0.995, 0.995, 81)[:, None]
    n = np.arange(0, 40)[None, :]
    trig = _chebyshev_references(x, n)
    for kind, expected in trig.items():
        got = getattr(special, f"chebyshev_polynomial_{kind}")(t64(x), t64(n)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11, err_msg=kind)
        shifted = getattr(special, f"shifted_chebyshev_polynomial_{kind}")(t64((x + 1) / 2), t64(n)).numpy()
        np.testing.assert_allclose(shifted, expected, rtol=1e-10, atol=1e-10, err_msg=kind)
    # Outside [-1, 1] (the recurrence) and at moderate degrees, NumPy's series evaluation.
    wide = np.linspace(-3.0, 3.0, 61)
    families = {"chebyshev_polynomial_t": chebyshev.chebval, "hermite_polynomial_h": hermite.hermval,
                "hermite_polynomial_he": hermite_e.hermeval, "laguerre_polynomial_l": laguerre.lagval,
                "legendre_polynomial_p": legendre.legval}
    for name, evaluate in families.items():
        for degree in (0, 1, 2, 5, 12, 25):
            expected = evaluate(wide, np.eye(degree + 1)[degree])
            got = getattr(special, name)(t64(wide), degree).numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max(),
                                       err_msg=f"{name} {degree}")


def test_orthogonal_polynomials_degrees_as_pytorch_reads_them():
    x = t64([0.3])
    t = special.chebyshev_polynomial_t
    # n is truncated toward zero; below zero (and NaN, +-inf, |n| >= 2^63) the result is 0
    n = t64([2.9, 2.0, -0.5, -1.0, -7.0, math.nan, math.inf, -math.inf, 1e30])
    assert t(x, n).numpy().tolist() == pytest.approx([2 * 0.09 - 1, 2 * 0.09 - 1, 1.0, 0, 0, 0, 0, 0, 0])
    for name in POLYNOMIAL_NAMES:
        fn = getattr(special, name)
        got = fn(t64([0.3, 2.0, math.nan]), t64([[-1.0], [0.0], [math.nan]])).numpy()
        assert got.shape == (3, 3) and got[0].tolist() == [0.0] * 3 and got[1].tolist() == [1.0] * 3, name
        assert got[2].tolist() == [0.0] * 3, name
        assert math.isnan(fn(t64([math.nan]), 3).item()), name  # NaN x: NaN (PyTorch's loop may return garbage)
    # The ends: exact values
    ends = t64([-1.0, 1.0])
    assert special.chebyshev_polynomial_u(ends, 7).numpy().tolist() == [-8.0, 8.0]
    assert special.chebyshev_polynomial_v(ends, 7).numpy().tolist() == [-15.0, 1.0]
    assert special.chebyshev_polynomial_w(ends, 7).numpy().tolist() == [-1.0, 15.0]
    assert special.shifted_chebyshev_polynomial_w(t64([0.0, 1.0]), 7).numpy().tolist() == [-1.0, 15.0]
    assert special.legendre_polynomial_p(ends, 101).numpy().tolist() == [-1.0, 1.0]
    assert special.laguerre_polynomial_l(t64([0.0]), 1000).item() == 1.0
    # Hermite refuses degrees above 128 in float32 and 512 in float64 (where they overflow anyway but at
    # zeros), as PyTorch does: He_127(0) = 0 (odd), He_129(0) is refused.
    he = special.hermite_polynomial_he
    assert he(gg.tensor([0.0]), 127).item() == 0.0 and math.isnan(he(gg.tensor([0.0]), 129).item())
    assert special.hermite_polynomial_h(gg.tensor([0.0]), 127).item() == 0.0
    assert math.isnan(special.hermite_polynomial_h(t64([0.0]), 513).item())


def test_orthogonal_polynomials_operands_broadcast_and_promote():
    p = special.legendre_polynomial_p
    assert tuple(p(gg.ones(3, 1), gg.tensor([0, 1, 2, 3])).shape) == (3, 4)
    assert p(0.5, gg.tensor([2, 3])).numpy().tolist() == pytest.approx([-0.125, -0.4375])
    assert p(0.5, gg.tensor([2, 3])).dtype is gg.float32  # a float with an integer tensor: the default float
    assert p(gg.tensor([1, 2]), 2).dtype is gg.float32
    assert p(gg.ones(2), gg.tensor([1.0, 2.0], dtype=gg.float64)).dtype is gg.float64
    assert p(gg.ones(2), gg.tensor(3.0, dtype=gg.float64)).dtype is gg.float32  # a 0-d tensor does not widen
    assert p(gg.ones(2, dtype=gg.int32), gg.tensor(2.5, dtype=gg.float64)).dtype is gg.float64
    with pytest.raises(TypeError, match="legendre_polynomial_p"):
        p(0.5, 2)
    with pytest.raises(gg.errors.ShapeError):
        p(gg.ones(2), gg.ones(3))
    out = gg.empty(0)
    assert p(gg.ones(2), 3, out=out) is out and out.tolist() == [1.0, 1.0]


def test_the_bessel_family_and_polynomials_are_constants_for_autograd():
    x = t64([0.3, 0.7, 1.5], requires_grad=True)
    results = [getattr(special, name)(x) for name in BESSEL_NAMES]
    results += [getattr(special, name)(x, 3) for name in POLYNOMIAL_NAMES]
    results += [getattr(special, name)(0.4, x) for name in POLYNOMIAL_NAMES]
    assert all(not r.requires_grad and r.grad_fn is None for r in results)
    with pytest.raises(RuntimeError, match="does not require grad"):
        special.bessel_j0(x).sum().backward()
    (x * special.bessel_j0(x)).sum().backward()  # a constant factor: d/dx = J0(x)
    assert x.grad.numpy().tolist() == special.bessel_j0(x).numpy().tolist()


@pytest.mark.torch
def test_the_new_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    assert set(special.__all__) == set(torch.special.__all__)
    for name in BESSEL_NAMES + POLYNOMIAL_NAMES:
        assert hasattr(gg, name) == hasattr(torch, name) and hasattr(gg.Tensor, name) == hasattr(torch.Tensor, name)
        x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
        theirs = getattr(torch.special, name)(*((x,) if name in BESSEL_NAMES else (x, 2)))
        assert theirs.requires_grad is False  # PyTorch marks them non-differentiable too


# PyTorch's keyword for the first argument: ``input`` where its docs show it (it takes ``x`` there too), ``x``
# for the rest, where ``input=`` is refused.
TAKES_INPUT = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
               "modified_bessel_k0", "modified_bessel_k1")


@pytest.mark.parametrize("name", BESSEL_NAMES + POLYNOMIAL_NAMES)
def test_keywords_are_pytorchs(name):
    keyword = "input" if name in TAKES_INPUT else "x"
    extra = {} if name in BESSEL_NAMES else {"n": 2}
    x = gg.tensor([0.25, 0.5], dtype=gg.float64)
    by_keyword = getattr(special, name)(**{keyword: x}, **extra)
    by_position = getattr(special, name)(x, *extra.values())
    assert by_keyword.tolist() == by_position.tolist()


# PyTorch's J0, J1, Y0, Y1 and Ai drop the leading 1 of Cephes' monic denominators (p1evl), so in float64
# they are off by up to ~2e-6 of the function's envelope (sqrt(2 / (pi x)), |x|^(-1/4) for Ai), just above
# the split at 5 (at -2.09 for Ai): ~1e-5 relative to the value away from its zeros. In float32 they compute
# in float32 (~5e-6 of the envelope out to 700). Ours are Cephes' to ~1e-14 of the envelope
# (test_bessel_functions_against_their_integrals). Tolerances, as a fraction of the envelope: float64, float32.
TORCH_TOLERANCE = {"bessel_j0": (3e-6, 2e-5), "bessel_j1": (3e-6, 2e-5), "bessel_y0": (3e-6, 2e-5),
                   "bessel_y1": (6e-6, 2e-5), "airy_ai": (1e-5, 2e-5)}


@pytest.mark.torch
def test_the_bessel_family_matches_pytorch_on_a_sweep():
    torch = pytest.importorskip("torch")
    x = np.concatenate([np.linspace(-30.0, 30.0, 1201), np.geomspace(30.0, 700.0, 200), [0.0, -0.0, 1e-300, math.nan]])
    for name in BESSEL_NAMES:
        for dtype, tdtype, column in ((np.float64, torch.float64, 0), (np.float32, torch.float32, 1)):
            xd = x.astype(dtype)
            ours = getattr(special, name)(gg.tensor(xd)).numpy().astype(np.float64)
            theirs = getattr(torch.special, name)(torch.tensor(xd)).numpy().astype(np.float64)
            both = np.isfinite(ours) & np.isfinite(theirs)
            # Where one overflows and the other not: PyTorch's float32 I0 and I1 overflow in e^|x| near 88,
            # where the result is still finite; nothing else.
            overflow = ~both & ~(np.isnan(ours) & np.isnan(theirs)) & (ours != theirs)
            assert not (overflow & ~((np.abs(xd) > 85) & name.startswith("modified_bessel_i"))).any(), name
            if name in TORCH_TOLERANCE:
                envelope = (np.abs(xd.astype(np.float64)).clip(1.0) ** (-0.25 if name == "airy_ai" else -0.5))
                tol = TORCH_TOLERANCE[name][column] * envelope
            else:  # K, I, j0: agree to the dtype's rounding, relative to the value
                tol = (2e-14 if dtype is np.float64 else 1e-6) * np.abs(theirs)
            err = np.abs(ours[both] - theirs[both])
            assert (err <= tol[both] + 1e-300).all(), (name, dtype, x[both][np.argmax(err - tol[both])])


@pytest.mark.torch
def test_the_polynomials_match_pytorch_on_a_sweep():
    torch = pytest.importorskip("torch")
    xs = np.concatenate([np.linspace(-2.5, 2.5, 101), [0.0, -0.0, 1.0, -1.0, 0.5, math.inf, -math.inf, 1e-9]])
    ns = np.array([-3, -1, -0.5, 0, 0.3, 1, 1.9, 2, 3, 5, 6, 7, 8, 9, 10, 13, 20, 33, 64, 100, 128, 129, 300, 512, 513,
                   math.nan, math.inf, -math.inf, 1e30])
    x, n = np.meshgrid(xs, ns)
    x32, n32 = x.astype(np.float32), n.astype(np.float32)
    for name in POLYNOMIAL_NAMES:
        ours, theirs = getattr(special, name), getattr(torch.special, name)
        ours64 = ours(t64(x), t64(n)).numpy()
        theirs64 = theirs(torch.tensor(x), torch.tensor(n)).numpy()
        _assert_same_values(ours64, theirs64, 1e-11, name)
        # float32: float64's values rounded once (PyTorch's float64 on the float32 inputs, rounded, to its
        # accuracy); PyTorch's float32 recurrence loses up to ~5e-4 at degree 500 and overflows in its
        # intermediate products early (NaN or inf where the result is still finite), so beside it only
        # where its result is finite and short of float32's largest.
        ours32 = ours(gg.tensor(x32), gg.tensor(n32)).numpy().astype(np.float64)
        rounded = theirs(torch.tensor(x32, dtype=torch.float64), torch.tensor(n32, dtype=torch.float64))
        rounded = rounded.float().double().numpy()
        if name.startswith("hermite"):  # float32's own limit on the degree
            rounded[np.isfinite(n32) & (n32 >= 129) & (n32 < 2.0**63)] = np.nan
        _assert_same_values(ours32, rounded, 1e-6, name)
        theirs32 = theirs(torch.tensor(x32), torch.tensor(n32)).double().numpy()
        fair = np.isfinite(theirs32) & (np.abs(theirs32) < 3e38)
        scale = np.maximum(np.abs(theirs32[fair]), 1.0)
        assert (np.abs(ours32[fair] - theirs32[fair]) <= 1e-3 * scale).all(), name


def _assert_same_values(ours, theirs, rtol, name):
    """Equal where not finite (NaN to NaN, inf to inf of one sign); within rtol of max(|value|, 1) elsewhere
    (a large polynomial's value near one of its zeros carries its terms' rounding)."""
    finite = np.isfinite(theirs)
    assert np.array_equal(np.isfinite(ours), finite), name
    assert np.array_equal(ours[~finite], theirs[~finite], equal_nan=True), name
    scale = np.maximum(np.abs(theirs[finite]), 1.0)
    assert (np.abs(ours[finite] - theirs[finite]) <= rtol * scale).all(), name


def test_incomplete_gamma_at_negative_and_huge_arguments_gives_nan_not_an_exception():
    # a <= 0 or x < 0 are outside the domain: NaN, as PyTorch's (a division by zero inside once raised
    # Python's ZeroDivisionError from the compiled loop)
    a = gg.tensor([-501.0, -501.0, 2.0, 0.0, float("inf"), -1.0])
    x = gg.tensor([-501.0, 501.0, 0.0, 3.0, 2.0, 1e20])
    lower, upper = gg.igamma(a, x).tolist(), gg.igammac(a, x).tolist()
    assert lower[2:5] == [0.0, 1.0, 0.0] and upper[2:5] == [1.0, 0.0, 1.0]
    assert all(v != v for v in lower[:2] + lower[5:] + upper[:2] + upper[5:])
