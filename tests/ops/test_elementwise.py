"""Elementwise arithmetic beyond the op table: integer division, edge points (zeros, infinities, NaN, ties),
result dtypes, errors, in-place and out= forms. PyTorch is the reference where installed; the always-on
tests check known values and NumPy."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.errors import ArgumentError, DTypeError, ShapeError

INF, NAN = float("inf"), float("nan")


def leaf(values, dtype=gg.float64):
    return gg.tensor(values, dtype=dtype, requires_grad=True)


def same_dtype(ours, theirs) -> bool:
    return str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


def assert_same(ours, theirs):
    """Values (NaN in the same places, signs of zeros included) and dtype."""
    assert same_dtype(ours, theirs), (ours.dtype, theirs.dtype)
    mine, ref = ours.detach().numpy(), theirs.detach().numpy()
    np.testing.assert_allclose(mine, ref, rtol=1e-15, atol=0)  # libm's pow may differ in the last bit
    if mine.dtype.kind == "f":  # the sign of zeros and infinities too (a NaN's sign bit means nothing)
        number = ~np.isnan(ref)
        np.testing.assert_array_equal(np.signbit(mine[number]), np.signbit(ref[number]))


# Integer division: values known from Python's own // and %, and C's fmod. -----------------------------
SIGNS = [(7, 2), (-7, 2), (7, -2), (-7, -2), (6, 3), (-6, 3), (0, -5)]


def test_integer_floor_division_and_remainder_follow_python():
    a, b = gg.tensor([p for p, _ in SIGNS]), gg.tensor([q for _, q in SIGNS])
    assert (a // b).tolist() == [p // q for p, q in SIGNS]
    assert (a % b).tolist() == [p % q for p, q in SIGNS]
    assert (a // b).dtype is gg.int64 and (a % b).dtype is gg.int64


def test_integer_fmod_and_trunc_division_round_toward_zero():
    a, b = gg.tensor([p for p, _ in SIGNS]), gg.tensor([q for _, q in SIGNS])
    assert gg.fmod(a, b).tolist() == [int(math.fmod(p, q)) for p, q in SIGNS]
    assert gg.div(a, b, rounding_mode="trunc").tolist() == [int(p / q) for p, q in SIGNS]
    assert gg.div(a, b, rounding_mode="floor").tolist() == [p // q for p, q in SIGNS]


def test_true_division_of_integers_is_float32():
    out = gg.tensor([7, -7]) / gg.tensor([2, 2])
    assert out.dtype is gg.float32 and out.tolist() == [3.5, -3.5]
    assert gg.true_divide(gg.tensor([1]), 4).tolist() == [0.25]


@given(a=st.lists(st.integers(-1000, 1000), min_size=1, max_size=8), b=st.integers(-50, 50).filter(bool))
def test_floor_quotient_and_remainder_rebuild_the_dividend(a, b):
    x = gg.tensor(a)
    q, r = x // b, x % b
    q_np, r_np = q.numpy(), r.numpy()
    np.testing.assert_array_equal(q_np * b + r_np, np.array(a))
    assert (np.abs(r_np) < abs(b)).all() and ((r_np == 0) | ((r_np < 0) == (b < 0))).all()


@pytest.mark.parametrize("call", [
    lambda a, b: a // b, lambda a, b: a % b, lambda a, b: gg.fmod(a, b),
    lambda a, b: gg.div(a, b, rounding_mode="trunc"), lambda a, b: gg.div(a, b, rounding_mode="floor"),
])
def test_integer_division_by_zero_is_an_error(call):
    with pytest.raises(ArgumentError, match="ZeroDivisionError"):
        call(gg.tensor([5, 6]), gg.tensor([1, 0]))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        call(gg.tensor([5, 6]), 0)


def test_float_division_by_zero_gives_infinities_and_nan():
    a, z = gg.tensor([1.0, -1.0, 0.0]), gg.zeros(3)
    assert (a // z).tolist()[:2] == [INF, -INF] and math.isnan((a // z).tolist()[2])
    assert all(math.isnan(v) for v in (a % z).tolist())


def test_rounding_mode_must_be_trunc_floor_or_none():
    with pytest.raises(ArgumentError, match="div: expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"):
        gg.div(gg.tensor([1.0]), 2, rounding_mode="round")


def test_bool_division_is_refused():
    with pytest.raises(DTypeError, match="floor_divide"):
        gg.tensor([True]) // gg.tensor([True])


def test_floor_divide_refuses_inputs_that_require_grad_as_pytorch():
    with pytest.raises(RuntimeError, match="floor_divide: the derivative"):
        leaf([1.0]) // 2
    x = leaf([3.5, -3.5])
    gg.div(x, 2, rounding_mode="floor").sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_float_remainder_takes_the_sign_of_the_divisor():
    out = gg.tensor([5.0, -5.0, 5.0, -5.0, -0.0]) % gg.tensor([3.0, 3.0, -3.0, -3.0, 2.0])
    assert out.tolist() == [2.0, 1.0, -1.0, -2.0, 0.0]
    assert np.signbit(out.numpy()[4])  # -0.0 % 2 stays -0.0, as PyTorch (NumPy would give +0.0)


def test_fmod_and_remainder_gradients_are_minus_the_rounded_quotient():
    a, b = leaf([5.0, -5.0]), leaf([3.0, 3.0])
    ga, gb = gg.grad(gg.fmod(a, b).sum(), (a, b))
    assert ga.tolist() == [1.0, 1.0] and gb.tolist() == [-1.0, 1.0]
    ga, gb = gg.grad(gg.remainder(a, b).sum(), (a, b))
    assert ga.tolist() == [1.0, 1.0] and gb.tolist() == [-1.0, 2.0]


def test_reflected_mod_and_floor_division():
    x = gg.tensor([2, -2])
    assert (7 // x).tolist() == [3, -4] and (7 % x).tolist() == [1, -1]
    assert (7.5 % x).tolist() == [1.5, -0.5] and (7.5 % x).dtype is gg.float32


# pow at the base 0 ------------------------------------------------------------------------------------
def test_pow_tensor_exponent_gradients_at_zero_base_are_pytorchs():
    x, y = leaf([0.0, 0.0, 0.0, 2.0]), leaf([0.0, 2.0, 0.5, 0.0])
    gx, gy = gg.grad((x**y).sum(), (x, y))
    assert gx.tolist() == [0.0, 0.0, INF, 0.0]
    assert gy.tolist() == [0.0, 0.0, 0.0, math.log(2.0)]


def test_pow_negative_exponent_at_zero_base_is_infinite():
    x, y = leaf([0.0]), leaf([-1.0])
    gx, gy = gg.grad((x**y).sum(), (x, y))
    assert gx.tolist() == [-INF] and gy.tolist() == [-INF]


def test_integer_powers_with_negative_exponents_follow_c():
    base, exponent = gg.tensor([2, 3, 1, -1, -1, 0]), gg.tensor([-1, 2, -3, -3, -2, 2])
    assert (base**exponent).tolist() == [0, 9, 1, -1, 1, 0]
    with pytest.raises(ArgumentError, match="pow: integers to negative integer powers are not allowed"):
        gg.tensor([2, 3]) ** -1


def test_bool_powers():
    x = gg.tensor([True, False])
    assert (x**True).tolist() == [True, False] and (x**False).tolist() == [True, True]
    assert (x**True).dtype is gg.bool and (x**2).tolist() == [1, 0]
    with pytest.raises(DTypeError, match="pow: not implemented for bool"):
        x**x


# sign -------------------------------------------------------------------------------------------------
def test_sign_is_in_the_graph_with_zero_gradient():
    x = leaf([2.0, 0.0, -3.0])
    (g,) = gg.grad(gg.sign(x).sum(), x)
    assert g.tolist() == [0.0, 0.0, 0.0]
    (g,) = gg.grad((gg.sgn(x) * x).sum(), x)
    assert g.tolist() == [1.0, 0.0, -1.0]


def test_sign_of_nan_and_negative_zero_is_zero():
    out = gg.sign(gg.tensor([NAN, -0.0, 2.0, -3.0])).numpy()
    assert out.tolist() == [0.0, 0.0, 1.0, -1.0] and not np.signbit(out[1])


def test_sign_keeps_integer_and_bool_dtypes():
    assert gg.sign(gg.tensor([3, -2, 0])).tolist() == [1, -1, 0]
    out = gg.sign(gg.tensor([True, False]))
    assert out.dtype is gg.bool and out.tolist() == [True, False]


# maximum / minimum ------------------------------------------------------------------------------------
def test_maximum_and_minimum_of_bool_tensors_are_bool():
    a, b = gg.tensor([True, False, False]), gg.tensor([False, False, True])
    assert gg.maximum(a, b).tolist() == [True, False, True] and gg.maximum(a, b).dtype is gg.bool
    assert gg.minimum(a, b).tolist() == [False, False, False] and gg.minimum(a, b).dtype is gg.bool


def test_maximum_and_minimum_take_tensors_only():
    with pytest.raises(TypeError, match="maximum: argument 'other' must be a Tensor, not float"):
        gg.maximum(gg.tensor([1.0]), 0.5)
    with pytest.raises(TypeError, match="minimum: argument 'input' must be a Tensor, not int"):
        gg.minimum(1, gg.tensor([1.0]))


def test_extrema_propagate_nan_and_give_both_sides_the_gradient_there():
    a, b = leaf([NAN, 1.0, 2.0]), leaf([1.0, NAN, 2.0])
    out = gg.minimum(a, b)
    assert all(math.isnan(v) for v in out.tolist()[:2])
    ga, gb = gg.grad(out.sum(), (a, b))
    assert ga.tolist() == [1.0, 1.0, 0.5] and gb.tolist() == [1.0, 1.0, 0.5]


# where ------------------------------------------------------------------------------------------------
def test_where_refuses_a_condition_that_is_not_bool():
    with pytest.raises(DTypeError, match="where: expected condition to be a boolean tensor, but got a tensor with dtype float32"):
        gg.where(gg.tensor([1.0, 0.0]), gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0]))
    with pytest.raises(DTypeError, match="int64"):
        gg.where(gg.tensor([1, 0]), 1.0, 0.0)


def test_where_with_one_argument_gives_the_indices_of_nonzeros():
    rows, cols = gg.where(gg.tensor([[0, 1], [1, 0]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0] and rows.dtype is gg.int64
    (idx,) = gg.where(gg.tensor(2.5))
    assert idx.tolist() == [0]


def test_where_with_number_branches_picks_pytorchs_dtype():
    cond = gg.tensor([True, False])
    assert gg.where(cond, 1, 0).dtype is gg.int64
    assert gg.where(cond, 1.0, 0).dtype is gg.float32
    assert gg.where(cond, gg.tensor([1, 2]), 2.5).tolist() == [1.0, 2.5]


def test_tensor_where_method_takes_self_where_the_condition_holds():
    x = gg.tensor([1.0, 2.0])
    assert x.where(gg.tensor([True, False]), 0.0).tolist() == [1.0, 0.0]


# copysign, lerp, nan_to_num ---------------------------------------------------------------------------
def test_copysign_values_and_gradient_at_zero():
    a, b = leaf([1.0, 0.0, -2.0, 3.0]), leaf([-1.0, -1.0, 0.0, -0.0])
    out = gg.copysign(a, b)
    assert out.tolist() == [-1.0, -0.0, 2.0, -3.0]
    ga, gb = gg.grad(out.sum(), (a, b))
    assert ga.tolist() == [-1.0, 0.0, -1.0, -1.0] and gb.tolist() == [0.0] * 4
    assert gg.copysign(gg.tensor([1, 2]), gg.tensor([-1, 0])).dtype is gg.float32


def test_lerp_is_exact_at_both_ends_and_checks_dtypes():
    start, end = gg.tensor([1.0, -3.0]), gg.tensor([3.0, 7.0])
    assert gg.lerp(start, end, 0.0).tolist() == [1.0, -3.0]
    assert gg.lerp(start, end, 1.0).tolist() == [3.0, 7.0]
    assert gg.lerp(start, end, gg.tensor([0.5, 0.25])).tolist() == [2.0, -0.5]
    with pytest.raises(DTypeError, match="lerp: expected dtype float32 for `end` but got dtype float64"):
        gg.lerp(start, end.double(), 0.5)
    with pytest.raises(DTypeError, match="lerp"):
        gg.lerp(gg.tensor([1]), gg.tensor([2]), 0.5)


def test_nan_to_num_replaces_with_dtype_limits_and_blocks_their_gradient():
    x = leaf([NAN, INF, -INF, 1.5])
    out = gg.nan_to_num(x)
    big = np.finfo(np.float64).max
    assert out.tolist() == [0.0, big, -big, 1.5]
    assert gg.nan_to_num(x, nan=1.0, posinf=2.0, neginf=3.0).tolist() == [1.0, 2.0, 3.0, 1.5]
    (g,) = gg.grad(out.sum(), x)
    assert g.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert gg.nan_to_num(gg.tensor([1, 2])).tolist() == [1, 2]
    assert gg.nan_to_num(gg.tensor([INF])).tolist() == [float(np.finfo(np.float32).max)]


# clamp ------------------------------------------------------------------------------------------------
def test_clamp_with_tensor_bounds_gives_ties_to_the_input():
    x, lo, hi = leaf([0.0, 1.0, 2.0, 3.0, 0.5]), leaf([1.0, 1.0, 1.0, 1.0, 2.0]), leaf([2.0, 2.0, 2.0, 2.0, 1.0])
    out = gg.clamp(x, lo, hi)
    assert out.tolist() == [1.0, 1.0, 2.0, 2.0, 1.0]  # min > max: the result is max
    gx, glo, ghi = gg.grad(out.sum(), (x, lo, hi))
    assert gx.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert glo.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert ghi.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_clamp_with_number_bounds_keeps_ties_and_handles_crossed_bounds():
    x = leaf([0.0, 1.0, 2.0])
    (g,) = gg.grad(gg.clamp(x, 1.0, 1.0).sum(), x)
    assert g.tolist() == [0.0, 1.0, 0.0]
    assert gg.clamp(gg.tensor([1.0, 5.0]), 3, 2).tolist() == [2.0, 2.0]


def test_clamp_result_dtypes_and_nan():
    assert gg.clamp(gg.tensor([1, 5]), 2, 3).dtype is gg.int64
    out = gg.clamp(gg.tensor([1, 5]), 2.5)
    assert out.dtype is gg.float32 and out.tolist() == [2.5, 5.0]
    assert gg.clamp(gg.tensor([1.0, 5.0]), gg.tensor([2.0], dtype=gg.float64)).dtype is gg.float64
    assert math.isnan(gg.clamp(gg.tensor([NAN]), 0.0, 1.0).item())
    assert all(math.isnan(v) for v in gg.clamp(gg.tensor([1.0, 5.0]), gg.tensor([NAN, NAN])).tolist())
    assert gg.clamp_min(gg.tensor([1.0, 5.0]), 2).tolist() == [2.0, 5.0]
    assert gg.clamp_max(gg.tensor([1, 5]), 2.5).tolist() == [1.0, 2.5]
    with pytest.raises(ArgumentError, match="clamp: at least one of 'min' or 'max' must not be None"):
        gg.clamp(gg.tensor([1.0]))
    with pytest.raises(TypeError, match="clamp: min and max must be both tensors or both numbers"):
        gg.clamp(gg.tensor([1.0]), gg.tensor([0.0]), 2.0)


# Predicates ---------------------------------------------------------------------------------------------
def test_infinity_predicates():
    x = gg.tensor([INF, -INF, NAN, 1.0])
    assert gg.isinf(x).tolist() == [True, True, False, False]
    assert gg.isposinf(x).tolist() == [True, False, False, False]
    assert gg.isneginf(x).tolist() == [False, True, False, False]
    assert gg.isreal(x).tolist() == [True] * 4
    assert gg.isinf(gg.tensor([1, 2])).tolist() == [False, False]


def test_isclose_equal_nan_and_infinities():
    a = gg.tensor([1.0, NAN, INF, INF, 1e-9])
    b = gg.tensor([1.0 + 1e-6, NAN, INF, -INF, 0.0])
    assert gg.isclose(a, b).tolist() == [True, False, True, False, True]
    assert gg.isclose(a, b, equal_nan=True).tolist() == [True, True, True, False, True]
    assert gg.isclose(gg.tensor([1, 2]), gg.tensor([1, 3]), rtol=0.5).tolist() == [True, True]
    assert gg.isclose(gg.tensor([1.0]), gg.tensor([1.1]), rtol=0.0, atol=0.2).tolist() == [True]


def test_isclose_errors():
    with pytest.raises(DTypeError, match="isclose: input is int64 and other is float32"):
        gg.isclose(gg.tensor([1]), gg.tensor([1.0]))
    with pytest.raises(ArgumentError, match="rtol must be greater than or equal to zero"):
        gg.isclose(gg.tensor([1.0]), gg.tensor([1.0]), rtol=-1)
    with pytest.raises(ShapeError, match=r"allclose: shapes \(2,\) and \(3,\)"):
        gg.allclose(gg.zeros(2), gg.zeros(3))
    with pytest.raises(TypeError, match="isclose: argument 'other' must be a Tensor"):
        gg.isclose(gg.tensor([1.0]), 1.0)


def test_allclose_and_equal_are_python_bools():
    assert gg.allclose(gg.tensor([1.0, 2.0]), gg.tensor([[1.0, 2.000001]])) is True
    assert gg.allclose(gg.tensor([1.0]), gg.tensor([1.1])) is False
    assert gg.equal(gg.tensor([1.0, 2.0]), gg.tensor([1, 2])) is True
    assert gg.equal(gg.tensor([1.0, 2.0]), gg.tensor([[1.0, 2.0]])) is False
    assert gg.equal(gg.tensor([NAN]), gg.tensor([NAN])) is False
    assert gg.tensor([1, 2]).equal(gg.tensor([1, 2])) is True


# Math on integers, bool refusals ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["exp", "log", "log1p", "sqrt", "sin", "cos"])
def test_math_functions_promote_integers_and_bools_to_float32(name):
    for values in ([1, 4], [True, False]):
        out = getattr(gg, name)(gg.tensor(values))
        assert out.dtype is gg.float32
        with np.errstate(divide="ignore"):
            expected = getattr(np, name)(np.array(values, dtype=np.float32))
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_negation_and_abs_of_bool_are_refused():
    with pytest.raises(DTypeError, match="neg: negation"):
        -gg.tensor([True])
    with pytest.raises(DTypeError, match="abs"):
        gg.tensor([True]).abs()
    with pytest.raises(DTypeError, match="sub: subtraction"):
        gg.tensor([True]) - gg.tensor([False])
    with pytest.raises(DTypeError, match="sub: subtraction"):
        gg.tensor([1, 2]) - gg.tensor([True, False])
    with pytest.raises(DTypeError, match="sub: subtraction"):
        gg.tensor([1.0]) - True


# In-place and out= ----------------------------------------------------------------------------------------
def test_in_place_into_a_narrower_float_keeps_its_dtype():
    # peft merges a float32 LoRA delta into a bfloat16 weight: weight.data += delta.
    for dtype in (gg.bfloat16, gg.float16):
        w = gg.tensor([1.0, -2.0, 0.25], dtype=dtype)
        delta = gg.tensor([0.5, 0.125, 1.0])
        w += delta
        assert w.dtype is dtype
        np.testing.assert_array_equal(w.float().numpy(), [1.5, -1.875, 1.25])  # exact in 8 mantissa bits
    z = gg.tensor([1.0 + 1.0j], dtype=gg.complex64)
    z.add_(gg.tensor([2.0]))
    assert z.dtype is gg.complex64 and z.tolist() == [3.0 + 1.0j]
    with pytest.raises(DTypeError, match="(?i)can.?n?o?t be cast|cannot cast"):
        gg.tensor([1, 2]).add_(gg.tensor([0.5, 0.5], dtype=gg.bfloat16))
    with pytest.raises(DTypeError, match="(?i)can.?n?o?t be cast|cannot cast"):
        gg.tensor([1.0]).add_(gg.tensor([1.0j], dtype=gg.complex64))
    with pytest.raises(DTypeError, match="(?i)can.?n?o?t be cast|cannot cast"):
        gg.tensor([True]).add_(gg.tensor([1]))


def test_in_place_variants():
    x = gg.tensor([7, -7])
    x %= 3
    assert x.tolist() == [1, 2]
    x //= 2
    assert x.tolist() == [0, 1]
    y = gg.tensor([0.5, 3.0])
    assert y.clamp_(1.0, 2.0) is y and y.tolist() == [1.0, 2.0]
    y.lerp_(gg.tensor([3.0, 4.0]), 0.5)
    assert y.tolist() == [2.0, 3.0]
    y.copysign_(-1.0)
    assert y.tolist() == [-2.0, -3.0]
    with pytest.raises(DTypeError, match="exp_: result type .*float32 can't be cast"):
        gg.tensor([1, 2]).exp_()


def test_in_place_records_when_gradients_are_on():
    x = leaf([2.0, -3.0])
    h = x * 1.0
    h.clamp_(min=0.0)
    h.pow_(2)
    (g,) = gg.grad(h.sum(), x)
    assert g.tolist() == [4.0, 0.0]


def test_out_argument():
    out = gg.empty(2)
    assert gg.remainder(gg.tensor([5.0, -5.0]), 3.0, out=out) is out and out.tolist() == [2.0, 1.0]
    out = gg.empty(0, dtype=gg.int64)
    gg.div(gg.tensor([7, -7]), 2, rounding_mode="floor", out=out)
    assert out.tolist() == [3, -4]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_xor"])
@pytest.mark.parametrize("out_dtype", ["bool", "float32", "int64"])
def test_comparisons_write_into_out_as_pytorch(name, out_dtype):
    """linear_operator's CG loop keeps one bool buffer and refills it with torch.lt(alpha, eps, out=buffer)."""
    torch = pytest.importorskip("torch")
    left, right = [[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]], [2.0, 2.0, -1.0]
    for size in ((2, 3), (0,)):  # the same shape: written in place; an empty one: resized to the result
        ours_out = gg.zeros(size, dtype=getattr(gg, out_dtype))
        theirs_out = torch.zeros(size, dtype=getattr(torch, out_dtype))
        ours = getattr(gg, name)(gg.tensor(left), gg.tensor(right), out=ours_out)
        theirs = getattr(torch, name)(torch.tensor(left), torch.tensor(right), out=theirs_out)
        assert ours is ours_out and theirs is theirs_out
        assert same_dtype(ours, theirs) and ours.tolist() == theirs.tolist()


