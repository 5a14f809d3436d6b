"""div's backward in one pass (gpugrad.kernels.arithmetic) against its reference, the formula as array
operations: the same bits on odd sizes, both dtypes, special values, split among threads or not; bad
input named before anything runs. And the op's path to it: div's gradients, plain and recorded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad import threads
from gpugrad.kernels import arithmetic as ka

from .conftest import SIM


def _same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    """The same bits, a NaN's sign aside (IEEE leaves it unspecified, and LLVM may move the negation)."""
    got, want = np.array(got), np.array(want)  # (a 0-d reference's operators give NumPy scalars)
    got[np.isnan(got)] = want[np.isnan(want)] = np.nan
    return got.shape == want.shape and got.dtype == want.dtype and got.tobytes() == want.tobytes()


def _operands(rng, shape, dtype):
    gy, a = (np.asarray(rng.standard_normal(shape), dtype) for _ in range(2))
    b = np.asarray(rng.uniform(0.25, 4.0, shape) * rng.choice([-1.0, 1.0], shape), dtype)
    return gy, a, b


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 9), min_size=0, max_size=3).map(tuple),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_odd_shapes_give_the_references_bits(shape, dtype):
    gy, a, b = _operands(np.random.default_rng(len(shape) * 31 + sum(shape)), shape, dtype)
    got = ka.div_backward(np, gy, a, b, impl="cpu")
    for g, w in zip(got, ka.reference_div_backward(np, gy, a, b)):
        assert _same_bits(g, w)


def test_the_cuda_kernel_gives_the_references_bits(backend, rng):
    for shape in ((1,), (7, 13), (3, 257)):
        gy, a, b = _operands(rng, shape, np.float32)
        got = ka.div_backward(backend.xp, backend.dev(gy), backend.dev(a), backend.dev(b), impl=backend.impl)
        for g, w in zip(got, ka.reference_div_backward(np, gy, a, b)):
            np.testing.assert_array_equal(backend.host(g), w)


@pytest.mark.skipif(SIM, reason="the CPU kernel, in the normal process")
def test_special_values_and_a_split_among_threads():
    # Zeros (of both signs), infinities, NaN and subnormals in every operand, on 2**21 elements (the
    # threads' size) and 11: split or not, the reference's bits.
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3.0, 2.5, 1e30], np.float32)
    for n in (11, threads.PARALLEL_MIN_ELEMENTS + 5):
        gy = np.resize(specials, n)
        a = np.resize(specials[::-1], n)
        b = np.resize(np.roll(specials, 4), n)
        with np.errstate(all="ignore"):
            want = ka.reference_div_backward(np, gy, a, b)
            for split in (None, threads.split):
                got = ka.div_backward(np, gy, a, b, split=split)
                for g, w in zip(got, want):
                    assert _same_bits(g, w)


def test_non_contiguous_operands_are_copied_first(rng):
    gy, a, b = _operands(rng, (6, 10), np.float64)
    got = ka.div_backward(np, gy[:, ::2], a[:, ::2], b[:, ::2], impl="cpu")
    for g, w in zip(got, ka.reference_div_backward(np, gy[:, ::2], a[:, ::2], b[:, ::2])):
        assert _same_bits(g, w)


def test_bad_input_is_named(no_launch):
    f32 = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"arithmetic.div_backward: shapes must match: .*b.shape=\(3,\)"):
        ka.div_backward(np, f32, f32, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="arithmetic.div_backward"):
        ka.div_backward(np, f32, f32, np.zeros((2, 3), np.float64))


@pytest.mark.skipif(SIM, reason="the op, in the normal process")
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_divs_gradients_plain_and_recorded_agree(dtype, rng):
    # Large enough for the threads; the plain pass runs the kernel, create_graph the op's recorded road.
    shape = (1024, 2049)
    x0, up, y0 = _operands(rng, shape, np.float64)
    x = gg.tensor(x0, dtype=dtype, requires_grad=True)
    y = gg.tensor(y0, dtype=dtype, requires_grad=True)
    g = gg.tensor(up, dtype=dtype)
    plain = gg.autograd.grad(x / y, [x, y], g)
    recorded = gg.autograd.grad(x / y, [x, y], g, create_graph=True)
    xa, ya, ga = x.detach().numpy(), y.detach().numpy(), g.numpy()
    want = ka.reference_div_backward(np, ga, xa, ya)
    for p, r, w in zip(plain, recorded, want):
        assert _same_bits(p.numpy(), w)
        assert _same_bits(r.detach().numpy(), w)
