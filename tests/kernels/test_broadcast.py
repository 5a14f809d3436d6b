"""Broadcast arithmetic (gpugrad.kernels.broadcast) against NumPy's own: the same bits for every layout, op,
operand order and dtype, on odd sizes, both builds; which shapes it takes; bad input named. And the ops'
path to it: large tensors whose shapes differ get the kernel's result, with their gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad as gg
from gpugrad import backend as gg_backend
from gpugrad.kernels import broadcast as kb


def _same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    return got.shape == want.shape and got.dtype == want.dtype and got.tobytes() == want.tobytes()


@st.composite
def _operands(draw):
    """A full shape of 1-4 dims and the part that repeats along its leading and trailing dims."""
    full = tuple(draw(st.lists(st.integers(1, 7), min_size=1, max_size=4)))
    first = draw(st.integers(0, len(full) - 1))
    last = draw(st.integers(first, len(full) - 1))
    part = (1,) * first + full[first:last + 1] + (1,) * (len(full) - 1 - last)
    drop = draw(st.integers(0, first))  # leading ones may be left out, as broadcasting allows
    return full, part[drop:]


@settings(max_examples=60, deadline=None)
@given(shapes=_operands(), op=st.sampled_from(kb.OPS), dtype=st.sampled_from([np.float32, np.float64]),
       part_first=st.booleans())
def test_every_layout_gives_numpys_bits(shapes, op, dtype, part_first):
    full_shape, part_shape = shapes
    rng = np.random.default_rng(abs(hash((full_shape, part_shape))) % 2**32)
    full = rng.standard_normal(full_shape).astype(dtype)
    part = (rng.standard_normal(part_shape) + 0.5).astype(dtype)
    a, b = (part, full) if part_first else (full, part)
    want = kb.reference_binary(np, op, a, b)
    assert _same_bits(kb.binary(np, op, a, b, impl="cpu"), want)


@pytest.mark.parametrize("op", kb.OPS)
def test_nan_inf_zero_and_both_builds(op):
    # 2048 x 2048 (PARALLEL_MIN_WORK elements) runs the parallel build, 5 x 7 the serial one. Division by
    # zero, inf - inf and NaN give NumPy's values.
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.0], np.float32)
    for rows, cols in ((5, 7), (1 << 11, 1 << 11)):
        full = np.resize(specials, (rows, cols))
        row = np.resize(specials[::-1], cols)
        column = np.resize(specials, (rows, 1))
        with np.errstate(all="ignore"):
            for a, b in ((full, row), (row, full), (full, column), (column, full)):
                assert _same_bits(kb.binary(np, op, a, b, impl="cpu"), kb.reference_binary(np, op, a, b))


def test_plan_takes_only_repeats_along_leading_and_trailing_dims():
    assert kb.plan((4, 5), (5,)) == (True, (4, 5, 1))
    assert kb.plan((5,), (4, 5)) == (False, (4, 5, 1))
    assert kb.plan((4, 5), (4, 1)) == (True, (1, 4, 5))
    assert kb.plan((2, 3, 4, 5), (3, 1, 1)) == (True, (2, 3, 20))
    assert kb.plan((2, 3, 4, 5), (1, 1)) == (True, (1, 1, 120))
    assert kb.plan((2, 3, 4), (2, 1, 4)) is None  # repeats in the middle
    assert kb.plan((4, 1), (1, 5)) is None  # each repeats: the result is neither's shape
    assert kb.plan((4, 5), (3,)) is None


def test_empty_operands_and_the_reference_switch():
    empty = np.zeros((0, 3), np.float32)
    assert kb.binary(np, "add", empty, np.ones(3, np.float32), impl="cpu").shape == (0, 3)
    a, b = np.arange(6.0).reshape(2, 3), np.arange(3.0)
    assert _same_bits(kb.binary(np, "sub", a, b, impl="reference"), a - b)
    strided = np.arange(24.0).reshape(4, 6)[:, ::2]  # not contiguous: copied first
    assert _same_bits(kb.binary(np, "mul", strided, b, impl="cpu"), strided * b)


def test_bad_input_is_named():
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"broadcast.binary: op must be one of"):
        kb.binary(np, "pow", a, a, impl="cpu")
    with pytest.raises(TypeError, match=r"broadcast.binary: dtypes must match"):
        kb.binary(np, "add", a, np.zeros(3, np.float64), impl="cpu")
    with pytest.raises(TypeError, match=r"broadcast.binary: only float32 and float64"):
        kb.binary(np, "add", a.astype(np.int64), np.zeros(3, np.int64), impl="cpu")
    with pytest.raises(ValueError, match=r"broadcast.binary: shapes \(2, 3\) and \(2, 1, 3\)"):
        kb.binary(np, "add", a, np.zeros((2, 1, 3), np.float32), impl="cpu")


# ---------------------------------------------------------------- the ops' path to the kernel

@pytest.fixture
def kernel_calls(monkeypatch):
    """The ops routed through broadcast.binary, recorded."""
    calls = []
    real = kb.binary

    def recording(xp, op, a, b, **kw):
        calls.append((op, a.shape, b.shape))
        return real(xp, op, a, b, **kw)

    monkeypatch.setattr(kb, "binary", recording)
    return calls


@pytest.mark.parametrize("grad", [False, True])
def test_large_broadcast_arithmetic_runs_the_kernel(kernel_calls, grad):
    n = int(np.sqrt(gg_backend.BROADCAST_MIN_ELEMENTS)) + 3
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((n, n)).astype(np.float32)
    row_np = (rng.uniform(0.5, 2.0, n)).astype(np.float32)
    x, row = gg.tensor(x_np, requires_grad=grad), gg.tensor(row_np, requires_grad=grad)
    results = {"add": x + row, "sub": row - x, "mul": x * row, "div": row / x, "div_fn": gg.div(x, row)}
    assert [c[0] for c in kernel_calls] == ["add", "sub", "mul", "div", "div"]
    with np.errstate(all="ignore"):
        for key, want in (("add", x_np + row_np), ("sub", row_np - x_np), ("mul", x_np * row_np),
                          ("div", row_np / x_np), ("div_fn", x_np / row_np)):
            assert _same_bits(results[key].detach().numpy(), want), key
    if grad:
        (x * row).sum().backward()
        # the row's gradient sums x over its rows: within float32's bound for any order of the adds
        # (NumPy's, or Backend.sum's float64 sums, rounded once)
        exact, size = x_np.astype(np.float64).sum(axis=0), np.abs(x_np).astype(np.float64).sum(axis=0)
        assert np.all(np.abs(row.grad.numpy() - exact) <= n * np.finfo(np.float32).eps * size)
        assert _same_bits(x.grad.numpy(), np.broadcast_to(row_np, (n, n)).copy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_same_shape_arithmetic_runs_the_flat_loop_with_numpys_bits(kernel_calls, dtype):
    rng = np.random.default_rng(4)
    n = int(np.sqrt(gg_backend._threads.PARALLEL_MIN_ELEMENTS)) + 1  # both operands read: the parallel build
    a = rng.standard_normal((n, n)).astype(dtype)
    b = (rng.uniform(0.5, 2.0, (n, n)) * rng.choice([-1, 1], (n, n))).astype(dtype)
    b[0, :4] = (0.0, -0.0, np.inf, np.nan)
    with np.errstate(all="ignore"):
        for op, fn in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide)):
            assert _same_bits(kb.binary(np, op, a, b), fn(a, b)), op
            assert _same_bits(kb.binary(np, op, b, a), fn(b, a)), op
        x, y = gg.tensor(a), gg.tensor(b)
        assert _same_bits((x - y).numpy(), a - b) and _same_bits((x / y).numpy(), a / b)
    assert kernel_calls[-2:] == [("sub", (n, n), (n, n)), ("div", (n, n), (n, n))]  # the operators reach it
    small = np.ones((5, 7), dtype)
    assert _same_bits(kb.binary(np, "add", small, small), small + small)  # the serial build, as the reference


def test_small_or_same_shape_arithmetic_stays_numpys(kernel_calls):
    small = gg.ones(4, 4) + gg.ones(4)
    same = gg.ones(300, 300) * gg.ones(300, 300)
    mixed = gg.ones(300, 300, dtype=gg.float64) + gg.ones(300, dtype=gg.float32)  # promoted first
    assert kernel_calls == [("add", (300, 300), (300,))]
    assert small.shape == (4, 4) and same.shape == (300, 300) and mixed.dtype == gg.float64


def test_a_transposed_operand_keeps_numpys_layout(kernel_calls):
    # NumPy lays the result out as its operands are (PyTorch's strides too): the kernel, which writes
    # C order, takes only C-contiguous operands, so the layout does not depend on the size.
    n = int(np.sqrt(gg_backend.BROADCAST_MIN_ELEMENTS)) + 3
    x_np = np.random.default_rng(2).standard_normal((n + 1, n)).astype(np.float32)
    row_np = np.ones(n + 1, np.float32)
    out = gg.tensor(x_np).t() + gg.tensor(row_np)
    assert kernel_calls == []
    assert out.stride() == tuple(s // 4 for s in (x_np.T + row_np).strides) and not out.is_contiguous()
    assert _same_bits(out.numpy(), x_np.T + row_np)


@pytest.mark.parametrize("op", kb.OPS)
def test_one_value_for_all_gives_numpys_bits_on_both_builds(op):
    # a number, as the backend passes it: an array of one element, either side; 2048 x 1025 float32 is read and
    # written in full (over PARALLEL_MIN_WORK elements: the parallel build), 5 x 7 the serial one
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.0, -2.5], np.float32)
    for rows, cols in ((5, 7), (1 << 11, 1025)):
        full = np.resize(specials, (rows, cols))
        for value in (0.5, 3.0, -0.0, np.inf, np.nan, 1e-40):
            one = np.full(1, value, np.float32)
            with np.errstate(all="ignore"):
                for a, b in ((full, one), (one, full)):
                    assert _same_bits(kb.binary(np, op, a, b), kb.reference_binary(np, op, a, b)), (op, value)


def test_large_arithmetic_with_a_number_runs_the_one_value_loop_with_numpys_bits(kernel_calls):
    n = int(np.sqrt(gg_backend._threads.PARALLEL_MIN_ELEMENTS)) + 1
    x_np = np.random.default_rng(6).standard_normal((n, n)).astype(np.float32)
    x_np[0, :4] = (0.0, -0.0, np.inf, np.nan)
    f32 = np.float32
    cases = [  # (gpugrad's expression, NumPy's, the kernel's op)
        (lambda x: x * 0.5, x_np * f32(0.5), "mul"), (lambda x: x + 1, x_np + f32(1), "add"),
        (lambda x: 1 - x, f32(1) - x_np, "sub"), (lambda x: x - 2.5, x_np - f32(2.5), "sub"),
        (lambda x: x / 3.0, x_np / f32(3.0), "div"), (lambda x: 2 * x, f32(2) * x_np, "mul"),
    ]
    for grad in (False, True):
        for expr, want, op in cases:
            kernel_calls.clear()
            with np.errstate(all="ignore"):
                got = expr(gg.tensor(x_np, requires_grad=grad))
            assert [c[0] for c in kernel_calls] == [op], (grad, op)
            assert _same_bits(got.detach().numpy(), want), (grad, op)
    x = gg.tensor(x_np[1:], requires_grad=True)
    kernel_calls.clear()
    (x / 4.0).backward(gg.ones_like(x))  # div's gradient gy / 4 on the loop too
    assert ("div", x.shape, ()) in kernel_calls  # the number as a single value
    assert _same_bits(x.grad.numpy(), np.ones_like(x_np[1:]) / f32(4.0))


def test_arithmetic_with_a_number_the_loop_declines_stays_numpys(kernel_calls):
    n = int(np.sqrt(gg_backend._threads.PARALLEL_MIN_ELEMENTS)) + 1
    x_np = np.random.default_rng(7).standard_normal((n, n)).astype(np.float32)
    x = gg.tensor(x_np)
    with np.errstate(all="ignore"):
        past_float32 = x * 1e300  # the number overflows float32: NumPy's own road (inf, and its warning)
        strided = x[:, ::2] + 1.0
        small = gg.tensor(x_np[:4, :4]) * 0.5
        assert _same_bits(past_float32.numpy(), x_np * 1e300)
    assert kernel_calls == []
    assert _same_bits(strided.numpy(), x_np[:, ::2] + np.float32(1.0))
    assert _same_bits(small.numpy(), x_np[:4, :4] * np.float32(0.5))
