"""segment_reduce (gpugrad/ops/segment.py): values against a NumPy float64 loop over the segments, its
argument checks, and values and gradients against PyTorch where it is installed. First and second
derivatives against finite differences are the op table's (tests/ops/table/segment.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg

REDUCTIONS = ("sum", "mean", "prod", "max", "min")


def _reference(data: np.ndarray, reduce: str, lengths: np.ndarray, axis: int, initial) -> np.ndarray:
    """A plain loop: each segment's values along ``axis``, reduced from ``initial`` (NaN for an empty mean)."""
    moved = np.moveaxis(data, axis, -1)  # (*lead, *trail, n) with lead = lengths.shape[:-1]
    lead = lengths.shape[:-1]
    segments = lengths.shape[-1]
    out = np.empty(moved.shape[:-1] + (segments,))
    for row in np.ndindex(*lead):
        start = 0
        for s, length in enumerate(lengths[row]):
            part = moved[row][..., start:start + length]
            start += length
            if reduce == "sum":
                value = part.sum(-1) + (initial or 0.0)
            elif reduce == "prod":
                value = part.prod(-1) * (1.0 if initial is None else initial)
            elif reduce == "mean":
                total = part.sum(-1) + (initial or 0.0)
                value = total / length if length else np.full(part.shape[:-1], np.nan if initial is None else initial)
            else:
                pick = np.max if reduce == "max" else np.min
                start_value = (-math.inf if reduce == "max" else math.inf) if initial is None else initial
                value = pick(np.concatenate([part, np.full(part.shape[:-1] + (1,), start_value)], -1), -1)
            out[row][..., s] = value
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("initial", [None, 0.75])
def test_values_against_a_numpy_loop(reduce, initial):
    rng = np.random.default_rng(3)
    cases = [((7,), np.array([3, 0, 2, 2]), 0), ((6, 2), np.array([1, 5]), 0),
             ((2, 7, 3), np.array([[2, 0, 5], [1, 3, 3]]), 1), ((3, 2, 4), np.array([[[4, 0]] * 2] * 3), 2)]
    for shape, lengths, axis in cases:
        data = rng.standard_normal(shape)
        expected = _reference(data, reduce, lengths, axis, initial)
        for given in ("lengths", "offsets"):
            arg = lengths if given == "lengths" else np.concatenate(
                [np.zeros(lengths.shape[:-1] + (1,), dtype=int), np.cumsum(lengths, -1)], -1)
            out = gg.segment_reduce(gg.tensor(data), reduce, **{given: gg.tensor(arg)}, axis=axis, initial=initial)
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_empty_segments_and_initial():
    data = gg.tensor([1.0, 2.0, 3.0])
    lengths = gg.tensor([0, 3, 0])
    empty = {"sum": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf}
    for reduce, value in empty.items():
        assert gg.segment_reduce(data, reduce, lengths=lengths)[0].item() == value
        assert gg.segment_reduce(data, reduce, lengths=lengths, initial=4.0)[2].item() == 4.0
    assert math.isnan(gg.segment_reduce(data, "mean", lengths=lengths)[0].item())
    assert gg.segment_reduce(data, "max", lengths=lengths, initial=10.0).tolist() == [10.0, 10.0, 10.0]
    assert gg.segment_reduce(data, "amin", lengths=lengths, initial=2.5).tolist() == [2.5, 1.0, 2.5]
    assert math.isnan(gg.segment_reduce(data, "max", lengths=lengths, initial=math.nan)[1].item())
    assert gg.segment_reduce(gg.empty(0), "sum", lengths=gg.tensor([0, 0])).tolist() == [0.0, 0.0]


def test_gradients_by_hand():
    x = gg.tensor([1.0, 3.0, 3.0, 4.0, 0.0, 6.0], dtype=gg.float64, requires_grad=True)
    lengths = gg.tensor([3, 0, 2, 1])
    weights = gg.tensor([1.0, 2.0, 3.0, 4.0], dtype=gg.float64)
    expected = {
        "sum": [1, 1, 1, 3, 3, 4],
        "mean": [1 / 3, 1 / 3, 1 / 3, 1.5, 1.5, 4],
        "max": [0, 0.5, 0.5, 3, 0, 4],  # the tie in the first segment shares the gradient
        "min": [1, 0, 0, 0, 3, 4],
        "prod": [9, 3, 3, 0, 12, 4],  # the product of the others, the zero's included
    }
    for reduce, grad in expected.items():
        x.grad = None
        (gg.segment_reduce(x, reduce, lengths=lengths) * weights).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12, err_msg=reduce)
    x.grad = None  # initial takes no gradient: 5 beats the first two segments' maxima, not the last one's 6
    (gg.segment_reduce(x, "max", lengths=lengths, initial=5.0) * weights).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, 0, 0, 0, 4.0])


