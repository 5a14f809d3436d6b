"""Fractional max pooling (F.fractional_max_pool2d/3d, nn.FractionalMaxPool2d/3d): the windows against a
loop written from the definition, gradients against finite differences, the checks; PyTorch bit for bit
with the same random samples where it is installed."""
import math

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck

CASES = [  # (input shape, kernel, output size, dims)
    ((2, 3, 9, 11), (3, 2), (4, 5), 2),
    ((3, 10, 7), 2, (5, 4), 2),  # unbatched
    ((1, 2, 5, 5), 1, (5, 5), 2),  # a 1x1 window at every position: the identity
    ((2, 2, 7, 8, 9), (2, 3, 2), (3, 4, 5), 3),
    ((2, 5, 6, 7), 2, (3, 1, 5), 3),  # unbatched, an output of one along a dim
]


def _starts(u: float, size: int, out: int, k: int, dtype) -> list[int]:
    """Window starts from the definition: trunc((i + u) a) - trunc(u a), a = (size - k) / (out - 1) in the
    input's dtype, and the last window flush with the end."""
    if out == 1:
        return [size - k]
    a = dtype(size - k) / dtype(out - 1)
    return [int(dtype(i + dtype(u)) * a) - int(dtype(u) * a) for i in range(out - 1)] + [size - k]


def _by_loops(x, kernel, out, samples, nd):
    """(values, flat indices) by looping over planes, outputs and window elements (first maximum wins)."""
    batched = x.ndim == nd + 2
    xb = x if batched else x[None]
    n, c, sizes = xb.shape[0], xb.shape[1], xb.shape[2:]
    order = (1, 0) if nd == 2 else (0, 1, 2)  # which sample places each dim: PyTorch's (W, H) and (T, H, W)
    values, indices = np.empty((n, c, *out), x.dtype), np.empty((n, c, *out), np.int64)
    for b in range(n):
        for ch in range(c):
            starts = [_starts(samples[b, ch, order[d]], sizes[d], out[d], kernel[d], x.dtype.type) for d in range(nd)]
            for pos in np.ndindex(*out):
                best, at = -np.inf, None
                for off in np.ndindex(*kernel):
                    where = tuple(starts[d][pos[d]] + off[d] for d in range(nd))
                    v = xb[(b, ch) + where]
                    if v > best:
                        best, at = v, np.ravel_multi_index(where, sizes)
                values[(b, ch) + pos], indices[(b, ch) + pos] = best, at
    return (values, indices) if batched else (values[0], indices[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_windows_against_loops(rng, case, dtype):
    shape, kernel, out, nd = case
    kernel = (kernel,) * nd if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape).astype(dtype)
    n = shape[0] if len(shape) == nd + 2 else 1
    samples = rng.uniform(0, 1, (n, shape[-nd - 1], nd)).astype(dtype)
    pool = getattr(F, f"fractional_max_pool{nd}d")
    y, i = pool(gg.tensor(x), kernel, output_size=out, return_indices=True, _random_samples=gg.tensor(samples))
    want_y, want_i = _by_loops(x, kernel, out, samples, nd)
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_array_equal(i.numpy(), want_i)
    assert i.dtype == gg.int64


def test_gradients_against_finite_differences(rng):
    # distinct values a tenth apart: no ties, and finite differences stay on one side of each maximum
    x = gg.tensor((rng.permutation(2 * 3 * 8 * 7) * 0.1).reshape(2, 3, 8, 7), requires_grad=True)
    samples = gg.tensor(rng.uniform(0, 1, (2, 3, 2)))
    assert gradcheck(lambda x: F.fractional_max_pool2d(x, 3, output_size=(4, 3), _random_samples=samples), [x])
    x3 = gg.tensor((rng.permutation(5 * 6 * 5) * 0.1).reshape(1, 1, 5, 6, 5), requires_grad=True)
    samples3 = gg.tensor(rng.uniform(0, 1, (1, 1, 3)))
    assert gradcheck(lambda x: F.fractional_max_pool3d(x, 2, output_ratio=0.5, _random_samples=samples3), [x3])


def test_output_ratio_and_drawn_samples(rng):
    x = gg.randn(4, 3, 33, 20)
    y = F.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.75))
    assert tuple(y.shape) == (4, 3, 16, 15)
    # without samples each call draws its own, from gpugrad's generator
    gg.manual_seed(7)
    a = F.fractional_max_pool2d(x, 2, output_ratio=0.5)
    gg.manual_seed(7)
    np.testing.assert_array_equal(a.numpy(), F.fractional_max_pool2d(x, 2, output_ratio=0.5).numpy())
    y, i = F.fractional_max_pool3d_with_indices(gg.randn(2, 2, 8, 8, 8), 2, output_size=3)
    assert tuple(y.shape) == tuple(i.shape) == (2, 2, 3, 3, 3)


