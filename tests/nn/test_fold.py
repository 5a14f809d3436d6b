"""F.unfold / F.fold and nn.Unfold / nn.Fold: sliding blocks to columns (im2col) and back (col2im).

A NumPy loop is the reference for unfold; fold must be its adjoint; derivatives against finite
differences; values and gradients against PyTorch.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.errors import ArgumentError, DTypeError, ShapeError


def reference_unfold(x, kernel, dilation, padding, stride):
    """(N, C*kh*kw, L): block (yo, xo) in column yo * ow + xo, row (c, i, j) = x[c, yo*sh - ph + i*dh, ...]."""
    n, c, h, w = x.shape
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = kernel, dilation, padding, stride
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c * kh * kw, oh * ow))
    for ci, i, j, yo, xo in itertools.product(range(c), range(kh), range(kw), range(oh), range(ow)):
        r, q = yo * sh - ph + i * dh, xo * sw - pw + j * dw
        if 0 <= r < h and 0 <= q < w:
            out[:, (ci * kh + i) * kw + j, yo * ow + xo] = x[:, ci, r, q]
    return out


# (kernel, dilation, padding, stride, (H, W))
GEOMETRIES = [
    ((2, 2), (1, 1), (0, 0), (1, 1), (3, 5)),
    ((3, 2), (2, 1), (1, 2), (2, 3), (7, 6)),
    ((1, 3), (1, 2), (2, 0), (3, 1), (5, 7)),
    ((3, 3), (1, 1), (1, 1), (2, 2), (5, 5)),
]


@pytest.mark.parametrize("kernel,dilation,padding,stride,hw", GEOMETRIES)
def test_unfold_matches_loop_reference_and_fold_is_its_adjoint(kernel, dilation, padding, stride, hw, rng):
    x = rng.standard_normal((2, 3, *hw))
    cols = F.unfold(gg.tensor(x), kernel, dilation, padding, stride)
    np.testing.assert_array_equal(cols.numpy(), reference_unfold(x, kernel, dilation, padding, stride))
    c = rng.standard_normal(tuple(cols.shape))
    back = F.fold(gg.tensor(c), hw, kernel, dilation, padding, stride)
    assert back.shape == x.shape
    np.testing.assert_allclose((cols.numpy() * c).sum(), (x * back.numpy()).sum(), rtol=1e-12)


def test_fold_of_unfold_counts_how_often_each_pixel_is_covered():
    """fold(unfold(ones)) is the number of blocks covering each pixel (PyTorch's documented identity)."""
    ones = gg.ones(1, 1, 4, 5, dtype=gg.float64)
    counts = F.fold(F.unfold(ones, 2), (4, 5), 2)
    rows = np.array([1, 2, 2, 1])[:, None] * np.array([1, 2, 2, 2, 1])[None, :]
    np.testing.assert_array_equal(counts.numpy()[0, 0], rows)


def test_unbatched_inputs(rng):
    x = gg.tensor(rng.standard_normal((3, 4, 5)))
    cols = F.unfold(x, (2, 3), padding=1)
    np.testing.assert_array_equal(cols.numpy(), F.unfold(x.unsqueeze(0), (2, 3), padding=1)[0].numpy())
    assert F.fold(cols, (4, 5), (2, 3), padding=1).shape == (3, 4, 5)


GRAD_CASES = [
    ("unfold", lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2)), [(2, 2, 5, 5)]),
    ("fold", lambda x: F.fold(x, (5, 4), (2, 3), dilation=(1, 1), padding=(1, 1), stride=(2, 1)), [(1, 12, 12)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(name, fn, shapes, rng):
    inputs = [gg.tensor(rng.standard_normal(s), dtype=gg.float64, requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_gradgradcheck_through_a_product():
    """fold(unfold(x) ** 2): a nonlinear composition, so that the second derivative is not zero."""
    x = gg.tensor(np.linspace(-1, 1, 18).reshape(1, 2, 3, 3), dtype=gg.float64, requires_grad=True)
    assert gradgradcheck(lambda x: F.fold(F.unfold(x, 2) ** 2, (3, 3), 2), [x])


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.unfold(gg.randn(2, 3, 4, 4), 5), ShapeError, r"unfold: input with spatial size \(4, 4\), kernel_size=\(5, 5\)"),
    (lambda: F.unfold(gg.randn(2, 3, 4, 4, 4), 2), ShapeError, "unfold: expected 3-D .* or 4-D"),
    (lambda: F.unfold(gg.randn(2, 3, 4, 4), 2, stride=0), ArgumentError, "unfold: .* must be positive"),
    (lambda: F.unfold(gg.randn(2, 3, 4, 4), 2, padding=-1), ArgumentError, "unfold: padding should be non-negative"),
    (lambda: F.unfold(gg.randn(2, 3, 4, 4), (2, 2, 2)), ValueError, "unfold: kernel_size must be"),
    (lambda: F.unfold(gg.ones(1, 1, 3, 3, dtype=gg.int64), 2), DTypeError, "unfold: expected a floating point"),
    (lambda: F.fold(gg.randn(2, 35, 9), (5, 5), 3), ShapeError, r"fold: expected the size of the input's dim 1 \(35\) to be divisible"),
    (lambda: F.fold(gg.randn(2, 36, 8), (5, 5), 3), ShapeError, r"fold: .* give 3 \* 3 = 9 sliding blocks, but the input of shape \(2, 36, 8\) has 8"),
    (lambda: F.fold(gg.randn(2, 36, 9), (5, 5, 5), 3), ValueError, "fold: output_size must be"),
    (lambda: F.fold(gg.randn(2, 2, 36, 9), (5, 5), 3), ShapeError, "fold: expected 2-D .* or 3-D"),
])
def test_bad_arguments_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_modules_call_the_functions(rng):
    x = gg.tensor(rng.standard_normal((2, 3, 5, 4)))
    unfold, fold = nn.Unfold((2, 3), dilation=1, padding=1, stride=(2, 1)), nn.Fold((5, 4), (2, 3), padding=1, stride=(2, 1))
    cols = unfold(x)
    np.testing.assert_array_equal(cols.numpy(), F.unfold(x, (2, 3), 1, 1, (2, 1)).numpy())
    np.testing.assert_array_equal(fold(cols).numpy(), F.fold(cols, (5, 4), (2, 3), 1, 1, (2, 1)).numpy())
    assert list(unfold.parameters()) == [] and unfold.state_dict() == {}


@pytest.mark.torch
@pytest.mark.parametrize("kernel,dilation,padding,stride,hw", GEOMETRIES)
def test_unfold_and_fold_match_pytorch(kernel, dilation, padding, stride, hw, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, *hw))
    ours, theirs = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cols, cols_t = F.unfold(ours, kernel, dilation, padding, stride), torch.nn.functional.unfold(theirs, kernel, dilation, padding, stride)
    np.testing.assert_array_equal(cols.detach().numpy(), cols_t.detach().numpy())
    # fold of a nonlinear function of the columns: both ops' gradients are exercised
    y = F.fold(cols * cols, hw, kernel, dilation, padding, stride)
    y_t = torch.nn.functional.fold(cols_t * cols_t, hw, kernel, dilation, padding, stride)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(tuple(y_t.shape))
    y.backward(gg.tensor(u))
    y_t.backward(torch.tensor(u))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_module_reprs_match_pytorch():
    torch = pytest.importorskip("torch")
    assert repr(nn.Unfold(3, padding=1)) == repr(torch.nn.Unfold(3, padding=1))
    assert repr(nn.Fold((4, 5), (2, 3), stride=2)) == repr(torch.nn.Fold((4, 5), (2, 3), stride=2))