UNARY_WITH_OUT = ["exp", "log", "log1p", "sqrt", "sin", "cos", "abs", "neg", "sign", "sgn", "tanh", "sigmoid",
                  "logical_not", "tril", "triu", "diag"]


@pytest.mark.torch
@pytest.mark.parametrize("name", UNARY_WITH_OUT)
def test_unary_functions_write_into_out_as_pytorch(name):
    """botorch's safe_math calls torch.exp(x, out=y) and torch.log(x, out=y)."""
    torch = pytest.importorskip("torch")
    values = [[0.5, 2.0, -1.0], [3.0, 0.25, 1.5], [-2.0, 1.0, 0.75]]
    shape = tuple(getattr(torch, name)(torch.tensor(values)).shape)
    for size in (shape, (0,)):  # the result's shape: written in place; an empty one: resized to the result
        ours_out, theirs_out = gg.zeros(size, dtype=gg.float64), torch.zeros(size, dtype=torch.float64)
        ours = getattr(gg, name)(gg.tensor(values, dtype=gg.float64), out=ours_out)
        theirs = getattr(torch, name)(torch.tensor(values, dtype=torch.float64), out=theirs_out)
        assert ours is ours_out and theirs is theirs_out
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, equal_nan=True)


def test_where_writes_into_out():
    out = gg.empty(3)
    x = gg.tensor([1.0, -2.0, 3.0])
    assert gg.where(x > 0, x, 0.0, out=out) is out and out.tolist() == [1.0, 0.0, 3.0]
    with pytest.raises(RuntimeError, match="out=.*automatic differentiation"):
        gg.exp(leaf([1.0]), out=gg.empty(1, dtype=gg.float64))