def test_modules(rng):
    pool = nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True)
    y, i = pool(gg.randn(8, 4, 32, 32))
    assert tuple(y.shape) == (8, 4, 16, 16) and tuple(i.shape) == (8, 4, 16, 16)
    samples = gg.tensor(rng.uniform(0, 1, (2, 4, 3)))
    pool3 = nn.FractionalMaxPool3d((2, 2, 3), output_size=(3, 4, 2), _random_samples=samples)
    assert "_random_samples" in dict(pool3.named_buffers())
    x = gg.randn(2, 4, 6, 7, 8)
    np.testing.assert_array_equal(pool3(x).numpy(), pool3(x).numpy())  # fixed samples: the same windows


def test_errors_name_the_function():
    x = gg.randn(2, 3, 7, 9)
    with pytest.raises(ValueError, match="fractional_max_pool2d requires specifying either"):
        F.fractional_max_pool2d(x, 3)
    with pytest.raises(RuntimeError, match="fractional_max_pool2d: pool size 3 too large relative to input size 7"):
        F.fractional_max_pool2d(x, 3, output_size=(6, 4))
    F.fractional_max_pool2d(x, 3, output_size=(5, 4))  # the last window ends at the edge: allowed in 2-D,
    with pytest.raises(RuntimeError, match="fractional_max_pool3d: pool size 2 too large"):  # not in 3-D
        F.fractional_max_pool3d(gg.randn(1, 1, 5, 5, 5), 2, output_size=(3, 3, 4))
    with pytest.raises(RuntimeError, match=r"fractional_max_pool2d: expected a 3-D or 4-D input"):
        F.fractional_max_pool2d(gg.randn(3, 7), 2, output_size=2)
    with pytest.raises(RuntimeError, match=r"_random_samples must be \(at least 2, 3, 2\)"):
        F.fractional_max_pool2d(x, 2, output_size=2, _random_samples=gg.rand(2, 3, 3))
    with pytest.raises(TypeError, match="floating-point"):
        F.fractional_max_pool3d(gg.ones(1, 1, 4, 4, 4, dtype=gg.int64), 2, output_size=2)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool3d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        nn.FractionalMaxPool2d(0, output_size=3)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES + [((4, 3, 32, 32), 2, (16, 16), 2), ((2, 6, 6, 6), 2, (3, 3, 3), 3)], ids=str)
def test_bit_for_bit_with_pytorch(rng, case, dtype):
    torch = pytest.importorskip("torch")
    shape, kernel, out, nd = case
    x = rng.standard_normal(shape).astype(dtype)
    n = shape[0] if len(shape) == nd + 2 else 1
    name = f"fractional_max_pool{nd}d"
    for _ in range(5):
        samples = rng.uniform(0, 1, (n, shape[-nd - 1], nd)).astype(dtype)
        X, T = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, i = getattr(F, name)(X, kernel, output_size=out, return_indices=True, _random_samples=gg.tensor(samples))
        yt, it = getattr(torch.nn.functional, name)(T, kernel, output_size=out, return_indices=True,
                                                    _random_samples=torch.tensor(samples))
        up = rng.standard_normal(tuple(yt.shape)).astype(dtype)
        y.backward(gg.tensor(up))
        yt.backward(torch.tensor(up))
        np.testing.assert_array_equal(y.detach().numpy(), yt.detach().numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())
        np.testing.assert_array_equal(X.grad.numpy(), T.grad.numpy())
    assert math.prod(yt.shape) > 0


@pytest.mark.torch
def test_modules_against_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 7, 9)).astype(np.float32)
    samples = rng.uniform(0, 1, (2, 3, 3)).astype(np.float32)
    cases = [  # (module class name, args, kwargs, input)
        ("FractionalMaxPool2d", (3,), dict(output_ratio=(0.5, 0.6)), x[:, :, 0]),
        ("FractionalMaxPool2d", ((2, 3),), dict(output_size=4, return_indices=True), x[:, :, 1]),
        ("FractionalMaxPool3d", (2,), dict(output_size=(3, 4, 5), return_indices=True), x),
    ]
    for name, args, kwargs, a in cases:
        nd = a.ndim - 2
        s = samples[..., :nd]
        ours = getattr(nn, name)(*args, **kwargs, _random_samples=gg.tensor(s))
        theirs = getattr(torch.nn, name)(*args, **kwargs, _random_samples=torch.tensor(s))
        got, want = ours(gg.tensor(a)), theirs(torch.tensor(a))
        got, want = (got, want) if kwargs.get("return_indices") else ((got,), (want,))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
        assert repr(ours) == repr(theirs)
