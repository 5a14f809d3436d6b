"""The CPU flip and triangle copies (gpugrad.kernels.shape) against NumPy's flip-and-copy and tri-and-where,
byte for byte: every axis, odd shapes, diagonals beyond the matrix, dtypes, NaN payloads and -0.0."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.kernels import shape as ks

SHAPES = [(130, 129), (3, 70, 90), (2, 3, 5, 700)]


def _data(rng, shape, dtype):
    x = (rng.standard_normal(shape) * 100).astype(dtype)
    if dtype == np.float32:
        x.flat[::7] = -0.0
        x.reshape(-1).view(np.uint32)[1::11] = 0xFFC00001  # a negative NaN with a payload
    elif dtype == np.float64:
        x.flat[::7] = -0.0
        x.reshape(-1).view(np.uint64)[1::11] = 0x7FF8000000000123
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.bool_])
def test_flip_copies_numpys_flip(rng, dtype):
    for shape in SHAPES:
        x = _data(rng, shape, dtype)
        for axis in range(len(shape)):
            got = ks.flip_copy(np, x, axis)
            assert got.flags.c_contiguous and got.tobytes() == np.flip(x, axis).copy().tobytes(), (shape, axis)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.bool_])
def test_triangle_is_numpys_tri_and_where(rng, dtype):
    for shape in SHAPES:
        x = _data(rng, shape, dtype)
        rows, cols = shape[-2:]
        for k in (-10**12, -rows - 1, -rows, -3, -1, 0, 1, 2, cols - 1, cols, 10**12):
            for lower in (True, False):
                got = ks.triangle(np, x, k, lower)
                want = ks.reference_triangle(np, x, k, lower)
                assert got.flags.c_contiguous and got.tobytes() == want.tobytes(), (shape, k, lower)


def test_small_and_strided_inputs_take_numpys_calls(rng):
    x = rng.standard_normal((200, 300)).T  # not C-contiguous
    np.testing.assert_array_equal(ks.flip_copy(np, x, 0), x[::-1])
    np.testing.assert_array_equal(ks.triangle(np, x, 1, False), np.triu(x, 1))
    small = rng.standard_normal((4, 5)).astype(np.float16)
    np.testing.assert_array_equal(ks.triangle(np, small, 0, True), np.tril(small))