def test_comparison_out_with_a_scalar_and_an_input_that_needs_gradients():
    x = leaf([1.0, 2.0, 3.0])
    out = gg.empty(3, dtype=gg.bool)
    assert gg.gt(x, 1.5, out=out) is out and out.tolist() == [False, True, True]
    assert not out.requires_grad


# Against PyTorch --------------------------------------------------------------------------------------
EDGE = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0, 1e-300, INF, -INF, NAN]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "div_trunc", "div_floor", "div", "copysign",
                                  "maximum", "minimum", "pow"])
def test_float_edge_values_match_pytorch(name):
    torch = pytest.importorskip("torch")
    a_np = np.repeat(np.array(EDGE), len(EDGE))
    b_np = np.tile(np.array(EDGE), len(EDGE))

    def call(lib, a, b):
        if name.startswith("div_"):
            return lib.div(a, b, rounding_mode=name[4:])
        return getattr(lib, name)(a, b)

    with np.errstate(all="ignore"):
        ours = call(gg, gg.tensor(a_np), gg.tensor(b_np))
    assert_same(ours, call(torch, torch.tensor(a_np), torch.tensor(b_np)))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "div_trunc", "div_floor", "div"])
def test_integer_division_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a_np, b_np = rng.integers(-50, 50, 40), rng.integers(1, 9, 40) * rng.choice([-1, 1], 40)

    def call(lib, a, b):
        if name.startswith("div_"):
            return lib.div(a, b, rounding_mode=name[4:])
        return getattr(lib, name)(a, b)

    assert_same(call(gg, gg.tensor(a_np), gg.tensor(b_np)), call(torch, torch.tensor(a_np), torch.tensor(b_np)))
    assert_same(call(gg, gg.tensor(a_np), -3), call(torch, torch.tensor(a_np), -3))
    if name == "div":  # true division: an integer over 0 is +-inf or NaN, not an error
        with np.errstate(all="ignore"):
            assert_same(call(gg, gg.tensor(a_np), 0), call(torch, torch.tensor(a_np), 0))
        return
    for lib, make in ((torch, torch.tensor), (gg, gg.tensor)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            call(lib, make(a_np), 0)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["fmod", "remainder", "copysign", "maximum", "minimum", "pow", "div"])
