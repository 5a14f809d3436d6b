"""Functions of one argument over Numba's threads (gpugrad.kernels.math_map): the bits of the function each
replaces (gpugrad/_vmath_ufuncs.py's float32 ufunc or loop; NumPy's ufunc, float32 and float64) for every
function, on odd sizes with the edge values, at one and two threads; what it declines; the ops whose forwards
reach it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad import _vmath_ufuncs
from gpugrad.kernels import _dispatch
from gpugrad.kernels import math_map as km
from gpugrad.threads import get_num_threads, set_num_threads

_EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 1e-38, 0.5, -0.5, 1.0, -1.0, 2.0, 9.5,
                   -9.5, 88.7, -88.7, -104.0, 1e30, -1e30], np.float32)
_NUMPY = {name: ufunc for ufunc, name in km.NUMPY_UFUNCS.items()}
# PyTorch's pow and rsqrt as NumPy's calls compute them, each operation rounded in the array's dtype
_NUMPY.update(square=lambda x: x * x, cube=lambda x: (x * x) * x, inverse_square=lambda x: 1 / (x * x),
              rsqrt=lambda x: 1 / np.sqrt(x), frac=lambda x: x - np.trunc(x),
              sign=lambda x: (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype))  # PyTorch's frac and sign


def _inputs(size: int, seed: int = 0, dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(size) * 4).astype(dtype)
    x[:min(size, _EDGES.size)] = _EDGES[:size]
    return x


def _ufunc_of(name: str, x: np.ndarray) -> np.ndarray:
    """What math_map replaces: _vmath_ufuncs' float32 function, or NumPy's ufunc."""
    with np.errstate(all="ignore"):
        return _NUMPY[name](x) if name in _NUMPY else _vmath_ufuncs._ONE_ARGUMENT[name].ufunc()(x)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_it_maps_every_float32_function_of_one_argument_computed_per_element():
    assert set(km.VMATH) == set(_vmath_ufuncs._ONE_ARGUMENT)
    assert set(km.NAMES) == set(km.VMATH) | set(_NUMPY)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(km.NAMES), size=st.integers(1, 300), seed=st.integers(0, 2**16), wide=st.booleans())
def test_the_parallel_build_gives_the_ufuncs_bits_on_odd_sizes(name, size, seed, wide):
    x = _inputs(size, seed, np.float64 if wide and name in _NUMPY else np.float32)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(km, "MIN_ELEMENTS", 1)
        mp.setattr(_dispatch, "PARALLEL_MIN_WORK", 0)  # the parallel build at any size
        out = km.apply(name, x)
    assert _same_bits(out, _ufunc_of(name, x))


@pytest.mark.parametrize("name", km.NAMES)
def test_each_function_gives_its_ufuncs_bits_on_a_large_array(name):
    for dtype in (np.float32, np.float64) if name in _NUMPY else (np.float32,):
        x = _inputs(km.MIN_ELEMENTS + 17, dtype=dtype).reshape(-1, 1)  # the result keeps x's shape
        assert _same_bits(km.apply(name, x), _ufunc_of(name, x)), dtype


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_the_bits_do_not_depend_on_the_thread_count(name):
    x = _inputs(km.MIN_ELEMENTS + 5, seed=3)
    before = get_num_threads()
    try:
        set_num_threads(1)
        one = km.apply(name, x)
        set_num_threads(2)
        two = km.apply(name, x)
    finally:
        set_num_threads(before)
    assert _same_bits(one, two)


def test_what_it_declines():
    x = _inputs(km.MIN_ELEMENTS)
    assert km.apply("exp", x[:-1]) is None  # small
    assert km.apply("exp", x.astype(np.float64)) is None  # _vmath's are float32's
    assert km.apply("sqrt", np.ones(km.MIN_ELEMENTS, np.float16)) is None
    assert km.apply("exp", np.concatenate([x, x])[::2]) is None  # strided
    assert _vmath_ufuncs.over_threads(np.exp, x) is None  # NumPy's own ufunc
    assert _vmath_ufuncs.over_threads(_vmath_ufuncs.math_ufunc(np, "sin", x.dtype), x) is None  # blocks, libm past 2**20


@pytest.mark.parametrize("op", ["exp", "log", "tanh", "expm1", "sinh", "asinh", "erf", "digamma", "neg", "abs", "sqrt",
                                "reciprocal", "floor", "ceil", "trunc", "round", "frac", "sign"])
def test_the_ops_forward_of_a_large_float32_tensor_runs_here(op, monkeypatch):
    names = []
    apply = km.apply

    def recording(name, x):
        names.append(name)
        return apply(name, x)

    monkeypatch.setattr(km, "apply", recording)
    x = np.abs(_inputs(km.MIN_ELEMENTS, seed=5)) if op in ("log", "digamma", "sqrt") else _inputs(km.MIN_ELEMENTS, seed=5)
    name = {"neg": "negative", "abs": "absolute", "round": "rint"}.get(op, op)
    y = getattr(gg, op)(gg.tensor(x)).numpy()
    assert names == [name]
    assert _same_bits(y, _ufunc_of(name, x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rsqrt_and_pows_of_a_number_run_here_in_one_pass(monkeypatch, dtype):
    names = []
    apply = km.apply
    monkeypatch.setattr(km, "apply", lambda name, x: names.append(name) or apply(name, x))
    x = _inputs(km.MIN_ELEMENTS, seed=6, dtype=dtype)
    t = gg.tensor(x)
    with np.errstate(all="ignore"):
        assert _same_bits(gg.rsqrt(t).numpy(), np.reciprocal(np.sqrt(x)))
        for exponent, name in ((2, "square"), (3, "cube"), (-2, "inverse_square"), (-1, "reciprocal"), (0.5, "sqrt"),
                               (-0.5, "rsqrt")):
            assert _same_bits((t ** exponent).numpy(), _NUMPY[name](x)), exponent
    assert names == ["rsqrt", "square", "cube", "inverse_square", "reciprocal", "sqrt", "rsqrt"]


# fmod and remainder of float32 (apply_pair) -------------------------------------------------------------------

def _numpy_pair(name: str, a: np.ndarray, b) -> np.ndarray:
    with np.errstate(all="ignore"):
        mod = np.fmod(a, b)
        if name == "fmod":
            return mod
        return np.where((mod != 0) & ((np.asarray(b) < 0) != (mod < 0)), mod + b, mod)  # PyTorch's remainder


def _pair_inputs(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(size) * 10.0 ** rng.integers(-6, 12, size)).astype(np.float32)
    b = (rng.standard_normal(size) * 10.0 ** rng.integers(-6, 6, size)).astype(np.float32)
    edges = [(0.0, 1.0), (-0.0, 1.0), (np.inf, 1.0), (-np.inf, 2.0), (np.nan, 1.0), (1.0, np.nan), (1.0, 0.0),
             (-0.0, 0.0), (5.0, np.inf), (-5.0, -np.inf), (np.inf, np.inf), (3e38, 1e-38), (1e20, -1e-20),
             (1e-45, 3e-45), (7.0, 2.0), (-7.0, 2.0), (7.0, -2.0), (0.9, 0.3), (6.0, 3.0), (-6.0, 3.0)]
    k = min(size, len(edges))
    a[:k], b[:k] = np.array(edges[:k], np.float32).T
    return a, b


@pytest.mark.parametrize("name", km.PAIRS)
@pytest.mark.parametrize("size, parallel", [(km.PAIR_MIN_ELEMENTS + 3, False), (3 * 1024 + 5, True)])
def test_fmod_and_remainder_give_numpys_bits(name, size, parallel, monkeypatch):
    if parallel:
        monkeypatch.setattr(_dispatch, "PARALLEL_MIN_WORK", 0)
    a, b = _pair_inputs(max(size, km.PAIR_MIN_ELEMENTS), seed=size)
    assert _same_bits(km.apply_pair(name, a, b), _numpy_pair(name, a, b))  # huge quotients: libm's
    for value in (0.3, -2.5, 7, np.float32(1e-30).item()):
        assert _same_bits(km.apply_pair(name, a, value), _numpy_pair(name, a, np.float32(value))), value
    assert _same_bits(km.apply_pair(name, a.reshape(-1, 1), np.array([[0.75]], np.float32)),
                      _numpy_pair(name, a.reshape(-1, 1), np.float32(0.75)))


def test_fmod_declines_what_numpy_computes():
    a = np.ones(km.PAIR_MIN_ELEMENTS, np.float32)
    assert km.apply_pair("fmod", a[:-1], 0.5) is None  # small
    assert km.apply_pair("fmod", a.astype(np.float64), 0.5) is None  # float64: NumPy's
    assert km.apply_pair("fmod", a, np.ones(3, np.float32)) is None  # a broadcast other than one value
    assert km.apply_pair("fmod", np.concatenate([a, a])[::2], 0.5) is None  # strided
    assert km.apply_pair("fmod", a, np.float64(0.5)) is None  # a NumPy scalar's own dtype


@pytest.mark.parametrize("op", ["fmod", "remainder"])
def test_the_float32_fmod_and_remainder_ops_run_here(op, monkeypatch):
    names = []
    apply_pair = km.apply_pair
    monkeypatch.setattr(km, "apply_pair", lambda name, a, b: names.append(name) or apply_pair(name, a, b))
    a, b = _pair_inputs(5000, seed=9)
    assert _same_bits(getattr(gg, op)(gg.tensor(a), gg.tensor(b)).numpy(), _numpy_pair(op, a, b))
    assert _same_bits(getattr(gg, op)(gg.tensor(a), 0.3).numpy(), _numpy_pair(op, a, np.float32(0.3)))
    assert names == [op, op]


# softplus with a beta (an array and two numbers) ----------------------------------------------------------------

def _softplus64(x: np.ndarray, beta: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """softplus and its derivative in float64 of the float32 product z = x beta (PyTorch's first step: its
    rounding moves e**z by |z| ulps in the far tail, in every implementation)."""
    z = (x * np.float32(beta)).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        y = np.where(z > threshold, x, np.logaddexp(0.0, z) / np.float32(beta))
        slope = np.where(z > threshold, 1.0, np.exp(-np.logaddexp(0.0, -z)))  # sigmoid, without cancelling
    return y, slope


@pytest.mark.parametrize("beta, threshold", [(2.0, 20.0), (0.5, 20.0), (1.0, 5.0), (3.0, -1.0)])
@pytest.mark.parametrize("size", [37, km.MIN_ELEMENTS + 3])
def test_softplus_with_a_beta_and_its_gradient_within_a_few_ulps(beta, threshold, size):
    x = _inputs(size, seed=size)
    x[-4:] = [threshold / beta, np.nextafter(np.float32(threshold / beta), np.float32(99)), 30.0, -30.0]
    gy = np.random.default_rng(1).standard_normal(size).astype(np.float32)
    y = km.apply_with_numbers("softplus_beta", x, beta, threshold)
    g = km.apply_with_numbers("softplus_beta_grad", x, beta, threshold, gy)
    want_y, slope = _softplus64(x, beta, threshold)
    want_g = gy * slope
    for got, want in ((y, want_y), (g, want_g)):
        assert got.dtype == np.float32
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan)
        finite = ~nan & np.isfinite(want)
        assert np.array_equal(got[~finite & ~nan], want[~finite & ~nan].astype(np.float32))  # the infinities
        err = np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]).astype(np.float32))
        assert float(err.max()) <= 4  # a few float32 roundings of the composite's steps


def test_softplus_with_a_beta_declines_what_it_does_not_take():
    x = np.ones(8, np.float32)
    assert km.apply_with_numbers("softplus_beta", x.astype(np.float64), 2.0, 20.0) is None
    assert km.apply_with_numbers("softplus_beta", np.ones(16, np.float32)[::2], 2.0, 20.0) is None
    assert km.apply_with_numbers("softplus_beta_grad", x, 2.0, 20.0, np.ones(4, np.float32)) is None


def test_the_softplus_op_with_a_beta_runs_here_and_differentiates_twice(monkeypatch):
    names = []
    real = km.apply_with_numbers
    monkeypatch.setattr(km, "apply_with_numbers", lambda name, *a: names.append(name) or real(name, *a))
    x0 = _inputs(300, seed=4)
    x0 = np.where(np.isfinite(x0), x0, 0.5).astype(np.float32)
    x = gg.tensor(x0, requires_grad=True)
    y = gg.nn.functional.softplus(x, beta=2.0)
    (g,) = gg.autograd.grad(y.sum(), x, create_graph=True)
    (h,) = gg.autograd.grad(g.sum(), x)
    assert names == ["softplus_beta", "softplus_beta_grad"]
    z = 2.0 * x0.astype(np.float64)
    s = 0.5 * (1 + np.tanh(z / 2))
    np.testing.assert_allclose(g.detach().numpy(), np.where(z > 20, 1.0, s), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h.numpy(), np.where(z > 20, 0.0, 2.0 * s * (1 - s)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("numbers", [(0.0, None, None), (1.5, 7.0, -2.5), (-0.0, 1e40, -1e40)])
def test_nan_to_num_gives_numpys_bits_and_the_op_runs_here(numbers, monkeypatch):
    nan, posinf, neginf = numbers
    x = _inputs(70_001, seed=8)
    x[::7], x[1::11], x[2::13] = np.nan, np.inf, -np.inf
    with np.errstate(over="ignore"):
        want = np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
        top = np.finfo(np.float32).max
        got = km.apply_with_numbers("nan_to_num", x, nan, top if posinf is None else posinf, None,
                                    -top if neginf is None else neginf)
        assert _same_bits(got, want)
        names = []
        real = km.apply_with_numbers
        monkeypatch.setattr(km, "apply_with_numbers", lambda name, *a: names.append(name) or real(name, *a))
        assert _same_bits(gg.nan_to_num(gg.tensor(x), nan=nan, posinf=posinf, neginf=neginf).numpy(), want)
    assert names == ["nan_to_num"]
