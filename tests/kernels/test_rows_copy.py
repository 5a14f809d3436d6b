"""Copies over Numba's threads (gpugrad.kernels.rows_copy): NumPy's bits for every layout it takes (flat,
rows in order, a repeated row, an expanded last axis, reversed rows, merged leading axes), each kind of dtype,
odd sizes on both builds; what it declines; the backend's copies that reach it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.backend import cpu
from gpugrad.kernels import rows_copy as kr
from gpugrad.kernels import transpose as kt


def _layouts(rows, cols, dtype, seed=0):
    rng = np.random.default_rng(seed)
    base = (rng.standard_normal((rows, cols + 1)) * 100).astype(dtype)
    return {
        "contiguous": np.ascontiguousarray(base[:, :cols]),
        "slice of rows": base[:, 1:],
        "reversed rows": base[::-1, :cols],
        "every other column": base[:, ::2],
        "a repeated row": np.broadcast_to(base[:1, :cols], (rows, cols)),
        "an expanded last axis": np.broadcast_to(base[:, :1], (rows, cols)),
        "merged leading axes": base[:, :cols].reshape(1, rows, cols)[:, :, ::-1] if cols > 1 else base[:, :1],
    }


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 70), cols=st.integers(1, 70), parallel=st.booleans())
def test_every_layout_it_takes_gives_numpys_copy_on_odd_sizes(rows, cols, parallel):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kr, "MIN_BYTES", 1)
        if parallel:  # the parallel build on small sizes too
            mp.setattr(kr._copy_flat_cpu, "serial", kr._copy_flat_cpu.parallel)
            mp.setattr(kr._copy_rows_cpu, "serial", kr._copy_rows_cpu.parallel)
            mp.setattr(kr._fill_rows_cpu, "serial", kr._fill_rows_cpu.parallel)
        for name, x in _layouts(rows, cols, np.float32, seed=rows * 100 + cols).items():
            out = kr.copy(x)
            assert out is not None, name
            assert out.flags.c_contiguous and out.dtype == x.dtype and out.shape == x.shape, name
            assert out.tobytes() == kr.reference_copy(np, x).tobytes(), name
            assert not np.shares_memory(out, x), name


# One of each kind Numba compiles the copies for (each a compile of its own: all of them cost CI ~20 s).
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64, np.float32, np.float64, np.complex128])
def test_each_kind_of_dtype_keeps_its_bits(monkeypatch, dtype):
    assert np.dtype(dtype) in kt._DTYPES
    monkeypatch.setattr(kr, "MIN_BYTES", 1)
    for name, x in _layouts(33, 65, dtype).items():
        assert kr.copy(x).tobytes() == np.ascontiguousarray(x).tobytes(), name


def test_nan_payloads_come_through(monkeypatch):
    monkeypatch.setattr(kr, "MIN_BYTES", 1)
    bits = np.arange(40 * 50, dtype=np.uint32).reshape(40, 50) | np.uint32(0x7FC00000)  # NaNs, distinct payloads
    for x in (bits.view(np.float32), bits.view(np.float32)[::-1, 1:], np.broadcast_to(bits.view(np.float32)[:, :1], (40, 50))):
        assert kr.copy(x).view(np.uint32).tobytes() == np.ascontiguousarray(x).view(np.uint32).tobytes()


def test_large_copies_run_on_the_threads_with_numpys_bits():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1100, 2048)).astype(np.float32)  # 2 x 2.25M elements touched: parallel builds
    for x in (a, a[:, 1:], np.broadcast_to(a[:, :1], a.shape), np.broadcast_to(a[:1], a.shape)):
        assert np.array_equal(kr.copy(x), x)


def test_what_it_declines():
    assert kr.copy(np.zeros((100, 100), np.float32)) is None  # small: one core is as fast
    assert kr.copy(np.zeros((1500, 1500), np.float16)) is None  # a dtype it does not compile
    assert kr.copy(np.zeros((), np.float32)) is None
    # leading axes that do not merge into one without a copy, even leaving the last two apart
    x = np.zeros((30, 2, 50, 1500), np.float32).transpose(1, 0, 2, 3)
    assert kr.copy(x) is None
    # where the last two stay apart, planes of rows
    x = np.arange(1500 * 2 * 1500, dtype=np.float32).reshape(1500, 2, 1500).transpose(1, 0, 2)
    assert np.array_equal(kr.copy(x), x)


def test_the_backends_copies_take_it(monkeypatch):
    calls = []
    real = kr.copy

    def recording(x):
        out = real(x)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(kr, "copy", recording)
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1100, 2048)).astype(np.float32)
    assert np.array_equal(cpu.copy(a), a) and calls == [True]
    # a tensor made from a large array: one copy, the kernel's
    x = gg.tensor(a, requires_grad=True)
    assert calls == [True, True] and not np.shares_memory(x.detach().numpy(), a) and np.array_equal(x.detach().numpy(), a)
    up = gg.tensor(rng.standard_normal(1100).astype(np.float32))
    # a leaf's gradient that arrived expanded (sum over the last dim) lands as the kernel's fill
    calls.clear()
    x.sum(dim=1).backward(up)
    assert calls == [True]
    assert np.array_equal(x.grad.numpy(), np.broadcast_to(up.numpy()[:, None], a.shape))
    assert x.grad.numpy().flags.c_contiguous


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), widths=st.lists(st.integers(0, 3), min_size=4, max_size=4),
       dtype=st.sampled_from([np.float32, np.int64, np.uint8, np.bool_]),
       value=st.sampled_from([0, 7.9, -1.5, 1]), parallel=st.booleans())
def test_padding_the_last_two_dims_gives_numpys_pad(shape, widths, dtype, value, parallel):
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 50).astype(dtype)
    pairs = [(0, 0)] * (x.ndim - 2) + [(widths[0], widths[1]), (widths[2], widths[3])][2 - min(x.ndim, 2):]
    if dtype is np.uint8 and value < 0:
        return  # NumPy refuses -1.5 as a uint8 fill (OverflowError): the kernel's conversion is NumPy's
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kr, "MIN_BYTES", 1)
        if parallel:  # the parallel build on small sizes too
            mp.setattr(kr._pad_rows_cpu, "serial", kr._pad_rows_cpu.parallel)
        out = kr.pad(x, pairs, value)
    want = np.pad(x, pairs, constant_values=value)
    assert out.dtype == want.dtype and out.shape == want.shape and out.tobytes() == want.tobytes()


def test_padding_declines_leading_dims_small_arrays_and_other_layouts(monkeypatch):
    x = np.zeros((2, 3, 4), np.float32)
    assert kr.pad(x, [(0, 0), (1, 1), (1, 1)], 0.0) is None  # small
    monkeypatch.setattr(kr, "MIN_BYTES", 1)
    assert kr.pad(x, [(1, 0), (1, 1), (1, 1)], 0.0) is None  # a leading dim padded
    assert kr.pad(x.transpose(0, 2, 1), [(0, 0), (1, 1), (1, 1)], 0.0) is None  # not C-contiguous
    assert kr.pad(x.astype(np.float16), [(0, 0), (1, 1), (1, 1)], 0.0) is None  # a dtype it is not compiled for


@settings(max_examples=20, deadline=None)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 9), st.integers(1, 9)), parallel=st.booleans())
def test_planes_of_rows_copy_as_numpy_does(shape, parallel):
    """A padded array's interior (its gradient, F.pad's backward): leading axes merge, the rows do not."""
    base = np.random.default_rng(sum(shape)).standard_normal(shape[:2] + (shape[2] + 2, shape[3] + 3)).astype(np.float32)
    for view in (base[:, :, 1:-1, 2:-1], base[:, :, 1:-1, 2:-1][:, :, ::-1], base[0, :, 1:-1, 2:-1]):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(kr, "MIN_BYTES", 1)
            if parallel:  # the parallel build on small sizes too
                mp.setattr(kr._copy_rows_cpu, "serial", kr._copy_rows_cpu.parallel)
            out = kr.copy(view)
        if out is None:  # rows that merge into one (a single row per plane) take the 2-D road, or decline
            continue
        assert out.flags.c_contiguous and out.tobytes() == np.ascontiguousarray(view).tobytes()