def test_gradients_at_edge_values_match_pytorch(name):
    torch = pytest.importorskip("torch")
    grid = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -2.5]
    a_np, b_np = np.repeat(np.array(grid), len(grid)), np.tile(np.array(grid), len(grid))
    a, b = leaf(a_np), leaf(b_np)
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a_np, b_np))
    with np.errstate(all="ignore"):
        ours = gg.grad(getattr(gg, name)(a, b).sum(), (a, b))
    theirs = torch.autograd.grad(getattr(torch, name)(ta, tb).sum(), (ta, tb))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-15, atol=0)


@pytest.mark.torch
def test_integer_pow_matches_pytorch():
    torch = pytest.importorskip("torch")
    base, exponent = np.repeat(np.arange(-3, 4), 7), np.tile(np.arange(-3, 4), 7)
    assert_same(gg.tensor(base) ** gg.tensor(exponent), torch.tensor(base) ** torch.tensor(exponent))
    assert_same(gg.tensor(base) ** 3, torch.tensor(base) ** 3)
    assert_same(2 ** gg.tensor(exponent), 2 ** torch.tensor(exponent))


@pytest.mark.torch
def test_pow_second_derivatives_at_zero_match_pytorch():
    torch = pytest.importorskip("torch")
    a_np, b_np = np.array([0.0, 0.0, 0.0, 1.5, 0.0]), np.array([0.0, 2.0, 3.0, 0.0, 1.0])
    a, b = leaf(a_np), leaf(b_np)
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a_np, b_np))
    with np.errstate(all="ignore"):
        ga, _ = gg.grad((a**b).sum(), (a, b), create_graph=True)
        ours = gg.grad(ga.sum(), (a, b))
    tga, _ = torch.autograd.grad((ta**tb).sum(), (ta, tb), create_graph=True)
    theirs = torch.autograd.grad(tga.sum(), (ta, tb))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_array_equal(mine.numpy(), ref.numpy())


