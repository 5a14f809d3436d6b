"""Bitwise and, or, xor, not and shifts: integer semantics on integers, logical on bool, floats refused."""
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg
from gpugrad.errors import DTypeError, ShapeError

BINARY = {
    "bitwise_and": operator.and_,
    "bitwise_or": operator.or_,
    "bitwise_xor": operator.xor,
    "bitwise_left_shift": operator.lshift,
    "bitwise_right_shift": operator.rshift,
}


def test_and_or_xor_on_integers_work_bit_by_bit():
    x = gg.tensor([1, -8, 6])
    assert (x & 3).tolist() == [1, 0, 2]
    assert (x | 3).tolist() == [3, -5, 7]
    assert (x ^ 3).tolist() == [2, -5, 5]
    assert (x & 3).dtype is gg.int64


def test_invert_is_minus_x_minus_one_on_integers_and_not_on_bool():
    assert (~gg.tensor([0, 5, -8])).tolist() == [-1, -6, 7]
    out = ~gg.tensor([True, False])
    assert out.tolist() == [False, True] and out.dtype is gg.bool


def test_bool_operands_stay_logical_and_bool():
    a, b = gg.tensor([True, True, False]), gg.tensor([True, False, False])
    for op, expected in ((operator.and_, [True, False, False]), (operator.or_, [True, True, False]),
                         (operator.xor, [False, True, False])):
        out = op(a, b)
        assert out.dtype is gg.bool and out.tolist() == expected


def test_bool_with_a_python_int_promotes_to_int64():
    out = gg.tensor([True, False]) & 1
    assert out.dtype is gg.int64 and out.tolist() == [1, 0]
    assert (gg.tensor([True]) << 1).tolist() == [2]


def test_reflected_forms():
    x = gg.tensor([1, 2])
    assert (3 & x).tolist() == [1, 2]
    assert (3 ^ x).tolist() == [2, 1]
    assert (2 << x).tolist() == [4, 8]
    assert (16 >> x).tolist() == [8, 4]


def test_shift_counts_out_of_range_clear_every_bit():
    x = gg.tensor([1, -8, 8, -1])
    assert (x << gg.tensor([64, 70, -1, 63])).tolist() == [0, 0, 0, -(2**63)]
    assert (x >> gg.tensor([64, 70, -1, 63])).tolist() == [0, -1, 0, -1]
    small = gg.tensor([8, -8], dtype=gg.int8)
    assert (small << gg.tensor([7, 9], dtype=gg.int8)).tolist() == [0, 0]  # 8 << 7 wraps to 0 in int8
    assert (small >> gg.tensor([7, 9], dtype=gg.int8)).tolist() == [0, -1]


@pytest.mark.parametrize("name", sorted(BINARY))
def test_float_operands_are_refused(name):
    fn = getattr(gg, name)
    with pytest.raises(DTypeError, match=name):
        fn(gg.tensor([1.0, 2.0]), gg.tensor([1, 2]))
    with pytest.raises(DTypeError, match=name):
        fn(gg.tensor([1, 2]), 1.0)
    with pytest.raises(DTypeError, match="bitwise_not"):
        ~gg.tensor([1.0])


def test_shifts_refuse_bool_tensors():
    with pytest.raises(DTypeError, match="bitwise_left_shift"):
        gg.tensor([True]) << gg.tensor([True])


def test_shapes_that_do_not_broadcast_are_refused():
    with pytest.raises(ShapeError, match=r"bitwise_and: shapes \(2,\) and \(3,\)"):
        gg.tensor([1, 2]) & gg.tensor([1, 2, 3])


def test_in_place_variants_write_into_self():
    x = gg.tensor([1, 2, 3])
    same = x.bitwise_and_(gg.tensor([1, 1, 1]))
    assert same is x and x.tolist() == [1, 0, 1]
    x <<= 2
    assert x.tolist() == [4, 0, 4]
    x.bitwise_not_()
    assert x.tolist() == [-5, -1, -5]


def test_in_place_refuses_a_result_self_cannot_hold():
    x = gg.tensor([True, False])
    with pytest.raises(DTypeError, match="bitwise_and_: result type int64 can't be cast to the desired output type bool"):
        x.bitwise_and_(gg.tensor([2, 3]))
    assert x.tolist() == [True, False]


