"""Pointwise math (gpugrad/ops/pointwise.py): edge points, dtypes, out=, in-place variants and errors.

Gradients away from edge points are covered by the op table (tests/ops/table/pointwise.py); here are the
values and gradients at the points where PyTorch's conventions decide (infinities, NaN, domain ends, the
origin of atan2 and hypot, x = 0 in xlogy), the accuracy of erfinv, and round's halves and decimals.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg
from gpugrad import _erf
from gpugrad.errors import DTypeError, ShapeError

UNARY_FLOAT = [
    "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "exp2", "expm1",
    "erf", "erfc", "erfinv", "rsqrt", "reciprocal", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
]
ROUNDING = ["floor", "ceil", "round", "trunc", "fix"]
UNARY = UNARY_FLOAT + ROUNDING + ["frac", "square"]
BINARY = ["atan2", "arctan2", "logaddexp", "logaddexp2", "hypot", "xlogy"]
SPECIAL = [-math.inf, -3.0, -1.0, -0.5, -0.0, 0.0, 1e-300, 0.5, 1.0, 1.5, 3.0, math.inf, math.nan]


def grad_of(name, *values, dtype=gg.float64, **kwargs):
    """Value and input gradients of ``gg.<name>(*values).sum()``."""
    xs = [gg.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    with np.errstate(all="ignore"):
        y = getattr(gg, name)(*xs, **kwargs)
        y.sum().backward()
    return y.detach().numpy(), [x.grad.numpy() for x in xs]


# Known values, without PyTorch ------------------------------------------------------------------------
@pytest.mark.parametrize("name, x, y, dy", [
    ("asin", 1.0, math.pi / 2, math.inf),
    ("asin", -1.0, -math.pi / 2, math.inf),
    ("acos", 1.0, 0.0, -math.inf),
    ("acosh", 1.0, 0.0, math.inf),
    ("atanh", 1.0, math.inf, math.inf),
    ("rsqrt", 0.0, math.inf, -math.inf),
    ("reciprocal", 0.0, math.inf, -math.inf),
    ("erfinv", 1.0, math.inf, math.inf),
    ("erfinv", 0.0, 0.0, math.sqrt(math.pi) / 2),
    ("erfc", math.inf, 0.0, -0.0),
    ("expm1", -math.inf, -1.0, 0.0),
    ("log2", 8.0, 3.0, 1 / (8 * math.log(2))),
    ("log10", 1000.0, 3.0, 1 / (1000 * math.log(10))),
    ("exp2", 10.0, 1024.0, 1024 * math.log(2)),
    ("asinh", math.inf, math.inf, 0.0),
])
def test_values_and_slopes_at_domain_edges(name, x, y, dy):
    value, (grad,) = grad_of(name, [x])
    assert value[0] == pytest.approx(y, rel=1e-15)
    assert grad[0] == pytest.approx(dy, rel=1e-15)


@pytest.mark.parametrize("name, x", [("asin", 1.5), ("acos", -1.5), ("acosh", 0.5), ("erfinv", 1.5), ("rsqrt", -1.0)])
def test_outside_the_domain_is_nan_with_nan_gradient(name, x):
    value, (grad,) = grad_of(name, [x])
    assert np.isnan(value[0]) and np.isnan(grad[0])


@pytest.mark.parametrize("name", UNARY_FLOAT + ["frac", "square"])
def test_nan_propagates_through_value_and_gradient(name):
    inside = 1.25 if name in ("acosh", "arccosh") else 0.25
    value, (grad,) = grad_of(name, [math.nan, inside])
    assert np.isnan(value[0]) and not np.isnan(value[1])
    if name != "frac":  # frac's derivative is the constant 1
        assert np.isnan(grad[0])


def test_xlogy_is_zero_where_x_is_zero_and_its_x_gradient_too():
    value, (gx, gy) = grad_of("xlogy", [0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 2.0, math.inf, math.nan, 0.5])
    np.testing.assert_array_equal(value, [0.0, 0.0, 0.0, math.nan, 2 * math.log(0.5)])
    # d/dx is log y except where x == 0 and y <= 0; d/dy = x / y (0/0 is NaN at the origin).
    np.testing.assert_array_equal(gx, [0.0, math.log(2.0), math.inf, math.nan, math.log(0.5)])
    np.testing.assert_array_equal(gy, [math.nan, 0.0, 0.0, math.nan, 4.0])


@pytest.mark.parametrize("shape, other_shape", [((37, 29), (37, 29)), ((700, 3001), (3001,))])
def test_float32_xlogy_is_x_times_gpugrads_log_in_one_pass(shape, other_shape):
    # x * gg.log(y) (float32 log: kernels/_vmath) bit for bit, 0 where x == 0 unless y is NaN; the large
    # one over the threads, broadcast
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 3, shape).astype(np.float32)
    y = rng.uniform(-0.5, 4, other_shape).astype(np.float32)
    x.flat[::7] = 0.0
    y.flat[:6] = [0.0, np.inf, np.nan, -1.0, 1e-40, 3e38]
    got = gg.xlogy(gg.tensor(x), gg.tensor(y)).numpy()
    product = (gg.tensor(x) * gg.tensor(y).log()).numpy()
    expected = np.where((x == 0) & ~np.isnan(np.broadcast_to(y, shape)), np.float32(0.0), product)
    np.testing.assert_array_equal(got, expected)


def test_float32_logaddexp_in_one_pass_within_an_ulp_and_at_the_edges():
    # (kernel: max + log1p(e**-|a - b|) in float32, as softplus's; large enough for the threads)
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(300_001) * 30).astype(np.float32)
    b = (rng.standard_normal(300_001) * 30).astype(np.float32)
    b[:999] = a[:999] + np.float32(1e-3)
    got = gg.logaddexp(gg.tensor(a), gg.tensor(b)).numpy()
    exact = np.logaddexp(a.astype(np.float64), b.astype(np.float64))
    far = np.abs(exact) > 2  # (near 0 the sum cancels, for every implementation)
    ulp = np.abs(got[far] - exact[far]) / np.spacing(np.abs(exact[far]).astype(np.float32))
    assert got.dtype == np.float32 and float(ulp.max()) <= 1.0  # measured 0.70, PyTorch's 0.70
    inf, nan = math.inf, math.nan
    x = np.array([inf, -inf, inf, -inf, nan, 1.0, 3e38, -3e38, 0.0, -0.0], np.float32)
    y = np.array([inf, -inf, -inf, 1.0, 1.0, nan, 3e38, -3e38, -0.0, -0.0], np.float32)
    with np.errstate(invalid="ignore"):
        expected = np.logaddexp(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(gg.logaddexp(gg.tensor(x), gg.tensor(y)).numpy(), expected)


def test_float32_hypot_in_one_pass_has_libms_bits():
    # (kernel: in float64, as glibc's hypotf; large enough for the threads)
    rng = np.random.default_rng(4)
    a = (rng.standard_normal(300_001) * 10.0 ** rng.integers(-40, 38, 300_001)).astype(np.float32)
    b = (rng.standard_normal(300_001) * 10.0 ** rng.integers(-40, 38, 300_001)).astype(np.float32)
    a[:8] = [math.inf, math.nan, -math.inf, 0.0, -0.0, 3e38, 1e-45, math.nan]
    b[:8] = [math.nan, -math.inf, 1.0, 0.0, -0.0, 3e38, 1e-45, 1.0]
    with np.errstate(all="ignore"):
        expected = np.hypot(a, b)
    np.testing.assert_array_equal(gg.hypot(gg.tensor(a), gg.tensor(b)).numpy(), expected)


def test_logaddexp_with_infinities():
    inf = math.inf
    value, (ga, gb) = grad_of("logaddexp", [-inf, inf, inf, -inf, 0.0], [-inf, inf, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(value, [-inf, inf, inf, 1.0, math.log(2.0)])
    np.testing.assert_array_equal(ga, [math.nan, math.nan, 1.0, 0.0, 0.5])
    np.testing.assert_array_equal(gb, [math.nan, math.nan, 0.0, 1.0, 0.5])


def test_atan2_at_the_origin_has_zero_gradient_and_hypot_nan():
    value, (ga, gb) = grad_of("atan2", [0.0, 1.0], [0.0, 1.0])
    np.testing.assert_allclose(value, [0.0, math.pi / 4])
    np.testing.assert_array_equal(ga, [0.0, 0.5])
    np.testing.assert_array_equal(gb, [0.0, -0.5])
    value, (ga, gb) = grad_of("hypot", [0.0, 3.0], [0.0, 4.0])
    np.testing.assert_array_equal(value, [0.0, 5.0])
    np.testing.assert_allclose(ga, [math.nan, 0.6])
    np.testing.assert_allclose(gb, [math.nan, 0.8])


def test_rounding_ops_have_zero_gradient_even_for_infinite_upstream_gradients():
    x = gg.tensor([0.5, 1.5, -2.7], dtype=gg.float64, requires_grad=True)
    for name in ROUNDING:
        x.grad = None
        getattr(gg, name)(x).backward(gg.tensor([math.inf, math.nan, 1.0], dtype=gg.float64))
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_round_halves_go_to_even_and_negative_decimals_round_to_tens():
    x = gg.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 3.7], dtype=gg.float64)
    np.testing.assert_array_equal(gg.round(x).numpy(), [0.0, 2.0, 2.0, -0.0, -2.0, 4.0])
    tens = gg.tensor([15.0, 25.0, 35.0, -25.0, 149.0, 151.0], dtype=gg.float64)
    np.testing.assert_array_equal(gg.round(tens, decimals=-1).numpy(), [20.0, 20.0, 40.0, -20.0, 150.0, 150.0])
    np.testing.assert_array_equal(gg.round(tens, decimals=-2).numpy(), [0.0, 0.0, 0.0, -0.0, 100.0, 200.0])
    # 0.125 * 100 is exactly 12.5 (to even: 12); 2.675 * 100 rounds up to 267.5 in float64 (to even: 268).
    np.testing.assert_array_equal(gg.round(gg.tensor([0.125, 0.375, 2.675], dtype=gg.float64), decimals=2).numpy(),
                                  [0.12, 0.38, 2.68])


def test_frac_keeps_the_sign_and_trunc_rounds_towards_zero():
    x = gg.tensor([-1.75, 1.75, -0.0, math.inf], dtype=gg.float64)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(gg.frac(x).numpy(), [-0.75, 0.75, 0.0, math.nan])
    np.testing.assert_array_equal(gg.trunc(x).numpy(), [-1.0, 1.0, -0.0, math.inf])
    np.testing.assert_array_equal(gg.fix(x).numpy(), gg.trunc(x).numpy())


# erf, erfc, erfinv ----------------------------------------------------------------------------------
def test_erf_and_erfc_match_the_standard_library():
    xs = np.concatenate([np.linspace(-6, 6, 241), [-30.0, 27.0, 1e-300, -0.0]])
    for dtype in (gg.float64, gg.float32):
        x = gg.tensor(xs, dtype=dtype)
        x64 = x.numpy().astype(np.float64)
        rtol = 1e-15 if dtype is gg.float64 else 1e-6
        np.testing.assert_allclose(gg.erf(x).numpy(), [math.erf(v) for v in x64], rtol=rtol, atol=1e-300)
        np.testing.assert_allclose(gg.erfc(x).numpy(), [math.erfc(v) for v in x64], rtol=rtol * 4, atol=1e-300)
        assert gg.erf(x).dtype is dtype and gg.erfc(x).dtype is dtype


@pytest.mark.parametrize("name, sign", [("erf", 1.0), ("erfc", -1.0)])
def test_float32_erf_and_erfc_gradients_are_rounded_from_the_exact_slope(name, sign):
    x = np.concatenate([np.linspace(-11, 11, 2001), [0.0, -0.0, np.inf, -np.inf]]).astype(np.float32)
    for t in (gg.tensor(x, requires_grad=True), gg.tensor(x.astype(np.float64), requires_grad=True)):
        getattr(gg, name)(t).sum().backward()
        exact = sign * 2 / math.sqrt(math.pi) * np.exp(-(x.astype(np.float64) ** 2))
        dtype = t.grad.numpy().dtype
        np.testing.assert_allclose(t.grad.numpy(), exact.astype(dtype), rtol=6e-8 if dtype == np.float32 else 1e-15,
                                   atol=float(np.finfo(dtype).smallest_subnormal))  # rounded into the subnormals
        assert t.grad.dtype is t.dtype and np.signbit(t.grad.numpy()[-1]) == (sign < 0)
    t = gg.tensor(x[:50], requires_grad=True)
    (g,) = gg.autograd.grad(getattr(gg, name)(t).sum(), t, create_graph=True)
    (second,) = gg.autograd.grad(g.sum(), t)  # -2x times the slope
    np.testing.assert_allclose(second.numpy(), -2 * x[:50] * g.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("y, x", [
    (0.5, 0.4769362762044699),
    (-0.5, -0.4769362762044699),
    (0.9, 1.1630871536766743),
    (0.999, 2.3267537655135246),
    (1e-300, 8.862269254527580e-301),
    (5e-324, 5e-324),
])
def test_erfinv_known_values(y, x):
    assert gg.erfinv(gg.tensor([y], dtype=gg.float64)).item() == pytest.approx(x, rel=4e-16)


def test_erfinv_inverts_erf_across_the_domain_and_into_the_tails():
    rng = np.random.default_rng(7)
    centre = rng.uniform(-1, 1, 4000)
    tails = 1.0 - 10.0 ** -rng.uniform(1, 15.9, 2000)
    x = gg.erfinv(gg.tensor(np.concatenate([centre, tails]), dtype=gg.float64)).numpy()
    back = np.array([math.erf(v) for v in x[:4000]])
    np.testing.assert_allclose(back, centre, rtol=3e-16, atol=3e-17)
    # In the tails the inverse is ill-conditioned in y but well conditioned in 1 - y: compare erfc with it.
    # erfc's condition number there is 2x^2 (up to 70 at x = 5.9): an ulp of x moves erfc by 1.5e-14.
    back_c = np.array([math.erfc(v) for v in x[4000:]])
    np.testing.assert_allclose(back_c, 1.0 - tails, rtol=3e-14)
    # The last representable point below 1.
    assert gg.erfinv(gg.tensor([1 - 2**-53], dtype=gg.float64)).item() == pytest.approx(5.863584748755167, rel=1e-15)


def test_erfinv_at_and_beyond_the_ends():
    y = gg.tensor([1.0, -1.0, 1.0000001, -2.0, math.inf, math.nan, 0.0, -0.0], dtype=gg.float64)
    out = gg.erfinv(y).numpy()
    np.testing.assert_array_equal(out, [math.inf, -math.inf, math.nan, math.nan, math.nan, math.nan, 0.0, -0.0])
    assert np.signbit(out[-1]) and not np.signbit(out[-2])


def test_erfinv_in_array_operations_agrees_with_the_compiled_cpu_path():
    """erfinv_reference (any xp: the CuPy path) and the Numba CPU kernel are two codings of one method."""
    rng = np.random.default_rng(8)
    y = np.concatenate([rng.uniform(-1, 1, 3000), 1 - 10.0 ** -rng.uniform(1, 15.9, 300), -(1 - 2.0 ** -rng.integers(2, 54, 50)),
                        [0.0, -0.0, 1.0, -1.0, 1.5, -math.inf, math.nan, 5e-324]])
    ref = _erf.erfinv_reference(np, y)
    cpu = _erf.erfinv(np, y)
    np.testing.assert_allclose(cpu, ref, rtol=5e-16, atol=0)
    np.testing.assert_array_equal(np.signbit(cpu[np.isfinite(cpu)]), np.signbit(ref[np.isfinite(ref)]))
    y32 = y.astype(np.float32)
    assert _erf.erfinv_reference(np, y32).dtype == np.float32 and _erf.erfinv(np, y32).dtype == np.float32
    np.testing.assert_array_equal(_erf.erfinv_reference(np, y32), _erf.erfinv(np, y32))


# dtypes -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", UNARY_FLOAT)
@pytest.mark.parametrize("dtype", [gg.int64, gg.bool])
def test_float_functions_of_integer_and_bool_tensors_are_float32(name, dtype):
    x = gg.tensor([1, 0], dtype=dtype)
    with np.errstate(all="ignore"):
        y = getattr(gg, name)(x)
        expected = getattr(gg, name)(gg.tensor([1.0, 0.0]))
    assert y.dtype is gg.float32
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ROUNDING)
def test_rounding_an_integer_tensor_returns_a_copy_of_it(name):
    x = gg.tensor([3, -2], dtype=gg.int64)
    y = getattr(gg, name)(x)
    assert y.dtype is gg.int64 and y.tolist() == [3, -2]
    y._array[0] = 7
    assert x.tolist() == [3, -2]


@pytest.mark.parametrize("name", ROUNDING + ["frac"])
def test_rounding_a_bool_tensor_is_an_error(name):
    with pytest.raises(DTypeError, match=f"^{name}: "):
        getattr(gg, name)(gg.tensor([True, False]))


def test_frac_and_round_with_decimals_of_integers_are_errors():
    with pytest.raises(DTypeError, match="^frac: "):
        gg.frac(gg.tensor([1, 2]))
    with pytest.raises(DTypeError, match="^round: "):
        gg.round(gg.tensor([1, 2]), decimals=1)


def test_square_keeps_integers_and_squares_bool_to_int64():
    assert gg.square(gg.tensor([3, -2])).tolist() == [9, 4]
    y = gg.square(gg.tensor([True, False]))
    assert y.dtype is gg.int64 and y.tolist() == [1, 0]


@pytest.mark.parametrize("name", BINARY)
def test_binary_results_follow_promotion(name):
    f32, f64, i64 = gg.tensor([1.0, 2.0]), gg.tensor([1.0, 2.0], dtype=gg.float64), gg.tensor([1, 2])
    fn = getattr(gg, name)
    assert fn(f32, f64).dtype is gg.float64
    assert fn(i64, f32).dtype is gg.float32
    if name in ("atan2", "arctan2", "xlogy"):
        assert fn(i64, i64).dtype is gg.float32
        assert fn(gg.tensor([True]), gg.tensor([True])).dtype is gg.float32
    else:  # PyTorch has no integer logaddexp or hypot
        with pytest.raises(DTypeError, match=f"^{name}: "):
            fn(i64, i64)


def test_xlogy_takes_numbers_on_either_side_the_others_do_not():
    x = gg.tensor([0.0, 1.0, 2.0])
    np.testing.assert_allclose(gg.xlogy(x, 3).numpy(), [0.0, math.log(3), 2 * math.log(3)], rtol=1e-6)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(gg.xlogy(2.0, x).numpy(), [-math.inf, 0.0, 2 * math.log(2)], rtol=1e-6)
    assert gg.xlogy(gg.tensor([1, 2]), 2.5).dtype is gg.float32
    assert gg.xlogy(x, 2).dtype is gg.float32
    for name in ("atan2", "logaddexp", "logaddexp2", "hypot"):
        with pytest.raises(TypeError, match=f"^{name}\\(\\): argument 'other'"):
            getattr(gg, name)(x, 2.0)
        with pytest.raises(TypeError, match=f"^{name}\\(\\): argument 'input'"):
            getattr(gg, name)(2.0, x)


# Reference derivatives in NumPy, for the broadcasting test: (f, df/da, df/db) on float64 arrays.
BINARY_REFERENCE = {
    "atan2": (np.arctan2, lambda a, b: b / (a * a + b * b), lambda a, b: -a / (a * a + b * b)),
    "hypot": (np.hypot, lambda a, b: a / np.hypot(a, b), lambda a, b: b / np.hypot(a, b)),
    "logaddexp": (np.logaddexp, lambda a, b: 1 / (1 + np.exp(b - a)), lambda a, b: 1 / (1 + np.exp(a - b))),
    "logaddexp2": (np.logaddexp2, lambda a, b: 1 / (1 + 2.0 ** (b - a)), lambda a, b: 1 / (1 + 2.0 ** (a - b))),
    "xlogy": (lambda a, b: a * np.log(b), lambda a, b: np.log(b) + 0 * a, lambda a, b: a / b),
}


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(BINARY_REFERENCE)), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_ops_broadcast_and_reduce_gradients_to_each_input(name, shapes, seed):
    rng = np.random.default_rng(seed)
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = rng.uniform(0.2, 2.0, shape_a), rng.uniform(0.2, 2.0, shape_b)
    f, dfa, dfb = BINARY_REFERENCE[name]
    u = rng.standard_normal(out_shape)
    value, (ga, gb) = grad_of_with(name, a, b, u)
    np.testing.assert_allclose(value, f(a, b), rtol=1e-13)
    axes_a = tuple(range(len(out_shape) - len(shape_a)))
    axes_b = tuple(range(len(out_shape) - len(shape_b)))
    expected_a = (u * np.broadcast_to(dfa(a, b), out_shape)).sum(axis=axes_a)
    expected_b = (u * np.broadcast_to(dfb(a, b), out_shape)).sum(axis=axes_b)
    expected_a = expected_a.sum(axis=tuple(i for i, n in enumerate(shape_a) if n == 1), keepdims=True) if shape_a else expected_a
    expected_b = expected_b.sum(axis=tuple(i for i, n in enumerate(shape_b) if n == 1), keepdims=True) if shape_b else expected_b
    assert ga.shape == a.shape and gb.shape == b.shape
    np.testing.assert_allclose(ga, expected_a.reshape(a.shape), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb, expected_b.reshape(b.shape), rtol=1e-12, atol=1e-14)


def grad_of_with(name, a, b, cotangent):
    xs = [gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in (a, b)]
    y = getattr(gg, name)(*xs)
    y.backward(gg.tensor(cotangent, dtype=gg.float64))
    return y.detach().numpy(), [x.grad.numpy() for x in xs]


# Errors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BINARY)
def test_shapes_that_do_not_broadcast_are_named_by_the_function_called(name):
    with pytest.raises(ShapeError, match=rf"^{name}: shapes \(2, 3\) and \(4,\)"):
        getattr(gg, name)(gg.zeros(2, 3), gg.ones(4))


def test_a_number_where_a_tensor_is_needed_is_a_type_error():
    with pytest.raises(TypeError, match="^arcsin\\(\\): argument 'input' must be Tensor, not float"):
        gg.arcsin(0.5)
    with pytest.raises(TypeError, match="^xlogy\\(\\): expected a Tensor for 'input' or 'other', got int and float"):
        gg.xlogy(2, 3.0)


def test_round_decimals_beyond_float_range_is_an_argument_error():
    with pytest.raises(gg.errors.ArgumentError, match="^round: decimals=400"):
        gg.round(gg.ones(2), decimals=400)


# out= and in-place variants -------------------------------------------------------------------------
def _call(name, x, other, **kwargs):
    fn = getattr(gg, name)
    return fn(x, other, **kwargs) if name in BINARY else fn(x, **kwargs)


@pytest.mark.parametrize("name", UNARY + BINARY)
def test_out_receives_the_result(name):
    x = gg.tensor([0.25, 0.5, 0.75])
    other = gg.tensor([1.5, 0.5, 2.0])
    out = gg.zeros(1)
    with np.errstate(invalid="ignore"):  # acosh below 1 is NaN
        expected = _call(name, x, other)
        assert _call(name, x, other, out=out) is out
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_out_refuses_inputs_that_need_gradients():
    x = gg.tensor([0.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="^tan\\(\\): functions with out=..."):
        gg.tan(x, out=gg.zeros(1))


@pytest.mark.parametrize("name", UNARY + [b for b in BINARY if not b.startswith("logaddexp")])
def test_in_place_variant_writes_the_out_of_place_result(name):
    x = gg.tensor([0.25, 0.5, 0.75])
    other = gg.tensor([1.5, 0.5, 2.0])
    args = (other,) if name in BINARY else ()
    with np.errstate(invalid="ignore"):  # acosh below 1 is NaN
        expected = _call(name, x, other)
        assert getattr(x, name + "_")(*args) is x
    np.testing.assert_array_equal(x.numpy(), expected.numpy())


def test_logaddexp_has_no_in_place_variant_as_in_pytorch():
    assert not hasattr(gg.ones(1), "logaddexp_") and not hasattr(gg.ones(1), "logaddexp2_")


def test_in_place_round_with_decimals_and_recorded_in_place_ops_differentiate():
    x = gg.tensor([1.234, 5.678], dtype=gg.float64)
    x.round_(decimals=1)
    np.testing.assert_allclose(x.numpy(), [1.2, 5.7])
    leaf = gg.tensor([0.2, 0.4], dtype=gg.float64, requires_grad=True)
    h = leaf * 1.0
    h.asin_()
    h.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 1 / np.sqrt(1 - np.array([0.2, 0.4]) ** 2), rtol=1e-14)


def test_in_place_float_function_of_an_integer_tensor_is_an_error():
    with pytest.raises(DTypeError, match="^tan_: "):
        gg.tensor([1, 2]).tan_()
    x = gg.tensor([1, 2])
    x.floor_()  # already integral: allowed, unchanged
    assert x.tolist() == [1, 2]


def test_empty_and_zero_dimensional_tensors():
    for name in UNARY:
        assert getattr(gg, name)(gg.zeros(0, 3)).shape == (0, 3)
        with np.errstate(invalid="ignore"):  # 0.5 is outside acosh's domain
            assert getattr(gg, name)(gg.tensor(0.5)).shape == ()
    assert gg.atan2(gg.tensor(1.0), gg.ones(0)).shape == (0,)


# Against PyTorch -------------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_and_gradients_at_special_points_match_pytorch(name):
    torch = pytest.importorskip("torch")
    value, (grad,) = grad_of(name, SPECIAL)
    t = torch.tensor(SPECIAL, dtype=torch.float64, requires_grad=True)
    ref = getattr(torch, name)(t)
    ref.sum().backward()
    np.testing.assert_allclose(value, ref.detach().numpy(), rtol=1e-13, equal_nan=True)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-13, equal_nan=True)


@pytest.mark.torch
@pytest.mark.parametrize("name", BINARY)
def test_binary_values_and_gradients_on_a_grid_of_special_points_match_pytorch(name):
    torch = pytest.importorskip("torch")
    a, b = (v.ravel().tolist() for v in np.meshgrid(SPECIAL, SPECIAL))
    value, grads = grad_of(name, a, b)
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b)]
    ref = getattr(torch, name)(*ts)
    ref.sum().backward()
    # atol: logaddexp2(-1, -1) is exactly 0 here and -1 + log1p(1)/ln 2 = -5e-17 in PyTorch.
    np.testing.assert_allclose(value, ref.detach().numpy(), rtol=1e-13, atol=1e-15, equal_nan=True)
    for mine, t in zip(grads, ts):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-13, equal_nan=True)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["xlogy", "atan2", "hypot", "logaddexp"])
def test_second_derivatives_at_special_points_match_pytorch(name):
    torch = pytest.importorskip("torch")
    a = [0.0, 0.0, 1.0, 0.0, 2.0]
    b = [0.0, 2.0, 2.0, 1.5, 0.0]
    xs = [gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in (a, b)]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b)]
    with np.errstate(all="ignore"):
        g = gg.grad(getattr(gg, name)(*xs).sum(), xs, create_graph=True)
        h = gg.grad(g[0].sum() + g[1].sum(), xs, allow_unused=True)
    tg = torch.autograd.grad(getattr(torch, name)(*ts).sum(), ts, create_graph=True)
    th = torch.autograd.grad(tg[0].sum() + tg[1].sum(), ts, allow_unused=True)
    for mine, ref in zip(h, th):
        expected = np.zeros(5) if ref is None else ref.numpy()
        got = np.zeros(5) if mine is None else mine.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15, equal_nan=True)


@pytest.mark.torch
@pytest.mark.parametrize("name", UNARY_FLOAT + ["frac"])
def test_float32_values_match_pytorch(name):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).uniform(-3, 3, 200).astype(np.float32)
    with np.errstate(all="ignore"):
        ours = getattr(gg, name)(gg.tensor(x)).numpy()
    ref = getattr(torch, name)(torch.tensor(x)).numpy()
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=2e-6, atol=1e-30, equal_nan=True)


@pytest.mark.torch
def test_erfinv_matches_pytorch_in_both_float_dtypes_up_to_the_ends():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    y = np.concatenate([rng.uniform(-1, 1, 5000), 1 - 10.0 ** -rng.uniform(1, 15.9, 500), [1 - 2**-53, -(1 - 2**-53)]])
    np.testing.assert_allclose(gg.erfinv(gg.tensor(y, dtype=gg.float64)).numpy(),
                               torch.erfinv(torch.tensor(y)).numpy(), rtol=5e-16)
    y32 = np.concatenate([y[:5000], [1 - 2**-24, 2**-149]]).astype(np.float32)
    np.testing.assert_allclose(gg.erfinv(gg.tensor(y32)).numpy(), torch.erfinv(torch.tensor(y32)).numpy(), rtol=3e-7)


@pytest.mark.torch
@settings(max_examples=60, deadline=None)
@given(
    decimals=st.integers(-4, 6),
    dtype=st.sampled_from(["float32", "float64"]),
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32) | st.sampled_from([0.5, 2.5, -1.5, 0.125, 12.5, 250.0]),
                    min_size=1, max_size=20),
)
def test_round_with_decimals_matches_pytorch(decimals, dtype, values):
    torch = pytest.importorskip("torch")
    ours = gg.round(gg.tensor(values, dtype=getattr(gg, dtype)), decimals=decimals).numpy()
    ref = torch.round(torch.tensor(values, dtype=getattr(torch, dtype)), decimals=decimals).numpy()
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.torch
@pytest.mark.parametrize("name", BINARY)
def test_binary_promotion_and_broadcasting_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0.1, 2, (3, 1)), rng.uniform(0.1, 2, (4,))
    for da, db in [("float32", "float64"), ("int64", "float32"), ("float64", "float64")]:
        ours = getattr(gg, name)(gg.tensor(a * 3, dtype=getattr(gg, da)), gg.tensor(b, dtype=getattr(gg, db)))
        ref = getattr(torch, name)(torch.tensor(a * 3).to(getattr(torch, da)), torch.tensor(b).to(getattr(torch, db)))
        assert str(ours.dtype) == str(ref.dtype)
        assert tuple(ours.shape) == tuple(ref.shape)
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float16", "int8", "int16", "int32", "uint8"])
def test_storage_dtypes_give_pytorch_result_dtypes_values_and_errors(dtype):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).uniform(-3, 3, 40)
    t = torch.tensor(x if dtype == "float16" else np.abs(x) * 10).to(getattr(torch, dtype))
    ours_in = gg.tensor(t.numpy())
    for name in UNARY:
        try:
            ref = getattr(torch, name)(t)
        except RuntimeError:  # PyTorch has no integer frac
            with pytest.raises(DTypeError, match=f"^{name}: "):
                getattr(gg, name)(ours_in)
            continue
        with np.errstate(all="ignore"):
            ours = getattr(gg, name)(ours_in)
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], name
        np.testing.assert_allclose(ours.numpy().astype(np.float64), ref.numpy().astype(np.float64),
                                   rtol=2e-3, atol=1e-44, equal_nan=True, err_msg=name)
    if dtype == "float16":  # round(decimals) scales in float32, as PyTorch's float16 kernel
        for decimals in (-1, 1, 2):
            np.testing.assert_array_equal(gg.round(ours_in * 37, decimals=decimals).numpy(),
                                          torch.round(t * 37, decimals=decimals).numpy())


# On the "cuda" device: a real GPU (CuPy arrays, cupyx's erf and erfc, erfinv in array operations) or
# Numba's simulator in CI (its own process with GPUGRAD_SIMULATE_CUDA=1 and NUMBA_ENABLE_CUDASIM=1).
cuda_usable = gg.cuda.is_available() or gg.backend.simulating_cuda()
needs_cuda = pytest.mark.skipif(not cuda_usable, reason="needs a GPU or the CUDA simulator")


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("name", UNARY + BINARY)
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_values_and_gradients_on_the_cuda_device_match_the_cpu(name, dtype):
    rng = np.random.default_rng(9)
    a = np.concatenate([rng.uniform(-0.99, 0.99, 30), 1 - 10.0 ** -rng.uniform(1, 7, 5), [0.0, 1.0, -1.0, 1.5]])
    b = rng.uniform(0.1, 2.0, a.shape)
    u = rng.standard_normal(a.shape)
    results = []
    for device in ("cpu", "cuda"):
        xs = [gg.tensor(v, dtype=dtype, device=device, requires_grad=True) for v in ((a, b) if name in BINARY else (a,))]
        with np.errstate(all="ignore"):
            y = getattr(gg, name)(*xs)
            y.backward(gg.tensor(u, dtype=dtype, device=device))
        results.append([y.detach().cpu().numpy()] + [x.grad.cpu().numpy() for x in xs])
    rtol = 1e-5 if dtype is gg.float32 else 1e-13
    for on_cpu, on_gpu in zip(*results):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=rtol, atol=1e-30, equal_nan=True)


@pytest.mark.cudasim
@needs_cuda
def test_mixing_devices_in_a_binary_op_names_the_function_and_both_devices():
    with pytest.raises(gg.DeviceError, match="^hypot: .*cpu and cuda:0"):
        gg.hypot(gg.ones(2), gg.ones(2, device="cuda"))


def test_angles_and_logit_at_the_edges():
    assert gg.deg2rad(gg.tensor([180, -90])).tolist() == pytest.approx([math.pi, -math.pi / 2])
    assert gg.deg2rad(gg.tensor([180])).dtype is gg.float32 and gg.rad2deg(gg.tensor([True])).dtype is gg.float32
    assert gg.rad2deg(gg.tensor([math.pi], dtype=gg.float64)).item() == pytest.approx(180.0, rel=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = gg.logit(gg.tensor([0.0, 0.5, 1.0, 2.0, math.nan], dtype=gg.float64)).tolist()
    assert out[:3] == [-math.inf, 0.0, math.inf] and math.isnan(out[3]) and math.isnan(out[4])
    x = gg.tensor([0.05, 0.5, 0.95], requires_grad=True)
    gg.logit(x, eps=0.1).sum().backward()  # clamped values take no gradient, as PyTorch
    assert x.grad.tolist() == pytest.approx([0.0, 4.0, 0.0])
    y = gg.tensor([0.5, 0.25])
    assert y.logit_() is y and y.tolist() == pytest.approx([0.0, math.log(1 / 3)])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_angles_and_logit_match_pytorch(dtype):
    torch = pytest.importorskip("torch")
    x = np.array([0, 1, -1, 0.25, 0.75, 90, -180, 0.5], dtype=dtype)
    for name, kwargs in (("deg2rad", {}), ("rad2deg", {}), ("logit", {}), ("logit", {"eps": 0.3})):
        with np.errstate(divide="ignore", invalid="ignore"):
            mine = getattr(gg, name)(gg.tensor(x), **kwargs)
        theirs = getattr(torch, name)(torch.tensor(x), **kwargs)
        assert mine.dtype.name == str(theirs.dtype).removeprefix("torch."), name
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6, equal_nan=True, err_msg=name)


def test_heaviside_gcd_lcm_and_fmax():
    assert gg.heaviside(gg.tensor([-1.0, 0.0, 2.0]), gg.tensor([0.5])).tolist() == [0.0, 0.5, 1.0]
    assert gg.heaviside(gg.tensor([math.nan]), gg.tensor([1.0])).item() == 0.0  # PyTorch's, not NumPy's NaN
    with pytest.raises(DTypeError, match="heaviside"):
        gg.heaviside(gg.tensor([1.0]), gg.tensor([1]))
    assert gg.gcd(gg.tensor([12, -9, 0]), gg.tensor([18, 6, 0])).tolist() == [6, 3, 0]
    assert gg.tensor([4, 6]).lcm(gg.tensor(10)).tolist() == [20, 30]
    with pytest.raises(DTypeError, match="gcd"):
        gg.gcd(gg.tensor([1.5]), gg.tensor([2.0]))
    a, b = gg.tensor([1.0, math.nan, 3.0, math.nan]), gg.tensor([2.0, 1.0, math.nan, math.nan])
    out = gg.fmax(a, b).tolist()
    assert out[:3] == [2.0, 1.0, 3.0] and math.isnan(out[3]) and gg.fmin(a, b).tolist()[:3] == [1.0, 1.0, 3.0]
    x, y = gg.tensor([2.0, 1.0], requires_grad=True), gg.tensor([2.0, 3.0], requires_grad=True)
    gg.fmax(x, y).sum().backward()  # a tie's gradient goes to input alone, as PyTorch's
    assert x.grad.tolist() == [1.0, 0.0] and y.grad.tolist() == [0.0, 1.0]


@pytest.mark.torch
def test_heaviside_gcd_lcm_ldexp_fmin_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([-2.0, 0.0, 0.0, 3.0, np.nan], np.float32)
    np.testing.assert_array_equal(gg.heaviside(gg.tensor(x), gg.tensor([0.25], dtype=gg.float32)).numpy(),
                                  torch.heaviside(torch.tensor(x), torch.tensor([0.25])).numpy())
    i, j = np.array([12, -8, 0, 7]), np.array([-18, 12, 5, 0])
    for name in ("gcd", "lcm"):
        np.testing.assert_array_equal(getattr(gg, name)(gg.tensor(i), gg.tensor(j)).numpy(),
                                      getattr(torch, name)(torch.tensor(i), torch.tensor(j)).numpy())
    np.testing.assert_allclose(gg.ldexp(gg.tensor(x), gg.tensor([1, 2, -1, 3, 0])).numpy(),
                               torch.ldexp(torch.tensor(x), torch.tensor([1, 2, -1, 3, 0])).numpy(), equal_nan=True)
    y = np.array([1.0, np.nan, -0.5, 2.0, np.nan], np.float32)
    np.testing.assert_array_equal(gg.fmin(gg.tensor(x), gg.tensor(y)).numpy(), torch.fmin(torch.tensor(x), torch.tensor(y)).numpy())


def test_sinc_at_zero_and_angle_at_the_edges():
    x = gg.tensor([0.0, -0.0, 0.5, 2.5], dtype=gg.float64, requires_grad=True)
    y = gg.sinc(x)
    assert y.tolist()[:3] == pytest.approx([1.0, 1.0, 2 / math.pi])
    (slope,) = gg.autograd.grad(y.sum(), [x], create_graph=True)
    (curvature,) = gg.autograd.grad(slope.sum(), [x])
    assert slope.tolist()[:2] == [0.0, 0.0] and not np.signbit(slope.detach().numpy()[:2]).any()
    assert curvature.tolist()[:2] == pytest.approx([-math.pi**2 / 3] * 2)  # the true value (PyTorch: NaN)
    assert gg.sinc(gg.tensor([0, 1])).dtype is gg.float32
    a = gg.tensor([-1.0, 0.0, -0.0, 2.0, -math.inf, math.nan], requires_grad=True)
    out = gg.angle(a)
    assert out.tolist()[:5] == pytest.approx([math.pi, 0.0, 0.0, 0.0, math.pi]) and math.isnan(out.tolist()[5])
    out.sum().backward()
    assert a.grad.tolist() == [0.0] * 6


# The gamma family ----------------------------------------------------------------------------------------

EULER_GAMMA = 0.5772156649015329


def test_gamma_family_known_values():
    x = gg.tensor([0.5, 1.0, 2.0, 10.0], dtype=gg.float64)
    np.testing.assert_allclose(x.lgamma().numpy(), [math.lgamma(v) for v in (0.5, 1.0, 2.0, 10.0)], rtol=1e-15)
    np.testing.assert_allclose(x.digamma().numpy()[:3], [-EULER_GAMMA - 2 * math.log(2), -EULER_GAMMA, 1 - EULER_GAMMA],
                               rtol=1e-15)
    zeta3 = 1.2020569031595942
    want = {1: [math.pi**2 / 2, math.pi**2 / 6], 2: [-14 * zeta3, -2 * zeta3], 3: [math.pi**4, math.pi**4 / 15]}
    for n, values in want.items():
        np.testing.assert_allclose(gg.polygamma(n, x[:2]).numpy(), values, rtol=2e-15)
    assert gg.polygamma(0, x).tolist() == x.digamma().tolist()


@settings(max_examples=30, deadline=None)
@given(x=st.floats(-40.0, 40.0).filter(lambda v: abs(v - round(v)) > 1e-3), n=st.integers(0, 4))
def test_gamma_family_recurrence_holds_on_both_sides_of_zero(x, n):
    """psi_n(x + 1) = psi_n(x) + (-1)^n n! / x^(n+1), and lgamma's derivative is digamma."""
    t = gg.tensor([x], dtype=gg.float64)
    here, step = gg.polygamma(n, t).item(), (-1) ** n * math.factorial(n) / x ** (n + 1)
    scale = abs(here) + abs(step) + 1  # the sum cancels where both terms are large
    assert gg.polygamma(n, t + 1).item() == pytest.approx(here + step, rel=0, abs=1e-13 * scale)
    h = 1e-6
    slope = (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)
    assert t.digamma().item() == pytest.approx(slope, rel=1e-7, abs=1e-7)