@pytest.mark.torch
def test_clamp_gradients_at_ties_match_pytorch():
    torch = pytest.importorskip("torch")
    x_np = np.array([0.0, 1.0, 1.5, 2.0, 3.0, 1.0, 2.0])
    lo_np = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    hi_np = np.array([2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0])
    ours = [leaf(v) for v in (x_np, lo_np, hi_np)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x_np, lo_np, hi_np)]
    for clamp_ours, clamp_theirs in (
        (lambda x, lo, hi: gg.clamp(x, lo, hi), lambda x, lo, hi: torch.clamp(x, lo, hi)),
        (lambda x, lo, hi: gg.clamp_min(x, lo) * gg.clamp_max(x, hi), lambda x, lo, hi: torch.clamp_min(x, lo) * torch.clamp_max(x, hi)),
    ):
        g = gg.grad(clamp_ours(*ours).sum(), ours)
        t = torch.autograd.grad(clamp_theirs(*theirs).sum(), theirs)
        for mine, ref in zip(g, t):
            np.testing.assert_array_equal(mine.numpy(), ref.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("values", [[1, 4, 0], [True, False]])
def test_result_dtypes_match_pytorch(values):
    torch = pytest.importorskip("torch")
    ours, theirs = gg.tensor(values), torch.tensor(values)
    for name in ("exp", "sqrt", "sin", "sign", "isinf", "isposinf", "nan_to_num"):
        assert same_dtype(getattr(gg, name)(ours), getattr(torch, name)(theirs)), name
    for scalar in (2, 2.5):
        for lib_call in (lambda lib, x: lib.clamp(x, scalar), lambda lib, x: lib.copysign(x, scalar)):
            assert same_dtype(lib_call(gg, ours), lib_call(torch, theirs))


@pytest.mark.torch
def test_isclose_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = np.concatenate([rng.standard_normal(20), [INF, -INF, NAN, 0.0]])
    b = np.concatenate([a[:20] * (1 + rng.choice([1e-7, 1e-4], 20)), [INF, INF, NAN, 1e-9]])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 1e-3, "atol": 0.0}):
        for dtype in (gg.float32, gg.float64):
            tdtype = getattr(torch, dtype.name)
            ours = gg.isclose(gg.tensor(a, dtype=dtype), gg.tensor(b, dtype=dtype), **kwargs)
            theirs = torch.isclose(torch.tensor(a, dtype=tdtype), torch.tensor(b, dtype=tdtype), **kwargs)
            assert ours.tolist() == theirs.tolist()


@pytest.mark.torch
def test_nan_to_num_matches_pytorch():
    torch = pytest.importorskip("torch")
    vals = [NAN, INF, -INF, 0.5]
    for dtype in ("float32", "float64"):
        x = leaf(vals, dtype=getattr(gg, dtype))
        t = torch.tensor(vals, dtype=getattr(torch, dtype), requires_grad=True)
        assert_same(gg.nan_to_num(x, posinf=7.0), torch.nan_to_num(t, posinf=7.0))
        (g,) = gg.grad(gg.nan_to_num(x).sum(), x)
        (tg,) = torch.autograd.grad(torch.nan_to_num(t).sum(), t)
        assert g.tolist() == tg.tolist()


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
SCALARS = [3, 2.5, True]


def operand_values(dtype: str, rng, nonzero: bool = True):
    if dtype == "bool":
        return rng.integers(0, 2, 6).astype(bool)
    if dtype.startswith("float"):
        return rng.standard_normal(6) * 5
    values = rng.integers(1 if dtype == "uint8" else -100, 100, 6)
    return np.where(values == 0, 3, values) if nonzero else values


def outcome(fn, lib, a, b):
    """(dtype name, values) of fn, or ("error", None) when it raises."""
    try:
        out = fn(lib, a, b)
    except (RuntimeError, TypeError, ValueError):
        return "error", None
    return str(out.dtype).split(".")[-1], out.numpy().astype(np.float64)


