"""The CPU gather, scatter-add, index_add and topk kernels (gpugrad.kernels.gather) against their NumPy
references, bit for bit: odd shapes, every axis, negative and repeated indices, several dtypes, the row
kernels with and without their touching pass, serial and parallel builds."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpugrad.kernels import gather as kg

SHAPES = [((7,), 0), ((5, 9), 1), ((5, 9), 0), ((3, 4, 6), 1), ((2, 3, 700), 2), ((600, 3), 0), ((1, 1), 1)]
# Each (kernel, dtype, build) costs a compile (~0.3 s loading it from Numba's cache): the parallel builds
# are checked in float32 only.
CASES = [(np.float32, False), (np.float32, True), (np.float64, False), (np.int64, False), (np.complex64, False)]


def _values(rng, shape, dtype):
    # Mixed magnitudes, so that the order of the additions shows in float results.
    v = rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 7, shape)
    if np.dtype(dtype).kind == "c":
        v = v + 1j * rng.standard_normal(shape)
    return v.astype(dtype)


def _force_parallel(monkeypatch, on: bool) -> None:
    monkeypatch.setattr(sys.modules[type(kg._gather_cpu).__module__], "PARALLEL_MIN_WORK", 0 if on else 1 << 40)


@pytest.mark.parametrize("dtype, parallel", CASES)
def test_gather_and_scatter_add_match_the_references(rng, monkeypatch, dtype, parallel):
    _force_parallel(monkeypatch, parallel)
    for shape, axis in SHAPES:
        n = shape[axis]
        x = _values(rng, shape, dtype)
        for m in (1, 3 * n):  # fewer indices than the axis, and many repeats (the row kernels touch then)
            ishape = shape[:axis] + (m,) + shape[axis + 1:]
            idx = rng.integers(-n, n, ishape)
            got = kg.gather_along(np, x, idx, axis)
            assert got.flags.c_contiguous
            np.testing.assert_array_equal(got, kg.reference_gather_along(np, x, idx, axis))
            src = _values(rng, ishape, dtype)
            out, want = x.copy(), x.copy()
            kg.scatter_add_along(np, out, idx, src, axis)
            kg.reference_scatter_add_along(np, want, idx, src, axis)
            assert out.tobytes() == want.tobytes(), (shape, axis, m)


@pytest.mark.parametrize("dtype, parallel", CASES)
def test_index_add_matches_the_reference(rng, monkeypatch, dtype, parallel):
    _force_parallel(monkeypatch, parallel)
    for shape, axis in SHAPES:
        n = shape[axis]
        for m in (1, 3 * n):
            idx = rng.integers(-n, n, m)
            src = _values(rng, shape[:axis] + (m,) + shape[axis + 1:], dtype)
            out = _values(rng, shape, dtype)
            want = out.copy()
            kg.index_add(np, out, idx, src, axis)
            kg.reference_index_add(np, want, idx, src, axis)
            assert out.tobytes() == want.tobytes(), (shape, axis, m)


def test_other_layouts_and_dtypes_take_the_references(rng):
    x = rng.standard_normal((4, 6)).astype(np.float16)
    idx = rng.integers(0, 6, (4, 5))
    np.testing.assert_array_equal(kg.gather_along(np, x, idx, 1), np.take_along_axis(x, idx, 1))
    out = np.zeros((6, 4), np.float32).T  # not C-contiguous: np.add.at
    src = rng.standard_normal((4, 5)).astype(np.float32)
    kg.scatter_add_along(np, out, idx, src, 1)
    want = np.zeros((4, 6), np.float32)
    np.add.at(want, (np.arange(4)[:, None], idx), src)
    np.testing.assert_array_equal(out, want)
    small = rng.integers(0, 6, (3, 5))  # an index smaller than x in another dim
    np.testing.assert_array_equal(kg.gather_along(np, x, small, 1), np.take_along_axis(x[:3], small, 1))


SPECIAL = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, -1.0, 2.5]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(SPECIAL), min_size=1, max_size=40), st.integers(1, 3), st.data())
def test_topk_is_the_stable_sort_cut_at_k(values, lines, data):
    x = np.array([values] * lines, np.float32)
    x = np.ascontiguousarray(x[:, np.random.default_rng(len(values)).permutation(len(values))] if lines > 1 else x)
    k = data.draw(st.integers(0, len(values)))
    for largest in (True, False):
        for a, axis in ((x, 1), (np.ascontiguousarray(x.T), 0)):
            got = kg.topk_indices(np, a, k, largest, axis)
            np.testing.assert_array_equal(got, kg.reference_topk_indices(np, a, k, largest, axis))


@pytest.mark.parametrize("dtype, parallel", [(np.float32, False), (np.float32, True), (np.float64, False),
                                             (np.int8, False), (np.int64, False)])
def test_topk_matches_the_reference_on_random_lines(rng, monkeypatch, dtype, parallel):
    _force_parallel(monkeypatch, parallel)
    for shape, axis in SHAPES + [((3, 1000), 1)]:
        x = rng.integers(0, 50, shape).astype(dtype)  # many ties
        if np.dtype(dtype).kind == "f":
            x[rng.random(shape) < 0.1] = np.nan
        n = shape[axis]
        for k in sorted({0, 1, 2, n // 3, n}):
            for largest in (True, False):
                got = kg.topk_indices(np, x, k, largest, axis)
                assert got.dtype == np.int64 and got.flags.c_contiguous
                np.testing.assert_array_equal(got, kg.reference_topk_indices(np, x, k, largest, axis),
                                              err_msg=str((shape, axis, k, largest)))


def test_topk_sorted_and_reversed_lines():
    # Every element beats the root (ascending line, largest) or none does: the heap's worst and best cases.
    x = np.arange(300, dtype=np.float64)[None, :]
    for a in (x, x[:, ::-1].copy()):
        for largest in (True, False):
            np.testing.assert_array_equal(kg.topk_indices(np, a, 7, largest, 1),
                                          kg.reference_topk_indices(np, a, 7, largest, 1))


def test_sorted_keys_give_the_stable_order(rng):
    # Ties, both zeros, NaNs of either sign and other payloads, infinities and subnormals.
    special = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 1.0, -1.0, np.nan], np.float32)
    x = special[rng.integers(0, special.size, (6, 301))]
    x.view(np.uint32)[0, :3] = [0xFFC00000, 0x7F800001, 0xFFFFFFFF]  # -NaN, a signalling NaN, another payload
    x[5] = rng.standard_normal(301).astype(np.float32)
    for descending in (False, True):
        keys = kg.sort_keys_f32(np, x, descending)
        keys.sort(axis=1)
        got = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
        want = kg.reference_topk_indices(np, x, x.shape[1], descending, 1)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype, parallel", CASES)
def test_index_add_of_long_rows_matches_the_reference(rng, monkeypatch, dtype, parallel):
    # rows of ROW_MIN elements and more: the kernel whose tasks own ranges of output rows
    _force_parallel(monkeypatch, parallel)
    for shape, axis in (((5, 130), 0), ((2, 6, 256), 1), ((3, 7, 64), 1), ((9, 2, 200), 1), ((1, 3, 70), 0)):
        n = shape[axis]
        for m in (1, 3 * n):
            idx = rng.integers(-n, n, m)
            src = _values(rng, shape[:axis] + (m,) + shape[axis + 1:], dtype)
            out = _values(rng, shape, dtype)
            want = out.copy()
            kg.index_add(np, out, idx, src, axis)
            kg.reference_index_add(np, want, idx, src, axis)
            assert out.tobytes() == want.tobytes(), (shape, axis, m)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 200), dtype=st.sampled_from([np.int32, np.int64]), seed=st.integers(0, 2**16))
def test_index_bounds_are_numpys_min_and_max(size, dtype, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, size, dtype=dtype, endpoint=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kg, "BOUNDS_MIN_ELEMENTS", 1)
        mp.setattr(sys.modules[type(kg._bounds_cpu).__module__], "PARALLEL_MIN_WORK", 0)  # the parallel build
        assert kg.index_bounds(idx) == (int(idx.min()), int(idx.max()))
        assert size == 1 or kg.index_bounds(idx.repeat(2)[::2]) is None  # not C-contiguous
        assert kg.index_bounds(idx.astype(np.int16)) is None


def test_a_large_index_out_of_range_is_refused_after_one_pass():
    import gpugrad as gg

    ids = np.zeros(kg.BOUNDS_MIN_ELEMENTS + 3, np.int64)
    ids[-1] = 5
    x = gg.arange(5.0)
    assert x.gather(0, gg.tensor(ids[:-1])).shape == (kg.BOUNDS_MIN_ELEMENTS + 2,)
    with pytest.raises(Exception, match="index 5 is out of bounds"):
        x.gather(0, gg.tensor(ids))
    ids[3] = -1
    with pytest.raises(Exception, match="index -1 is out of bounds"):
        x.gather(0, gg.tensor(ids))