def test_argument_errors():
    data = gg.ones(6)
    lengths = gg.tensor([2, 4])
    with pytest.raises(ValueError, match="reduce"):
        gg.segment_reduce(data, "avg", lengths=lengths)
    with pytest.raises(ValueError, match="lengths or offsets"):
        gg.segment_reduce(data, "sum")
    with pytest.raises(NotImplementedError, match="indices"):
        gg.segment_reduce(data, "sum", indices=gg.tensor([0, 0, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match="sum to"):
        gg.segment_reduce(data, "sum", lengths=gg.tensor([2, 3]))
    with pytest.raises(ValueError, match="negative"):
        gg.segment_reduce(data, "sum", lengths=gg.tensor([7, -1]))
    with pytest.raises(TypeError):
        gg.segment_reduce(data, "sum", lengths=gg.tensor([2.0, 4.0]))
    with pytest.raises(TypeError):
        gg.segment_reduce(gg.ones(6, dtype=gg.int64), "sum", lengths=lengths)
    with pytest.raises(ValueError, match="last dimension"):
        gg.segment_reduce(gg.ones(2, 6), "sum", lengths=gg.tensor([[2, 4], [3, 3]]), axis=0)
    # unsafe: lengths that do not cover the dim are taken as they are
    assert gg.segment_reduce(gg.tensor([1.0, 2.0, 3.0]), "sum", lengths=gg.tensor([1, 1]), unsafe=True).tolist() == [
        1.0, 2.0]


@pytest.mark.torch
@pytest.mark.parametrize("reduce", REDUCTIONS + ("amax", "amin"))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_pytorch(reduce, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    tol = 1e-5 if dtype == "float32" else 1e-12
    cases = [((6,), [2, 0, 3, 1], 0, None), ((6,), [2, 0, 3, 1], 0, 0.5), ((5, 3), [1, 4], 0, -1.0),
             ((2, 6, 3), [[2, 0, 3, 1], [1, 1, 1, 3]], 1, None), ((2, 6, 3), [[6, 0], [3, 3]], -2, 2.0)]
    for shape, lengths, axis, initial in cases:
        data = rng.permutation(np.prod(shape)).reshape(shape) * 0.1 - 1.0  # distinct values: no ties
        results = []
        for lib in (gg, torch):
            x = lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=True)
            out = lib.segment_reduce(x, reduce, lengths=lib.tensor(lengths), axis=axis, initial=initial)
            finite = lib.where(out.isfinite(), out, lib.zeros_like(out))
            (finite * lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)), dtype=out.dtype)).sum() \
                .backward()
            results.append((out.detach().numpy(), x.grad.numpy(), str(out.dtype).split(".")[-1]))
        (ours, our_grad, our_dtype), (theirs, their_grad, their_dtype) = results
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
        np.testing.assert_allclose(our_grad, their_grad, rtol=tol, atol=tol)
        assert our_dtype == their_dtype


@pytest.mark.torch
def test_errors_are_pytorchs_kinds():
    torch = pytest.importorskip("torch")
    calls = [
        lambda lib: lib.segment_reduce(lib.ones(6), "avg", lengths=lib.tensor([6])),
        lambda lib: lib.segment_reduce(lib.ones(6), "sum"),
        lambda lib: lib.segment_reduce(lib.ones(6), "sum", lengths=lib.tensor([2, 3])),
        lambda lib: lib.segment_reduce(lib.ones(6), "sum", lengths=lib.tensor([7, -1])),
        lambda lib: lib.segment_reduce(lib.ones(2, 6), "sum", lengths=lib.tensor([[6], [6]]), axis=0),
    ]
    for call in calls:
        kinds = []
        for lib in (gg, torch):
            with pytest.raises(Exception) as info:
                call(lib)
            kinds.append(info.type)
        assert issubclass(kinds[0], kinds[1]), kinds


def test_private_name_is_the_same_function():
    # PyG calls torch._segment_reduce, which PyTorch binds to segment_reduce itself.
    assert gg._segment_reduce is gg.segment_reduce