ARITHMETIC = {
    "floor_divide": lambda lib, a, b: a // b, "remainder": lambda lib, a, b: a % b,
    "fmod": lambda lib, a, b: lib.fmod(a, b), "div_trunc": lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
    "div": lambda lib, a, b: a / b, "copysign": lambda lib, a, b: lib.copysign(a, b),
    "maximum": lambda lib, a, b: lib.maximum(a, b), "minimum": lambda lib, a, b: lib.minimum(a, b),
    "pow": lambda lib, a, b: a ** (abs(b) % 4 if isinstance(b, int) else b), "sub": lambda lib, a, b: a - b,
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ARITHMETIC))
def test_dtype_pairs_give_pytorchs_result_dtype_values_and_errors(name):
    torch = pytest.importorskip("torch")
    fn = ARITHMETIC[name]
    rng = np.random.default_rng(5)
    for first in DTYPES:
        a_np = operand_values(first, rng)
        for second in DTYPES + SCALARS:
            if isinstance(second, str):
                b_np = operand_values(second, rng)
                if name == "pow" and second not in ("float32", "float64", "bool"):
                    b_np = np.abs(b_np) % 4  # integer tensors to small non-negative powers
                ours_b, theirs_b = gg.tensor(b_np, dtype=getattr(gg, second)), torch.tensor(b_np, dtype=getattr(torch, second))
            else:
                ours_b = theirs_b = second
            with np.errstate(all="ignore"):
                ours = outcome(fn, gg, gg.tensor(a_np, dtype=getattr(gg, first)), ours_b)
            theirs = outcome(fn, torch, torch.tensor(a_np, dtype=getattr(torch, first)), theirs_b)
            assert ours[0] == theirs[0], (name, first, second, ours, theirs)
            if ours[1] is not None:
                np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=1e-6, err_msg=f"{name} {first} {second}")


IN_PLACE_CALLS = {
    "fmod_": (2.5,), "remainder_": (-3,), "floor_divide_": (2,), "divide_": (4,), "true_divide_": (2,),
    "copysign_": (-1.0,), "clamp_": (-1, 2), "clip_": (0,), "clamp_min_": (1,), "clamp_max_": (0.5,),
    "nan_to_num_": (), "sign_": (), "sgn_": (), "neg_": (), "abs_": (), "exp_": (), "sqrt_": (), "pow_": (2,),
    "subtract_": (1,), "multiply_": (3,),
}


@pytest.mark.torch
@pytest.mark.parametrize("method", sorted(IN_PLACE_CALLS))
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_in_place_methods_match_pytorch(method, dtype):
    torch = pytest.importorskip("torch")
    values = [-3, 0, 2, 5] if dtype == "int64" else [-2.5, 0.0, 1.5, 4.0]
    args = IN_PLACE_CALLS[method]
    ours, theirs = gg.tensor(values, dtype=getattr(gg, dtype)), torch.tensor(values, dtype=getattr(torch, dtype))
    outcomes = []
    for x in (ours, theirs):
        try:
            with np.errstate(all="ignore"):
                result = getattr(x, method)(*args)
            outcomes.append(result is x)
        except (RuntimeError, TypeError):
            outcomes.append("error")
    assert outcomes[0] == outcomes[1], outcomes
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)  # unchanged where both refused


def test_signbit_reads_the_sign_bit_of_every_dtype():
    x = gg.tensor([-0.0, 0.0, -2.5, 3.0, -math.inf, math.nan, -math.nan], dtype=gg.float64)
    assert gg.signbit(x).tolist() == [True, False, True, False, True, False, True]
    assert x.signbit().dtype is gg.bool
    assert gg.signbit(gg.tensor([-3, 0, 4])).tolist() == [True, False, False]
    assert gg.signbit(gg.tensor([True, False])).tolist() == [False, False]


def test_unary_plus_is_the_tensor_itself_and_refuses_bool():
    x = gg.tensor([1.0, -2.0], requires_grad=True)
    assert +x is x and gg.positive(x) is x and x.positive() is x
    with pytest.raises(DTypeError, match="positive"):
        +gg.tensor([True])


def test_addcmul_and_addcdiv_in_place_as_optimizers_use_them():
    g = gg.tensor([1.0, -2.0, 3.0])
    v = gg.zeros(3).mul_(0.9).addcmul_(g, g, value=0.1)  # Adam's second moment
    assert v.tolist() == pytest.approx([0.1, 0.4, 0.9])
    p = gg.ones(3)
    assert p.addcdiv_(g, v.sqrt().add_(1e-8), value=-0.5) is p
    np.testing.assert_allclose(p.numpy(), 1 - 0.5 * g.numpy() / (np.sqrt(v.numpy()) + 1e-8), rtol=1e-6)
    with pytest.raises(DTypeError, match="addcdiv"):
        gg.addcdiv(gg.tensor([1]), gg.tensor([2]), gg.tensor([3]))
    with pytest.raises(DTypeError, match="addcmul"):
        gg.addcmul(gg.tensor([1]), gg.tensor([2]), gg.tensor([3]), value=0.5)
    assert gg.addcmul(gg.tensor([1]), gg.tensor([2]), gg.tensor([3]), value=2).tolist() == [13]


def test_float32_addcmul_rounds_value_times_tensor1_then_one_fused_multiply_add():
    # PyTorch's CPU kernel: a + (value * t1) * t2 with the last two operations fused. Near cancellation
    # (a = -t1 t2 roughly) two roundings are far off; the product of two float32s is exact in float64.
    rng = np.random.default_rng(3)
    t1, t2 = rng.standard_normal((2, 4096)).astype(np.float32)
    a = (-t1 * t2 * (1 + rng.uniform(-1e-3, 1e-3, 4096))).astype(np.float32)
    for value in (1, 0.25, -3.0):
        got = gg.addcmul(gg.tensor(a), gg.tensor(t1), gg.tensor(t2), value=value).numpy()
        scaled = (t1 * np.float32(value)).astype(np.float64)
        np.testing.assert_array_equal(got, (scaled * t2 + a).astype(np.float32))
    assert np.any(got != a + (t1 * np.float32(value)) * t2)  # what two roundings give


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_addcmul_is_pytorchs_bit_for_bit(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((300, 1), (1, 200), (300, 200))]
    for value in (1, 0.1, -2):
        got, want = (L.addcmul(*[L.tensor(x) for x in arrays], value=value).numpy() for L in (gg, torch))
        np.testing.assert_array_equal(got, want)


def test_float_power_isin_and_the_aliases():
    assert gg.float_power(gg.tensor([2]), 3).dtype is gg.float64
    assert gg.float_power(2, gg.tensor([0.5], dtype=gg.float32)).item() == pytest.approx(2 ** 0.5, rel=1e-15)
    with pytest.raises(TypeError, match="float_power"):
        gg.float_power(2, 3)
    x = gg.tensor([[1, 2], [3, 4]])
    assert gg.isin(x, gg.tensor([2, 3, 9])).tolist() == [[False, True], [True, False]]
    assert x.isin(4, invert=True).tolist() == [[True, True], [True, False]]
    assert gg.isin(3, x).item() is True
    y = gg.tensor([-1.5, 2.0])
    assert gg.negative(y).tolist() == [1.5, -2.0] and y.absolute().tolist() == [1.5, 2.0]
    assert y.clone().negative_().tolist() == [1.5, -2.0]


