"""Fractional max pooling (Graham, 2014), as PyTorch's ``F.fractional_max_pool2d`` / ``3d``: windows of
``kernel_size`` whose starts step by a fractional stride, placed by one random sample per (sample, channel)
and dimension, so that the output has ``output_size`` (or ``output_ratio`` of the input's size).

The starts are PyTorch's (``generate_intervals``, in the input's dtype), so that with the same
``_random_samples`` both give the same windows. The windows are gathered from the flattened planes and
their maximum taken, the first in row-major order of the window: built from gather and max, whose
gradients route each output's gradient to the input position it came from. Re-exported by
``gpugrad.nn.functional``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import factory as _factory
from ..dtypes import FLOAT_KINDS, float32
from ..errors import ShapeError
from ..tensor import Tensor

__all__ = [
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                          _random_samples: Tensor | None = None):
    """Fractional max pooling over the last two dims of (N, C, H, W) or (C, H, W); with
    ``return_indices`` also each maximum's flat position in its plane (as ``max_pool2d``'s)."""
    out = _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                               _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples: Tensor | None = None):
    """``fractional_max_pool2d`` returning ``(values, indices)`` whatever ``return_indices`` says."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                          _random_samples: Tensor | None = None):
    """Fractional max pooling over the last three dims of (N, C, T, H, W) or (C, T, H, W)."""
    out = _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                               _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples: Tensor | None = None):
    """``fractional_max_pool3d`` returning ``(values, indices)`` whatever ``return_indices`` says."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                _random_samples)


def _sizes(op: str, name: str, value, nd: int, kind: type) -> tuple:
    """An int (float for ratios) or an nd-sequence of them, as an nd-tuple."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd
    if len(values) == 1:
        values *= nd
    if len(values) != nd or not all(isinstance(v, (int, float) if kind is float else int) and not isinstance(v, bool)
                                    for v in values):
        raise ValueError(f"{op}: {name} must be a {kind.__name__} or a tuple of {nd}, got {value!r}")
    return values


def _fractional_max_pool(op: str, nd: int, input: Tensor, kernel_size, output_size, output_ratio,
                         samples: Tensor | None) -> tuple[Tensor, Tensor]:
    if input.ndim not in (nd + 1, nd + 2) or 0 in tuple(input.shape[1 - (input.ndim - nd):]):
        raise ShapeError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input with non-zero sizes but the batch, "
                         f"got shape {tuple(input.shape)}")
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype}")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    n, c, sizes = x.shape[0], x.shape[1], tuple(x.shape[2:])
    kernel = _sizes(op, "kernel_size", kernel_size, nd, int)
    if min(kernel) <= 0:
        raise ValueError(f"{op}: kernel_size must be greater than 0, but got {kernel_size}")
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
        out = tuple(int(s * r) for s, r in zip(sizes, _sizes(op, "output_ratio", output_ratio, nd, float)))
    else:
        out = _sizes(op, "output_size", output_size, nd, int)
    for dim, (o, k, s) in enumerate(zip(out, kernel, sizes)):
        # PyTorch's bound: the last window may end at the edge in 2-D, not in 3-D
        if o + k - 1 > s or nd == 3 and o + k - 1 == s:
            raise ShapeError(f"{op}: pool size {k} too large relative to input size {s} in spatial dim {dim} "
                             f"(output size {o})")
    if samples is None:
        samples = _factory.rand(n, c, nd, dtype=x.dtype if x._array.dtype.itemsize >= 4 else float32, device=x.device)
    elif samples.ndim != 3 or samples.shape[0] < n or samples.shape[1] != c or samples.shape[2] != nd:
        raise ShapeError(f"{op}: _random_samples must be (at least {n}, {c}, {nd}), got shape {tuple(samples.shape)}")
    xp = x._backend.xp
    u = samples.detach()._array[:n]
    if u.dtype.itemsize < 4:  # the CPU's reduced floats compute in float32
        u = u.astype(np.float32)
    # The flat position in its plane of every element of every window: (N, C, *out, *kernel).
    strides = [math.prod(sizes[d + 1:]) for d in range(nd)]
    sample_of = (1, 0) if nd == 2 else (0, 1, 2)  # PyTorch's: (W, H) in 2-D, (T, H, W) in 3-D
    flat = 0
    for d in range(nd):
        starts = _interval_starts(xp, u[:, :, sample_of[d]], sizes[d], out[d], kernel[d])  # (N, C, out_d)
        along = (starts[..., :, None] + xp.arange(kernel[d])) * strides[d]  # (N, C, out_d, k_d)
        shape = [n, c] + [1] * (2 * nd)
        shape[2 + d], shape[2 + nd + d] = out[d], kernel[d]
        flat = flat + along.reshape(shape)
    window = math.prod(kernel)
    positions = Tensor._make(xp.ascontiguousarray(flat.reshape(n, c, math.prod(out) * window)), x._backend)
    values = x.reshape(n, c, math.prod(sizes)).gather(2, positions).reshape(n, c, *out, window)  # sizes: an empty batch too
    result, which = values.max(dim=-1)
    indices = positions.reshape(n, c, *out, window).take_along_dim(which.unsqueeze(-1), -1).squeeze(-1)
    if unbatched:
        return result.squeeze(0), indices.squeeze(0)
    return result, indices


def _interval_starts(xp, u, size: int, out: int, k: int):
    """PyTorch's window starts for samples ``u`` (N, C): (N, C, out) int64, trunc((i + u) alpha) - trunc(u
    alpha) with alpha = (size - k) / (out - 1) in u's dtype, and the last window flush with the end."""
    starts = xp.empty(u.shape + (out,), dtype=np.int64)
    if out > 1:
        alpha = u.dtype.type(size - k) / u.dtype.type(out - 1)
        i = xp.arange(out - 1, dtype=u.dtype)
        starts[..., :-1] = ((i + u[..., None]) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)[..., None]
    starts[..., -1] = size - k
    return starts
