"""Row sums and sums over axis 0 (gpugrad.kernels.reduce) against the reference: odd sizes, rows longer than a
block, NaN and inf, the same bits on any thread count, and bad input named."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpugrad.kernels import reduce as kr


def _bound(x: np.ndarray) -> np.ndarray:
    """A rounding bound for a row's sum: a block of BLOCK floats adds at most BLOCK / lanes of them in one
    lane, then lanes and blocks combine; a few hundred ulps of sum |x| covers float32 and float64 alike."""
    return 300 * np.finfo(x.dtype).eps * np.abs(x).astype(np.float64).sum(axis=1) + np.finfo(x.dtype).tiny


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 9), n=st.integers(1, 2 * kr.BLOCK + 3), dtype=st.sampled_from([np.float32, np.float64]),
       squares=st.booleans())
def test_row_sums_match_the_reference(rows, n, dtype, squares):
    rng = np.random.default_rng(rows * 10_000 + n)
    x = (rng.standard_normal((rows, n)) * 3 + 0.5).astype(dtype)
    got = kr.sum_rows(np, x, squares=squares, impl="cpu")
    assert got.dtype == dtype and got.shape == (rows,)
    terms = x * x if squares else x  # squares: each rounded in the dtype, as the kernel's
    exact = terms.astype(np.float64).sum(axis=1)
    assert np.all(np.abs(got - exact) <= _bound(terms)), np.abs(got - exact).max()


def test_a_long_row_keeps_the_rounding_of_one_block():
    # A million float32 values of one sign: a float32 running sum per lane would drift by ~1e-4 relative
    # here; a block's lanes add 64 values each, so the error stays within 64 ulps (5 measured).
    x = np.full((2, 1_000_003), 0.1, np.float32)
    got = kr.sum_rows(np, x, impl="cpu")
    exact = x.astype(np.float64).sum(axis=1)
    assert np.all(np.abs(got - exact) / exact <= 64 * np.finfo(np.float32).eps)


def test_nan_and_inf_propagate_as_numpys_sum():
    x = np.ones((4, kr.BLOCK + 5), np.float32)
    x[0, 3] = np.nan
    x[1, kr.BLOCK + 1] = np.inf
    x[2, 0], x[2, -1] = np.inf, -np.inf
    with np.errstate(invalid="ignore"):
        want = x.sum(axis=1)
    assert np.array_equal(kr.sum_rows(np, x, impl="cpu"), want, equal_nan=True)


def test_the_bits_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 3 * kr.BLOCK + 11)).astype(np.float32)
    kr.sum_rows(np, x[:1], impl="cpu")  # builds both compilations
    serial = np.zeros(37, np.float32)
    kr._sum_rows_cpu.serial(x, False, serial)
    before = numba.get_num_threads()
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            out = np.zeros(37, np.float32)
            kr._sum_rows_cpu.parallel(x, False, out)
            assert np.array_equal(out, serial), threads
    finally:
        numba.set_num_threads(before)


def test_empty_rows_and_the_reference_switch():
    assert np.array_equal(kr.sum_rows(np, np.zeros((3, 0), np.float32), impl="cpu"), np.zeros(3, np.float32))
    assert kr.sum_rows(np, np.zeros((0, 5), np.float64), impl="cpu").shape == (0,)
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert np.array_equal(kr.sum_rows(np, x, impl="reference"), x.sum(axis=1))
    assert np.array_equal(kr.sum_rows(np, x.T, impl="cpu"), x.T.sum(axis=1))  # not contiguous: copied first


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"reduce.sum_rows: expected a 2-D \(rows, n\) array, got shape \(3,\)"):
        kr.sum_rows(np, np.zeros(3, np.float32), impl="cpu")
    with pytest.raises(TypeError, match="reduce.sum_rows"):
        kr.sum_rows(np, np.zeros((3, 3), np.int64), impl="cpu")


# sum_leading: sums over axis 0 ---------------------------------------------------------------------------

def _leading_bound(x: np.ndarray) -> np.ndarray:
    """float32: the exact sum's rounding (half a spacing) plus the float64 adds' error (rows * 2**-53 of
    sum |x|); float64 is compared bit for bit instead."""
    exact_abs = np.abs(x).astype(np.float64).sum(axis=0)
    return 0.5 * np.spacing(np.abs(x.astype(np.float64).sum(axis=0)).astype(np.float32)) + x.shape[0] * 2.0**-53 * exact_abs


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 2 * kr.ROW_BLOCK + 9), n=st.integers(1, 150), dtype=st.sampled_from([np.float32, np.float64]))
def test_leading_sums_match_the_reference(rows, n, dtype):
    rng = np.random.default_rng(rows * 1000 + n)
    x = (rng.standard_normal((rows, n)) * np.exp(rng.uniform(-4, 4, (rows, n))) + 0.25).astype(dtype)
    got = kr.sum_leading(np, x, impl="cpu")
    assert got.dtype == dtype and got.shape == (n,)
    if dtype == np.float64 or n == 1 or rows < kr.LEADING_MIN_ROWS:  # NumPy's order, or a single column left to NumPy: its bits
        assert np.array_equal(got, x.sum(axis=0))
    else:
        assert np.all(np.abs(got - x.astype(np.float64).sum(axis=0)) <= _leading_bound(x))


def test_float32_leading_sums_round_once():
    # 2048 rows of +-1 scaled: float32 added row after row (NumPy's way) drifts by hundreds of ulps where the
    # columns cancel; added in float64 and rounded once, within half an ulp of the exact sum.
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2048, 96)).astype(np.float32)
    exact = x.astype(np.float64).sum(axis=0)
    got = kr.sum_leading(np, x, impl="cpu").astype(np.float64)
    assert np.all(np.abs(got - exact) <= _leading_bound(x))
    assert np.abs(x.sum(axis=0) - exact).max() > np.abs(got - exact).max()


def test_leading_sums_of_nan_inf_and_zeros_are_numpys():
    for dtype in (np.float32, np.float64):
        x = np.ones((3 * kr.ROW_BLOCK + 5, 20), dtype)
        x[7, 0] = np.nan
        x[kr.ROW_BLOCK + 1, 1] = np.inf
        x[0, 2], x[-1, 2] = np.inf, -np.inf
        x[5, 3] = -np.inf
        x[:, 4] = -0.0  # a column of negative zeros sums to +0.0, as NumPy's and PyTorch's
        with np.errstate(invalid="ignore"):
            want = x.sum(axis=0)
        got = kr.sum_leading(np, x, impl="cpu")
        assert np.array_equal(got, want, equal_nan=True), dtype
        assert not np.signbit(got[4])
    # Over LEADING_MIN_ROWS rows or more, float32 partial sums past float32's range stay finite in float64:
    # the exact sum (NumPy's float32 running sum, like PyTorch's, overflows to inf here); a sum that is itself
    # out of range is inf. Over fewer rows the running sum is NumPy's, and overflows with it.
    rows = np.zeros((kr.LEADING_MIN_ROWS, 8), np.float32)
    rows[:3] = np.array([[3e38], [3e38], [-3e38]], np.float32)
    assert np.all(kr.sum_leading(np, rows, impl="cpu") == np.float32(3e38))
    assert np.all(kr.sum_leading(np, np.full((kr.LEADING_MIN_ROWS, 8), 3e38, np.float32), impl="cpu") == np.inf)
    with np.errstate(over="ignore"):
        assert np.all(kr.sum_leading(np, rows[:3], impl="cpu") == rows[:3].sum(axis=0))


@pytest.mark.parametrize("rows", [3 * kr.ROW_BLOCK + 13, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leading_sum_bits_do_not_depend_on_threads_or_tiles(dtype, rows):
    rng = np.random.default_rng(2)
    n = 301
    x = rng.standard_normal((rows, n)).astype(dtype)
    want = kr.sum_leading(np, x, impl="cpu")  # builds both compilations
    in_order = dtype == np.float64 or rows < kr.LEADING_MIN_ROWS
    per_block = rows if in_order else kr.ROW_BLOCK
    blocks = -(-rows // per_block)
    before = numba.get_num_threads()
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            assert np.array_equal(kr.sum_leading(np, x, impl="cpu"), want), threads
            for build in (kr._sum_leading_cpu.serial, kr._sum_leading_cpu.parallel) if not in_order else ():
                for columns in (16, 64, 100, kr.COLUMNS):  # the launcher picks the width by the thread count
                    out = np.empty(n, dtype)
                    build(x, per_block, columns, np.zeros((blocks, n)), out)
                    assert np.array_equal(out, want), (threads, columns)
            for build in (kr._sum_in_order_cpu.serial, kr._sum_in_order_cpu.parallel) if in_order else ():
                for columns in (16, 100, kr.COLUMNS):
                    out = np.empty(n, dtype)
                    build(x, columns, out)
                    assert np.array_equal(out, want), (threads, columns)
    finally:
        numba.set_num_threads(before)


def test_leading_sums_of_empty_single_column_and_other_inputs():
    assert np.array_equal(kr.sum_leading(np, np.zeros((0, 5), np.float32), impl="cpu"), np.zeros(5, np.float32))
    assert kr.sum_leading(np, np.zeros((4, 0), np.float64), impl="cpu").shape == (0,)
    col = np.random.default_rng(0).standard_normal((1001, 1))
    assert np.array_equal(kr.sum_leading(np, col, impl="cpu"), col.sum(axis=0))  # NumPy's pairwise sum
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert np.array_equal(kr.sum_leading(np, x, impl="reference"), x.sum(axis=0))
    assert np.array_equal(kr.sum_leading(np, x.T, impl="cpu"), x.T.sum(axis=0))  # not contiguous: copied first
    with pytest.raises(ValueError, match=r"reduce.sum_leading: expected a 2-D \(rows, n\) array, got shape \(3,\)"):
        kr.sum_leading(np, np.zeros(3, np.float32), impl="cpu")
    with pytest.raises(TypeError, match="reduce.sum_leading"):
        kr.sum_leading(np, np.zeros((3, 3), np.int64), impl="cpu")


# sum_all: every element, float64 partials --------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3 * kr.CHUNK + 7), dtype=st.sampled_from([np.float32, np.float64]), squares=st.booleans())
def test_full_sums_match_the_reference(n, dtype, squares):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3 + 0.5).astype(dtype)
    shift = 0.25
    got = kr.sum_all(np, x, shift=shift, squares=squares, impl="cpu")
    assert isinstance(got, float)
    terms = (x - x.dtype.type(shift)).astype(np.float64) ** 2 if squares else x.astype(np.float64)
    # float32: a block's lanes' rounding (sum_rows' bound); squares are float64 throughout
    bound = (2**-40 if squares else 300 * np.finfo(dtype).eps) * np.abs(terms).sum() + 1e-300
    assert abs(got - terms.sum()) <= bound


def test_full_sums_do_not_depend_on_the_thread_count_or_layout():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((301, 700)).astype(np.float32)
    before = numba.get_num_threads()
    try:
        runs = set()
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            runs.add((kr.sum_all(np, x, impl="cpu"), kr.sum_all(np, x, shift=0.5, squares=True, impl="cpu")))
    finally:
        numba.set_num_threads(before)
    assert len(runs) == 1
    assert runs == {(kr.sum_all(np, np.asfortranarray(x).T.T, impl="cpu"),
                     kr.sum_all(np, x, shift=0.5, squares=True, impl="cpu"))}


def test_full_sums_of_nan_inf_and_empty():
    x = np.ones(kr.CHUNK + 5, np.float32)
    x[7] = np.inf
    assert kr.sum_all(np, x, impl="cpu") == np.inf
    x[kr.CHUNK + 2] = -np.inf
    assert np.isnan(kr.sum_all(np, x, impl="cpu"))
    x[:] = 1.0
    x[-1] = np.nan
    assert np.isnan(kr.sum_all(np, x, impl="cpu")) and np.isnan(kr.sum_all(np, x, squares=True, impl="cpu"))
    assert kr.sum_all(np, np.zeros(0, np.float32), impl="cpu") == 0.0
    with pytest.raises(TypeError, match="reduce.sum_all"):
        kr.sum_all(np, np.zeros(3, np.int64), impl="cpu")


# prod_rows: products along the rows, NumPy's order -------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 30), n=st.integers(1, 70), dtype=st.sampled_from([np.float32, np.float64]))
def test_row_products_have_the_references_bits(rows, n, dtype):
    rng = np.random.default_rng(rows * 100 + n)
    x = rng.uniform(0.6, 1.6, (rows, n)).astype(dtype)
    x.flat[::13] = 0.0
    x.flat[rng.integers(0, x.size)] = rng.choice([np.nan, np.inf, -np.inf, -0.0])
    got = kr.prod_rows(np, x, impl="cpu")
    assert got.dtype == dtype and got.shape == (rows,)
    with np.errstate(invalid="ignore"):
        assert np.array_equal(got, kr.reference_prod_rows(np, x), equal_nan=True)


def test_row_products_on_the_threads_and_the_edges():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.9, 1.1, (1003, 301)).astype(np.float32)  # the parallel build
    assert np.array_equal(kr.prod_rows(np, x, impl="cpu"), kr.reference_prod_rows(np, x))
    assert np.array_equal(kr.prod_rows(np, np.zeros((3, 0), np.float32), impl="cpu"), np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"reduce.prod_rows: expected a 2-D \(rows, n\) array"):
        kr.prod_rows(np, np.ones(3, np.float32), impl="cpu")