@pytest.mark.torch
def test_addcmul_addcdiv_float_power_isin_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, b, c = (rng.standard_normal((3, 4)) for _ in range(3))
    mine, theirs = (gg.tensor(v) for v in (a, b, c)), (torch.tensor(v) for v in (a, b, c))
    ga, gb, gc = mine
    ta, tb, tc = theirs
    np.testing.assert_allclose(gg.addcmul(ga, gb, gc, value=-0.3).numpy(), torch.addcmul(ta, tb, tc, value=-0.3).numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.addcdiv(ga, gb, gc, value=2).numpy(), torch.addcdiv(ta, tb, tc, value=2).numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.float_power(ga.abs(), gb).numpy(), torch.float_power(ta.abs(), tb).numpy(), rtol=1e-12)
    ints = np.array([[1, 5, 2], [7, 2, 0]])
    np.testing.assert_array_equal(gg.isin(gg.tensor(ints), gg.tensor([2, 7])).numpy(),
                                  torch.isin(torch.tensor(ints), torch.tensor([2, 7])).numpy())


def test_long_comparison_names_and_rsub():
    a, b = gg.tensor([1.0, 2.0, 3.0]), gg.tensor([2.0, 2.0, 2.0])
    pairs = {"greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne"}
    for long, short in pairs.items():
        assert getattr(gg, long)(a, b).tolist() == getattr(gg, short)(a, b).tolist()
        assert getattr(a, long)(2.0).tolist() == getattr(a, short)(2.0).tolist()
    assert gg.rsub(a, 5.0, alpha=2).tolist() == [3.0, 1.0, -1.0]
    assert gg.rsub(a, b).tolist() == [1.0, 0.0, -1.0] and not hasattr(a, "rsub")  # as torch.Tensor: no method


@pytest.mark.torch
def test_long_comparison_names_match_pytorch():
    torch = pytest.importorskip("torch")
    a, b = [1.0, float("nan"), 3.0], [2.0, 2.0, 3.0]
    for name in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
        assert getattr(gg, name)(gg.tensor(a), gg.tensor(b)).tolist() == getattr(torch, name)(torch.tensor(a), torch.tensor(b)).tolist()


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_abs_and_clamp_gradients_match_pytorch_bit_for_bit(dtype):
    """abs and clamp run one kernel pass each way: PyTorch's values at zeros, bounds, infinities and NaN,
    the upstream gradient infinite or NaN included (abs's a product, -0.0 and NaN; clamp's a selection)."""
    torch = pytest.importorskip("torch")
    x_np = np.resize(np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 0.3, INF, -INF, NAN, 1e-45, 2.0], dtype), 64)
    gy = np.resize(np.array([INF, -INF, -2.0, NAN, 0.5], dtype), 64)
    for fn in (lambda t: t.abs(), lambda t: t.clamp(-0.5, 1.0), lambda t: t.clamp(min=0.3),
               lambda t: t.clamp(max=-0.5), lambda t: t.clamp(2.0, 1.0)):
        x, t = gg.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
        y = fn(x)
        with np.errstate(invalid="ignore"):
            y.backward(gg.tensor(gy))
        y_t = fn(t)
        y_t.backward(torch.tensor(gy))
        for mine, theirs in ((y.detach().numpy(), y_t.detach().numpy()), (x.grad.numpy(), t.grad.numpy())):
            np.testing.assert_array_equal(mine, theirs)
            np.testing.assert_array_equal(np.signbit(mine[~np.isnan(mine)]), np.signbit(theirs[~np.isnan(theirs)]))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_by_a_number_is_pytorchs_bit_for_bit(dtype):
    """x ** 2, 3, -2, -1, -0.5 as PyTorch's CPU kernel computes them (x * x, x * x * x, 1 / (x * x), 1 / x,
    1 / sqrt(x)), with or without a graph, and the gradients that come from them (b * x^(b-1) * gy)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x_np = (rng.standard_normal(256) * 3).astype(dtype)
    x_np[:10] = [0.0, -0.0, INF, -INF, NAN, 1e-30, -1e15, 1e15, 1.0, -1.0]
    gy = rng.standard_normal(256).astype(dtype)
    with np.errstate(all="ignore"):
        for exponent, grads in ((2, True), (3, True), (-2, False), (-1, True), (0.5, True), (-0.5, False), (3.0, True)):
            base = np.abs(x_np) if exponent in (0.5, -0.5) else x_np
            x, t = gg.tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
            y, y_t = x**exponent, t**exponent
            y.backward(gg.tensor(gy))
            y_t.backward(torch.tensor(gy))
            with gg.no_grad():
                plain = (x**exponent).numpy()
            pairs = [(y.detach().numpy(), y_t.detach().numpy()), (plain, y_t.detach().numpy())]
            if grads:  # (x^(b-1) for b = -2 and -0.5 is libm's pow against PyTorch's Sleef: an ulp apart)
                pairs.append((x.grad.numpy(), t.grad.numpy()))
            for mine, theirs in pairs:
                if exponent == 0.5:  # PyTorch's sqrt is not correctly rounded here; ours (NumPy's) is
                    np.testing.assert_allclose(mine, theirs, rtol=2 * np.finfo(dtype).eps, err_msg=str(exponent))
                    continue
                np.testing.assert_array_equal(mine, theirs, err_msg=str(exponent))
                np.testing.assert_array_equal(np.signbit(mine), np.signbit(theirs), err_msg=str(exponent))


def test_float32_pow_by_a_number_is_within_an_ulp_of_the_rounded_power():
    """PyTorch's products and divisions round more than once: one float32 step at most from the correctly
    rounded power (measured on 1e6 points; NumPy's powf also errs by one step, more rarely)."""
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-1, 1, 500_000), np.exp(rng.uniform(-25, 25, 500_000))]).astype(np.float32)
    for exponent in (3, -2, -0.5):
        base = np.abs(x) if exponent == -0.5 else x
        y = (gg.tensor(base) ** exponent).numpy()
        rounded = np.power(base.astype(np.float64), exponent).astype(np.float32)
        ok = np.isfinite(rounded) & (np.abs(rounded) > np.finfo(np.float32).tiny)
        steps = np.abs(y[ok].view(np.int32).astype(np.int64) - rounded[ok].view(np.int32).astype(np.int64))
        assert steps.max() <= 1, exponent