def test_out_argument():
    out = gg.empty(2, dtype=gg.int64)
    assert gg.bitwise_xor(gg.tensor([5, 6]), 3, out=out) is out and out.tolist() == [6, 5]


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    name=st.sampled_from(["bitwise_and", "bitwise_or", "bitwise_xor"]),
    dtype=st.sampled_from([gg.int64, gg.bool]),
    seed=st.integers(0, 2**16),
)
def test_logic_ops_agree_with_numpy(shapes, name, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-100, 100, s).astype(dtype.np) for s in shapes.input_shapes)
    out = getattr(gg, name)(gg.tensor(a), gg.tensor(b))
    np.testing.assert_array_equal(out.numpy(), BINARY[name](a, b))
    assert out.dtype is dtype


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.integers(-2**40, 2**40, (3, 5))
    b = rng.integers(-3, 70, (5,)) if "shift" in name else rng.integers(-2**40, 2**40, (5,))
    ours = getattr(gg, name)(gg.tensor(a), gg.tensor(b))
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for scalar in (3, True):
        np.testing.assert_array_equal(BINARY[name](gg.tensor(a), scalar).numpy(), BINARY[name](torch.tensor(a), scalar).numpy())


@pytest.mark.torch
def test_bool_and_int_mixtures_match_pytorch():
    torch = pytest.importorskip("torch")
    cases = [([True, False], 3), (3, [True, False]), ([True, False], True)]
    for a, b in cases:
        for op in (operator.and_, operator.or_, operator.xor):
            ga, ta = (gg.tensor(a), torch.tensor(a)) if isinstance(a, list) else (a, a)
            gb, tb = (gg.tensor(b), torch.tensor(b)) if isinstance(b, list) else (b, b)
            ours, theirs = op(ga, gb), op(ta, tb)
            assert ours.tolist() == theirs.tolist() and str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]


def _values(dtype: str, rng):
    if dtype == "bool":
        return rng.integers(0, 2, 6).astype(bool)
    if dtype.startswith("float"):
        return rng.standard_normal(6)
    return rng.integers(0 if dtype == "uint8" else -100, 100, 6)


def _outcome(fn, a, b):
    try:
        out = fn(a, b)
    except (RuntimeError, TypeError, ValueError, NotImplementedError):
        return "error", None
    return str(out.dtype).split(".")[-1], out.numpy().astype(np.int64)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(BINARY))
def test_dtype_pairs_give_pytorchs_result_dtype_values_and_errors(name):
    torch = pytest.importorskip("torch")
    fn = BINARY[name]
    rng = np.random.default_rng(4)
    for first in DTYPES:
        a = _values(first, rng)
        for second in DTYPES + [5, True, 1.5]:
            if isinstance(second, str):
                b = _values(second, rng)
                if "shift" in name and second not in ("bool", "float32", "float64"):
                    b = np.abs(b) % 8
                ours_b, theirs_b = gg.tensor(b, dtype=getattr(gg, second)), torch.tensor(b, dtype=getattr(torch, second))
            else:
                ours_b = theirs_b = second
            ours = _outcome(fn, gg.tensor(a, dtype=getattr(gg, first)), ours_b)
            theirs = _outcome(fn, torch.tensor(a, dtype=getattr(torch, first)), theirs_b)
            assert ours[0] == theirs[0], (name, first, second, ours, theirs)
            if ours[1] is not None:
                np.testing.assert_array_equal(ours[1], theirs[1], err_msg=f"{name} {first} {second}")


@pytest.mark.torch
def test_invert_of_every_dtype_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    for dtype in DTYPES:
        a = _values(dtype, rng)
        ours = _outcome(lambda x, _: ~x, gg.tensor(a, dtype=getattr(gg, dtype)), None)
        theirs = _outcome(lambda x, _: ~x, torch.tensor(a, dtype=getattr(torch, dtype)), None)
        assert ours[0] == theirs[0], dtype
        if ours[1] is not None:
            np.testing.assert_array_equal(ours[1], theirs[1])
