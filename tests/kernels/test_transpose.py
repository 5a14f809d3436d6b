"""Copies of transposed views by tiles (gpugrad.kernels.transpose): NumPy's bits on odd sizes, batches,
reversed strides and every dtype the kernel takes; layouts it declines; the ops that reach it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.backend import cpu
from gpugrad.kernels import transpose as kt


def _transposed(shape, dtype, seed=0):
    """A view of ``shape`` transposed in its last two axes (its base C-contiguous), of ``dtype``."""
    rng = np.random.default_rng(seed)
    base_shape = shape[:-2] + (shape[-1], shape[-2])
    base = (rng.standard_normal(base_shape) * 100).astype(dtype)
    return np.swapaxes(base, -1, -2)


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(2, 300), cols=st.integers(2, 300), batch=st.integers(1, 3))
def test_copies_equal_numpys_on_odd_sizes(rows, cols, batch):
    x = _transposed((batch, rows, cols), np.float32, seed=rows * 1000 + cols)
    out = np.empty_like(x, order="C")
    kt._tiled_copy_cpu(1, x, out)  # the serial build, on sizes below the launcher's threshold too
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("dtype", sorted(kt._DTYPES, key=str))
def test_every_dtype_it_takes_keeps_its_bits(dtype):
    x = _transposed((3, 70, 530), dtype)
    assert kt.is_transposed(x)
    out = kt.copy(x)
    assert out.flags.c_contiguous and out.dtype == dtype
    assert out.tobytes() == np.ascontiguousarray(x).tobytes()


def test_nan_payloads_and_reversed_strides_come_through():
    base = np.arange(300 * 200, dtype=np.uint32).reshape(300, 200) | np.uint32(0x7FC00000)  # NaNs, distinct payloads
    x = base.view(np.float32)[::-1, :].T  # last axis reversed too
    assert kt.is_transposed(x)
    assert kt.copy(x).view(np.uint32).tobytes() == np.ascontiguousarray(x).view(np.uint32).tobytes()


def test_a_large_copy_runs_on_the_threads_with_the_same_result():
    x = _transposed((1024, 2048), np.float32)  # 2 x 2**21 elements touched: the parallel build
    np.testing.assert_array_equal(kt.copy(x), x)


def test_layouts_it_declines():
    assert not kt.is_transposed(np.zeros((300, 300), np.float32))  # already row-major
    assert not kt.is_transposed(np.zeros((300, 300), np.float16).T)  # a dtype Numba does not compile
    assert not kt.is_transposed(np.zeros((100, 100), np.float32).T)  # small: NumPy's copy is as fast
    assert not kt.is_transposed(np.zeros((4, 300, 300), np.float32).transpose(1, 0, 2))  # last axis adjacent
    assert not kt.is_transposed(np.broadcast_to(np.zeros((300, 1), np.float32), (300, 300)))  # an expanded column
    # the last two axes transposed, the leading ones not mergeable into one: declined at copy time
    x = np.zeros((3, 4, 200, 100), np.float32).transpose(1, 0, 3, 2)
    assert kt.is_transposed(x) and kt.copy(x) is None
    np.testing.assert_array_equal(cpu.copy(x), x)


def test_contiguous_and_a_transposed_leafs_gradient_are_tiled_copies(monkeypatch):
    calls = []
    kernel = kt._tiled_copy_cpu
    monkeypatch.setattr(kt, "_tiled_copy_cpu", lambda *args: calls.append(args[1].shape) or kernel(*args))
    a = gg.tensor(np.arange(400 * 300, dtype=np.float32).reshape(400, 300), requires_grad=True)
    y = a.t().contiguous()
    assert y.is_contiguous() and np.array_equal(y.detach().numpy(), a.detach().numpy().T)
    g = np.arange(300 * 400, dtype=np.float32).reshape(300, 400)
    y.backward(gg.tensor(g))
    assert a.grad.is_contiguous() and np.array_equal(a.grad.numpy(), g.T)
    assert calls == [(1, 300, 400), (1, 400, 300)]  # the forward's copy, then the leaf's