# sin and cos: float32 on the CPU through kernels/_vmath (within 1 ulp) and over the threads; their
# backwards g cos x and -g sin x in one pass (_TrigTimes) ----------------------------------------------
def test_float32_sin_and_cos_forward_and_backward_within_an_ulp_over_the_threads():
    from gpugrad import threads

    rng = np.random.default_rng(0)
    a = rng.uniform(-30, 30, threads.PARALLEL_MIN_ELEMENTS + 3).astype(np.float32)  # large: split over the threads
    g = rng.standard_normal(a.size).astype(np.float32)
    exact = {"sin": np.sin(a.astype(np.float64)), "cos": np.cos(a.astype(np.float64))}
    slope = {"sin": exact["cos"], "cos": -exact["sin"]}
    for name in ("sin", "cos"):
        x = gg.tensor(a, requires_grad=True)
        y = getattr(x, name)()
        y.backward(gg.tensor(g))
        spacing = np.spacing(np.abs(exact[name]).astype(np.float32))
        assert np.max(np.abs(y.detach().numpy() - exact[name]) / spacing) <= 1.0
        # the slope within an ulp, times g rounded once more
        np.testing.assert_allclose(x.grad.numpy(), g * slope[name], rtol=3e-7, atol=3e-45)
    x = gg.tensor(a[:1000])
    np.testing.assert_array_equal(gg.cos(gg.tensor(a)).numpy()[:1000], gg.cos(x).numpy())  # same bits, split or not


def test_float64_sin_and_cos_are_numpys_bits():
    a = np.random.default_rng(1).uniform(-1e3, 1e3, 1001)
    x = gg.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x.sin().detach().numpy(), np.sin(a))
    np.testing.assert_array_equal(x.cos().detach().numpy(), np.cos(a))
    x.cos().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), -1.0 * np.sin(a))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sin_and_cos_second_derivatives_through_their_one_pass_backwards(dtype):
    a = np.array([-3.0, -0.0, 0.0, 0.5, 2.0, 100.0], dtype)
    w = np.array([1.5, -2.0, 0.5, 3.0, -1.0, 0.25], dtype)
    for name, first, second in (("sin", np.cos, lambda a: -np.sin(a)), ("cos", lambda a: -np.sin(a), lambda a: -np.cos(a))):
        x, g = gg.tensor(a, requires_grad=True), gg.tensor(w, requires_grad=True)
        (d1,) = gg.autograd.grad(getattr(x, name)(), x, g, create_graph=True)
        dx, dg = gg.autograd.grad(d1.sum(), (x, g))
        np.testing.assert_allclose(d1.detach().numpy(), w * first(a), rtol=3e-7, atol=0)
        np.testing.assert_allclose(dx.numpy(), w * second(a), rtol=3e-7, atol=0)
        np.testing.assert_allclose(dg.numpy(), first(a), rtol=2e-7, atol=0)
        if name == "cos":  # -sin(-0) = +0, -sin(+0) = -0, times -2 and 0.5
            assert np.signbit(d1.detach().numpy()[1:3]).tolist() == [True, True]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sin", "cos"])
def test_float32_sin_and_cos_edges_as_pytorch(name):
    torch = pytest.importorskip("torch")
    a = np.array([0.0, -0.0, 1e-45, -1e-45, np.inf, -np.inf, np.nan, 3e38, 1e-30, 1.5707964], np.float32)
    x, t = gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = getattr(x, name)(), getattr(t, name)()
    y.backward(gg.ones_like(y))
    ty.backward(torch.ones_like(ty))
    for ours, theirs in ((y.detach().numpy(), ty.detach().numpy()), (x.grad.numpy(), t.grad.numpy())):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        finite = ~np.isnan(theirs)
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=2.4e-7, atol=0)  # within an ulp
        np.testing.assert_array_equal(np.signbit(ours[finite & (theirs == 0)]), np.signbit(theirs[finite & (theirs == 0)]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lerp_with_a_number_weight_in_one_pass_keeps_the_formulas_bits(dtype):
    from gpugrad import threads

    rng = np.random.default_rng(0)
    for n in (1000, threads.PARALLEL_MIN_ELEMENTS + 5):  # one call, and split over the threads
        s = rng.standard_normal(n).astype(dtype) * 10
        e = rng.standard_normal(n).astype(dtype) * 10
        s[:6], e[:6] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 3e38], [1.0, np.inf, 2.0, -0.0, -0.0, -3e38]
        for w in (0.3, 0.7, -2.5, 0.0, 1.0, 0.49999997, math.nan):
            with np.errstate(all="ignore"):  # PyTorch's two-sided formula in the dtype, as NumPy computes it
                expected = s + w * (e - s) if -0.5 < w < 0.5 else e - (e - s) * (1 - w)
            ours = gg.tensor(s).lerp(gg.tensor(e), w).numpy()
            np.testing.assert_array_equal(ours, expected)
            np.testing.assert_array_equal(np.signbit(ours[3:5]), np.signbit(expected[3:5]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_in_one_pass_each_way_keeps_the_composites_bits(dtype, reduction):
    from gpugrad import threads

    rng = np.random.default_rng(7)
    for n in (37, threads.PARALLEL_MIN_ELEMENTS + 3):  # one call, and split over the threads
        a, b = (rng.standard_normal(n) * 3).astype(dtype), rng.standard_normal(n).astype(dtype)
        a[:3], b[:3] = [np.inf, -0.0, 1e30], [1.0, 0.0, -1e30]
        grads = []
        for fused in (True, False):
            x, t = gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)
            if fused:
                loss = gg.nn.functional.mse_loss(x, t, reduction=reduction)
            else:  # the composite it replaces: d = x - t, d * d, reduced
                d = x - t
                loss = {"mean": lambda v: v.mean(), "sum": lambda v: v.sum(), "none": lambda v: v}[reduction](d * d)
            g = gg.ones_like(loss) if reduction != "none" else gg.tensor(rng.standard_normal(n).astype(dtype))
            if not fused:
                g = grads[0][3]
            with np.errstate(all="ignore"):
                loss.backward(g)
            grads.append((loss.detach().numpy(), x.grad.numpy(), t.grad.numpy(), g))
        for ours, theirs in zip(grads[0][:3], grads[1][:3]):
            np.testing.assert_array_equal(ours, theirs)
            np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def test_squared_difference_second_derivatives():
    a, b = np.array([0.5, -2.0, 3.0]), np.array([1.0, 1.0, -1.0])
    x, t = gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)
    (gx,) = gg.autograd.grad(gg.nn.functional.mse_loss(x, t, reduction="sum"), x, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), 2 * (a - b))
    hx, ht = gg.autograd.grad(gx.sum(), (x, t))
    np.testing.assert_array_equal(hx.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(ht.numpy(), [-2.0, -2.0, -2.0])
