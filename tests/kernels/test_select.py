"""where(cond, a, b) as one select per element (gpugrad.kernels.select): NumPy's bits for each form (two arrays,
a single value first or second, a Python number) and dtype, on odd sizes on both builds; what it declines;
the where and masked_fill ops (and their gradients) that reach it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad.kernels import _dispatch
from gpugrad.kernels import select as ks

_DTYPES = [np.float32, np.float64, np.int64, np.int8, np.bool_, np.complex64]


def _operand(rng, shape, dtype):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if np.dtype(dtype).kind == "f" and x.size >= 4:
        x.reshape(-1)[:4] = (np.nan, -0.0, np.inf, -np.nan)  # payloads and signs move as they are
    return x


def _same_bits(got, want) -> bool:
    return got is not None and got.shape == want.shape and got.dtype == want.dtype and got.tobytes() == want.tobytes()


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 300), dtype=st.sampled_from(_DTYPES), form=st.sampled_from(["arrays", "first", "second",
                                                                                     "number"]),
       parallel=st.booleans(), seed=st.integers(0, 2**16))
def test_every_form_gives_numpys_bits_on_odd_sizes_and_both_builds(size, dtype, form, parallel, seed):
    rng = np.random.default_rng(seed)
    cond = rng.standard_normal(size) > 0
    a, b = _operand(rng, size, dtype), _operand(rng, size, dtype)
    if form == "first":
        a = np.array(a[size // 2])
    elif form == "second":
        b = np.array(b[0])
    elif form == "number" and np.dtype(dtype).kind == "f":
        b = -1.25
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ks, "MIN_ELEMENTS", 1)
        if parallel:
            mp.setattr(_dispatch, "PARALLEL_MIN_WORK", 0)
        got = ks.where(cond, a, b)
    assert _same_bits(got, np.where(cond, a, b))


def test_a_large_condition_runs_the_parallel_build_with_numpys_bits():
    rng = np.random.default_rng(1)
    n = ks.MIN_ELEMENTS * 64 + 3
    cond = rng.standard_normal(n) > 0
    a, b = _operand(rng, n, np.float32), _operand(rng, n, np.float32)
    assert _same_bits(ks.where(cond, a, b), np.where(cond, a, b))
    assert _same_bits(ks.where(cond, a, 0.0), np.where(cond, a, 0.0))


def test_what_it_declines():
    n = ks.MIN_ELEMENTS
    cond = np.ones(n, bool)
    x = np.ones(n, np.float32)
    assert ks.where(cond[:-1], x[:-1], x[:-1]) is None  # small
    assert ks.where(np.ones((n, 1), bool), x, x) is None  # a condition that broadcasts
    assert ks.where(cond, x, x.astype(np.float64)) is None  # two dtypes: NumPy promotes
    assert ks.where(cond, np.ones(n, np.int32), 2.5) is None  # an int array and a float: NumPy's promotion
    assert ks.where(cond, x, 1e300) is None  # past float32's range
    assert ks.where(cond, x, np.ones(2 * n, np.float32)[::2]) is None  # strided
    assert ks.where(cond, x.astype(np.float16), x.astype(np.float16)) is None  # a dtype Numba does not compile


@pytest.mark.parametrize("grad", [False, True])
def test_where_and_masked_fill_and_their_gradients_run_here(monkeypatch, grad):
    calls = []
    real = ks.where
    monkeypatch.setattr(ks, "where", lambda c, a, b: calls.append(1) or real(c, a, b))
    rng = np.random.default_rng(2)
    x_np = _operand(rng, (256, 257), np.float32)
    x = gg.tensor(x_np, requires_grad=grad)
    y = gg.where(x > 0, x, x * 0.5)
    z = x.masked_fill(x > 1.0, -2.0)
    with np.errstate(invalid="ignore"):
        assert _same_bits(y.detach().numpy(), np.where(x_np > 0, x_np, x_np * np.float32(0.5)))
        assert _same_bits(z.detach().numpy(), np.where(x_np > 1.0, np.float32(-2.0), x_np))
    assert len(calls) == 2
    if grad:
        up = rng.standard_normal((256, 257)).astype(np.float32)
        (y + z).backward(gg.tensor(up))
        with np.errstate(invalid="ignore"):
            want = np.where(x_np > 0, up, 0) + np.where(x_np > 0, 0, up) * np.float32(0.5) + np.where(x_np > 1.0, 0, up)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
        assert len(calls) > 2  # the gradients' own selects
