"""F.grouped_mm (gpugrad/ops/grouped_mm.py): the four forms against NumPy float64 loops, the argument
checks, and values and gradients against PyTorch's own kernel (float32 and bfloat16 on the CPU) where it
is installed. Finite-difference derivatives: the op table (tests/ops/table/aten.py) and
tests/nn/test_functional.py."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F

# (mat_a shape, mat_b shape, offs): groups of rows, batches, groups of the contraction dim, groups of columns.
# Offsets leave an empty group and (where they stop short) a tail past the last offset.
# Sizes are multiples of 8 because PyTorch's kernel wants 16-byte strides in 16-bit dtypes.
FORMS = [((12, 8), (3, 8, 8), [4, 4, 8]), ((3, 4, 8), (3, 8, 8), None), ((4, 16), (16, 8), [8, 8, 12]),
         ((3, 4, 8), (8, 16), [8, 8, 12])]


def _reference(a: np.ndarray, b: np.ndarray, offs) -> np.ndarray:
    if offs is None:
        return a @ b
    starts = [0] + list(offs[:-1])
    if a.ndim == 2 and b.ndim == 3:
        out = np.zeros((a.shape[0], b.shape[2]))
        for g, (s, e) in enumerate(zip(starts, offs)):
            out[s:e] = a[s:e] @ b[g]
        return out
    if a.ndim == 3:
        out = np.zeros((a.shape[1], b.shape[1]))
        for g, (s, e) in enumerate(zip(starts, offs)):
            out[:, s:e] = a[g] @ b[:, s:e]
        return out
    return np.stack([a[:, s:e] @ b[s:e] for s, e in zip(starts, offs)])


def _offs(lib, offs):
    return None if offs is None else lib.tensor(offs, dtype=lib.int32)


@pytest.mark.parametrize("shapes", FORMS, ids=["2d_3d", "3d_3d", "2d_2d", "3d_2d"])
def test_forms_against_numpy(shapes):
    sa, sb, offs = shapes
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = F.grouped_mm(gg.tensor(a), gg.tensor(b), offs=_offs(gg, offs))
    np.testing.assert_allclose(out.numpy(), _reference(a, b, offs), rtol=1e-12, atol=1e-12)
    out32 = F.grouped_mm(gg.tensor(a, dtype=gg.float32), gg.tensor(b, dtype=gg.float32), offs=_offs(gg, offs))
    assert out32.dtype is gg.float32
    np.testing.assert_allclose(out32.numpy(), _reference(a, b, offs), rtol=1e-5, atol=1e-5)


def test_gradients_reach_only_the_groups_used():
    a = gg.ones(6, 2, requires_grad=True)
    b = gg.ones(2, 2, 3, requires_grad=True)
    F.grouped_mm(a, b, offs=gg.tensor([2, 4], dtype=gg.int32)).sum().backward()
    assert a.grad[:4].tolist() == [[3.0, 3.0]] * 4 and a.grad[4:].tolist() == [[0.0, 0.0]] * 2
    assert b.grad.tolist() == [[[2.0] * 3] * 2] * 2


def test_argument_errors():
    a, b = gg.ones(8, 4), gg.ones(2, 4, 4)
    offs = gg.tensor([4, 8], dtype=gg.int32)
    cases = [
        (lambda: F.grouped_mm(a, b), ValueError, "offsets"),
        (lambda: F.grouped_mm(gg.ones(2, 8, 4), b, offs=offs), ValueError, "offsets"),
        (lambda: F.grouped_mm(a, b, offs=gg.tensor([4, 8])), TypeError, "int32"),
        (lambda: F.grouped_mm(a, b, offs=gg.tensor([[4, 8]], dtype=gg.int32)), ValueError, "1D"),
        (lambda: F.grouped_mm(a, b, offs=gg.tensor([4], dtype=gg.int32)), ValueError, "batch sizes"),
        (lambda: F.grouped_mm(a, b, offs=gg.tensor([6, 4], dtype=gg.int32)), ValueError, "non-decreasing"),
        (lambda: F.grouped_mm(a, b, offs=gg.tensor([4, 9], dtype=gg.int32)), ValueError, "non-decreasing"),
        (lambda: F.grouped_mm(a, gg.ones(2, 3, 4), offs=offs), ValueError, "contraction"),
        (lambda: F.grouped_mm(gg.ones(3, 8, 4), b), ValueError, "batched"),
        (lambda: F.grouped_mm(gg.ones(8), b, offs=offs), ValueError, "2 or 3d"),
        (lambda: F.grouped_mm(a.long(), b.long(), offs=offs), TypeError, "float32"),
        (lambda: F.grouped_mm(a, b.double(), offs=offs), TypeError, "same dtype"),
        (lambda: F.grouped_mm(a, b, offs=offs, bias=gg.ones(2, 4)), NotImplementedError, "bias"),
        (lambda: F.grouped_mm(a, b, offs=offs, out_dtype=gg.bfloat16), TypeError, "output dtype"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()
    assert F.grouped_mm(a, b, offs=offs, out_dtype=gg.float32).dtype is gg.float32


@pytest.mark.torch
@pytest.mark.parametrize("shapes", FORMS, ids=["2d_3d", "3d_3d", "2d_2d", "3d_2d"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_matches_pytorch(shapes, dtype):
    """PyTorch's CPU kernel leaves the rows past the last offset unwritten (its gradient too), so the
    offsets of these cases cover their dim; the tail is checked against NumPy above."""
    torch = pytest.importorskip("torch")
    sa, sb, offs = shapes
    if offs is not None:
        offs = offs[:-1] + [sa[0] if len(sa) == 2 and len(sb) == 3 else sa[1] if len(sa) == 2 else sb[1]]
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    results = []
    for lib in (gg, torch):
        d = getattr(lib, dtype)
        ta, tb = lib.tensor(a, dtype=d, requires_grad=True), lib.tensor(b, dtype=d, requires_grad=True)
        out = lib.nn.functional.grouped_mm(ta, tb, offs=_offs(lib, offs))
        up = np.cos(np.arange(out.numel())).reshape(tuple(out.shape))
        out.backward(lib.tensor(up, dtype=d))
        results.append([x.float().numpy() for x in (out.detach(), ta.grad, tb.grad)] + [str(out.dtype)[-8:]])
    ours, theirs = results
    tol = 1e-5 if dtype == "float32" else 2e-2
    for x, y in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol * max(1.0, float(np.abs(y).max())))
    assert ours[3] == theirs[3]