def test_gamma_family_at_poles_infinities_and_nan_and_its_dtypes():
    edges = gg.tensor([0.0, -0.0, -2.0, math.inf, -math.inf, math.nan], dtype=gg.float64)
    lg, dg = edges.lgamma().numpy(), edges.digamma().numpy()
    assert lg[:5].tolist() == [math.inf] * 5 and math.isnan(lg[5])
    assert dg[:2].tolist() == [-math.inf, math.inf] and math.isnan(dg[2]) and dg[3] == math.inf
    assert np.isnan(dg[4:]).all()
    assert gg.polygamma(1, edges).numpy()[:4].tolist() == [math.inf, math.inf, math.inf, 0.0]
    assert gg.polygamma(2, edges).numpy()[:4].tolist() == [-math.inf, -math.inf, -math.inf, 0.0]
    assert gg.tensor([3]).lgamma().dtype is gg.float32 and gg.tensor([3]).lgamma().item() == pytest.approx(math.log(2))
    half = gg.tensor([2.5], dtype=gg.float16).digamma()
    assert half.dtype is gg.float16 and half.item() == pytest.approx(0.7031566, rel=1e-3)


def test_polygamma_and_mvlgamma_arguments_and_methods():
    x = gg.tensor([1.0, 2.5])
    assert x.polygamma(1).tolist() == gg.polygamma(1, x).tolist()
    y = x.clone()
    y.polygamma_(2)
    assert y.tolist() == gg.polygamma(2, x).tolist()
    with pytest.raises(ValueError, match="non-negative integer"):
        gg.polygamma(-1, x)
    with pytest.raises(ValueError, match="non-negative integer"):
        gg.polygamma(1.5, x)
    want = [sum(math.lgamma(v - i / 2) for i in range(3)) + 3 * 2 / 4 * math.log(math.pi) for v in (2.0, 3.5)]
    np.testing.assert_allclose(gg.tensor([2.0, 3.5], dtype=gg.float64).mvlgamma(3).numpy(), want, rtol=1e-14)
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        x.mvlgamma(0)


def test_frexp_and_nextafter():
    x = gg.tensor([8.0, 0.3, 0.0, -5.0, math.inf, 1e-40], dtype=gg.float64)
    mantissa, exponent = gg.frexp(x)
    assert exponent.dtype is gg.int32 and exponent.tolist()[:5] == [4, -1, 0, 3, 0]
    assert mantissa.tolist()[:5] == [0.5, 0.6, 0.0, -0.625, math.inf]
    np.testing.assert_array_equal((mantissa * 2.0 ** exponent.double()).numpy()[[0, 1, 3, 5]], x.numpy()[[0, 1, 3, 5]])
    with pytest.raises(DTypeError, match="floating-point"):
        gg.frexp(gg.tensor([1, 2]))
    one = gg.tensor([1.0], dtype=gg.float32)
    assert (gg.nextafter(one, gg.tensor([2.0])) - one).item() == np.finfo(np.float32).eps
    assert gg.nextafter(gg.tensor([0.0], dtype=gg.float64), -1.0).item() == -5e-324
    y = gg.tensor([1.0])
    y.nextafter_(gg.tensor([0.0]))
    assert y.item() == np.nextafter(np.float32(1), np.float32(0))


@pytest.mark.torch
def test_frexp_and_nextafter_match_pytorch():
    torch = pytest.importorskip("torch")
    values = [8.0, 0.3, 0.0, -5.0, math.inf, -math.inf, math.nan, 1e-40, 3e38]
    for dtype in ("float32", "float64"):
        ours = gg.frexp(gg.tensor(values, dtype=getattr(gg, dtype)))
        theirs = torch.frexp(torch.tensor(values, dtype=getattr(torch, dtype)))
        np.testing.assert_array_equal(ours.mantissa.numpy(), theirs.mantissa.numpy())
        np.testing.assert_array_equal(ours.exponent.numpy(), theirs.exponent.numpy())
    a, b = [1.0, -1.0, 0.0, 5.0], [2.0, -2.0, -1.0, 5.0]
    np.testing.assert_array_equal(gg.nextafter(gg.tensor(a), gg.tensor(b)).numpy(),
                                  torch.nextafter(torch.tensor(a), torch.tensor(b)).numpy())
