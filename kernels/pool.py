"""Max pooling: the maximum of each window and where it is, and the gradient routed back to it.

Geometry as in `conv` (`ConvGeometry`: kernel, stride, pads = (top, bottom, left, right), dilation); padding never wins.
Each window's maximum is its first largest element in row-major order, a NaN counting as larger than any
number (the first NaN wins); a window of -inf only still points at its first element inside the input,
as PyTorch's does. A window with no element inside the input (possible with dilation) gives -inf and
index -1, and passes no gradient.

`index` holds each maximum's position in its (H, W) plane, h * W + w, as PyTorch's ``return_indices``.
The backward adds gy[n, c, yo, xo] into gx[n, c] at index[n, c, yo, xo], in (yo, xo) order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, prange

from ._launch import (
    check_arrays_for,
    contiguous,
    cpu_kernel,
    cuda_family,
    cuda_stream,
    float_dtype_and_impl,
    get_cuda,
    launch,
    numba_type,
)
from .conv import batch_tap_sources, conv_geometry, tap_sources, unravel_nchw, windows

BLOCK = 128


# ============================================================== reference

def _first_inside(xp: Any, out_len: int, size: int, k: int, stride: int, pad: int, dilation: int) -> tuple[Any, Any]:
    """Per output position along one axis: the input coordinate of its first tap inside [0, size), and
    whether there is one."""
    taps = xp.arange(out_len).reshape(-1, 1) * stride - pad + xp.arange(k).reshape(1, -1) * dilation
    inside = (taps >= 0) & (taps < size)
    first = xp.take_along_axis(taps, inside.argmax(axis=1).reshape(-1, 1), axis=1)[:, 0]
    return first, inside.any(axis=1)


def reference_max_pool2d(xp: Any, x: Any, kernel, stride, pads, dilation) -> tuple[Any, Any]:
    """(y, index), both (N, C, oh, ow): strided windows padded with -inf, argmax (the first maximum;
    NumPy's and CuPy's argmax take the first NaN), then the rule for windows of -inf (module docstring)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (top, _, left, _), (dh, dw) = kernel, stride, pads, dilation
    view, oh, ow = windows(xp, x, kernel, stride, pads, dilation, fill=-np.inf)
    k = view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, oh, ow, kh * kw).argmax(axis=-1)
    rows = xp.arange(oh).reshape(oh, 1) * sh + (k // kw) * dh - top
    cols = xp.arange(ow).reshape(1, ow) * sw + (k % kw) * dw - left
    row0, has_row = _first_inside(xp, oh, h, kh, sh, top, dh)
    col0, has_col = _first_inside(xp, ow, w, kw, sw, left, dw)
    # The argmax lands in the padding only when the window holds nothing above -inf.
    in_padding = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    rows = xp.where(in_padding, row0.reshape(oh, 1), rows)
    cols = xp.where(in_padding, col0.reshape(1, ow), cols)
    empty = ~(has_row.reshape(oh, 1) & has_col.reshape(1, ow))
    index = xp.where(empty, -1, rows * w + cols).astype(xp.int64)
    planes = x.reshape(n, c, h * w)
    y = xp.take_along_axis(planes, xp.maximum(index, 0).reshape(n, c, oh * ow), axis=2).reshape(index.shape)
    y = xp.where(empty, x.dtype.type(-np.inf), y)
    return y, index


def reference_max_pool2d_backward(xp: Any, gy: Any, index: Any, shape) -> Any:
    """gx of `shape` (N, C, H, W): zeros with gy added at `index` in each plane (repeats accumulate)."""
    n, c, h, w = shape
    gx = xp.zeros((n * c, h * w), dtype=gy.dtype)
    idx = index.reshape(n * c, -1)
    plane = xp.broadcast_to(xp.arange(n * c).reshape(-1, 1), idx.shape)
    keep = (idx >= 0) & (idx < h * w)
    if xp is np:
        np.add.at(gx, (plane[keep], idx[keep]), gy.reshape(n * c, -1)[keep])
    else:
        import cupyx

        cupyx.scatter_add(gx, (plane[keep], idx[keep]), gy.reshape(n * c, -1)[keep])
    return gx.reshape(shape)


# ============================================================== CPU kernels
# Output planes are short (4 to 64 positions in a small CNN): each inner loop runs over a block of planes,
# through conv's table of where each tap of each position of each plane reads (see conv's CPU kernels).
PLANES_PER_BLOCK = 16


@cpu_kernel(fastmath=False)  # fast-math would assume no NaN: `v != v` folds to False
def _max_pool_cpu(x, y, index, kh, kw, sh, sw, top, left, dh, dw):
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    hw, ohw = h * w, oh * ow
    planes = n * c
    per = min(planes, PLANES_PER_BLOCK)
    # (taps, per * ohw): the source of each tap in a block of planes, counted from the block's first
    # plane, or -1 in the padding
    at = batch_tap_sources(tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow), per, hw)
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    idx = index.reshape(-1)
    for blk in prange((planes + per - 1) // per):
        p0 = blk * per
        count = min(per, planes - p0)
        xs = xf[p0 * hw:(p0 + count) * hw]
        ys = yf[p0 * ohw:(p0 + count) * ohw]
        best_at = idx[p0 * ohw:(p0 + count) * ohw]
        for j in range(count * ohw):
            ys[j] = -np.inf
            best_at[j] = -1
        for t in range(kh * kw):  # taps in row-major window order: the first maximum wins
            sources = at[t]
            for j in range(count * ohw):
                # Selects, not branches (& and |, not `and` and `or`): on real data whether a tap wins is
                # a coin toss, and mispredicted branches made the loop 4-5x slower.
                s = sources[j]
                v = xs[max(s, 0)]  # always a valid read; a tap in the padding never wins
                best = ys[j]
                a = best_at[j]
                wins = (s >= 0) & ((a < 0) | (v > best) | ((v != v) & (best == best)))
                ys[j] = v if wins else best
                best_at[j] = s if wins else a
        for q in range(count):  # the block's positions back to positions in each plane
            for k in range(q * ohw, (q + 1) * ohw):
                a = best_at[k]
                best_at[k] = a - q * hw if a >= 0 else a


# The classic pool (2x2 windows, stride 2, no padding) without conv's tap table: each output row reads
# its two input rows in place (an odd last row or column is never read). In each window, the larger of each row's pair, then the
# larger of the two: the first maximum in row-major order, as the table kernel.

@njit(cache=True, inline="always")
def _later_wins(first, later):
    """Whether `later` replaces `first` as a window's maximum: larger, or a NaN after a number. Selects,
    not branches (see _max_pool_cpu)."""
    return (first == first) & ~(later <= first)


@njit(cache=True, inline="always")
def _pool_row(x, y, index, s, j, at, w, ow):
    """Output row y[j:j+ow] from the input rows x[s:s+w] and x[s+w:s+2*w]; `at` is the upper row's
    first position in its plane. The loop runs over slices indexed from 0 (see conv's copy_run)."""
    upper = x[s:s + 2 * ow]
    lower = x[s + w:s + w + 2 * ow]
    out, out_index = y[j:j + ow], index[j:j + ow]
    for xo in range(ow):
        a, b = upper[2 * xo], upper[2 * xo + 1]
        c, d = lower[2 * xo], lower[2 * xo + 1]
        upper_right = _later_wins(a, b)
        lower_right = _later_wins(c, d)
        top = b if upper_right else a
        bottom = d if lower_right else c
        down = _later_wins(top, bottom)
        out[xo] = bottom if down else top
        out_index[xo] = at + 2 * xo + ((w + 1 if lower_right else w) if down else (1 if upper_right else 0))


@cpu_kernel(fastmath=False)
def _max_pool_2x2_cpu(x, y, index):
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    idx = index.reshape(-1)
    for p in prange(n * c):
        for yo in range(oh):
            s = p * h * w + 2 * yo * w
            j = (p * oh + yo) * ow
            # The row's length as a constant for the small planes of a small CNN: LLVM unrolls the row
            # (the launcher 10-25% faster than with a loop over a runtime length, bench/NOTES.md).
            if ow == 4:
                _pool_row(xf, yf, idx, s, j, 2 * yo * w, w, 4)
            elif ow == 2:
                _pool_row(xf, yf, idx, s, j, 2 * yo * w, w, 2)
            else:
                _pool_row(xf, yf, idx, s, j, 2 * yo * w, w, ow)


def _is_2x2_halving(geometry: Any) -> bool:
    """Whether _max_pool_2x2_cpu applies: 2x2 windows, stride 2, no padding nor dilation."""
    return (geometry.kernel == (2, 2) and geometry.stride == (2, 2) and geometry.pads == (0, 0, 0, 0)
            and geometry.dilation == (1, 1))


@cpu_kernel()
def _max_pool_backward_cpu(gy, index, gx):
    # A plane per thread, scattered in (yo, xo) order as the reference adds. An index outside the plane
    # (never one max_pool2d wrote) is skipped rather than written out of bounds.
    n, c, h, w = gx.shape
    hw = h * w
    ohw = gy.shape[2] * gy.shape[3]
    gyf = gy.reshape(-1)
    idx = index.reshape(-1)
    gxf = gx.reshape(-1)
    for p in prange(n * c):
        for k in range(hw):
            gxf[p * hw + k] = 0
        for k in range(p * ohw, (p + 1) * ohw):
            at = idx[k]
            if at >= 0 and at < hw:
                gxf[p * hw + at] += gyf[k]


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a module global: the simulator swaps it)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import int64, void

    T = numba_type(dtype)

    def max_pool_kernel(x, y, index, kh, kw, sh, sw, top, left, dh, dw):
        n, c, h, w = x.shape
        oh, ow = y.shape[2], y.shape[3]
        total = int64(y.size)
        step = int64(cuda.gridsize(1))
        p = int64(cuda.grid(1))
        while p < total:
            b, ci, yo, xo = unravel_nchw(p, c, oh, ow)
            best = T(-np.inf)
            at = int64(-1)
            for i in range(kh):
                ih = yo * sh - top + i * dh
                if ih >= 0 and ih < h:
                    for j in range(kw):
                        iw = xo * sw - left + j * dw
                        if iw >= 0 and iw < w:
                            v = x[b, ci, ih, iw]
                            if at < 0 or v > best or (v != v and best == best):
                                best = v
                                at = ih * w + iw
            y[b, ci, yo, xo] = best
            index[b, ci, yo, xo] = at
            p += step

    def max_pool_backward_kernel(gy, index, gx, kh, kw, sh, sw, top, left, dh, dw):
        # A pixel per thread, gathering from the windows that hold it (no atomics, no zeroing launch),
        # in (yo, xo) order: tap i falling means yo rising.
        n, c, h, w = gx.shape
        oh, ow = gy.shape[2], gy.shape[3]
        total = int64(gx.size)
        step = int64(cuda.gridsize(1))
        p = int64(cuda.grid(1))
        while p < total:
            b, ci, ih, iw = unravel_nchw(p, c, h, w)
            me = ih * w + iw
            acc = T(0)
            for ii in range(kh):
                ty = ih + top - (kh - 1 - ii) * dh
                if ty >= 0 and ty % sh == 0 and ty // sh < oh:
                    yo = ty // sh
                    for jj in range(kw):
                        tx = iw + left - (kw - 1 - jj) * dw
                        if tx >= 0 and tx % sw == 0 and tx // sw < ow:
                            if index[b, ci, yo, tx // sw] == me:
                                acc += gy[b, ci, yo, tx // sw]
            gx[b, ci, ih, iw] = acc
            p += step

    geometry = (int64,) * 8
    index4 = int64[:, :, :, ::1]
    return {
        "max_pool": (max_pool_kernel, void(T[:, :, :, ::1], T[:, :, :, ::1], index4, *geometry)),
        "max_pool_backward": (max_pool_backward_kernel, void(T[:, :, :, ::1], index4, T[:, :, :, ::1], *geometry)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("pool", _cuda_sources)


# ============================================================== launchers

def max_pool2d(xp: Any, x: Any, kernel, stride, pads, dilation, *, impl: str | None = None, stream: Any = None) -> tuple[Any, Any]:
    """(y, index) of x (N, C, H, W): each window's maximum and its h * W + w, both (N, C, oh, ow)."""
    op = "pool.max_pool2d"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, tuple(x.shape))
    if impl == "reference":
        return reference_max_pool2d(xp, x, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    n, c = x.shape[:2]
    y = xp.empty((n, c, oh, ow), dtype=dtype)
    index = xp.empty((n, c, oh, ow), dtype=np.int64)
    args = geometry.kernel_args()
    if impl == "cpu" and _is_2x2_halving(geometry):
        _max_pool_2x2_cpu(y.size * 4, x, y, index)
    elif impl == "cpu":
        _max_pool_cpu(y.size * kernel[0] * kernel[1], x, y, index, *args)
    else:
        launch(_cuda_kernel("max_pool", dtype), y.size, BLOCK, cuda_stream(xp, stream), x, y, index, *args)
    return y, index


def max_pool2d_backward(xp: Any, gy: Any, index: Any, shape, kernel, stride, pads, dilation, *,
                        impl: str | None = None, stream: Any = None) -> Any:
    """gx of `shape` (N, C, H, W): gy (N, C, oh, ow) routed to the maxima `index` that max_pool2d gave."""
    op = "pool.max_pool2d_backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy)
    shape = tuple(int(s) for s in shape)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, shape)
    expected = (*shape[:2], oh, ow)
    if tuple(gy.shape) != expected or tuple(index.shape) != expected:
        raise ValueError(f"{op}: gy {tuple(gy.shape)} and index {tuple(index.shape)} must both have shape "
                         f"{expected} for an input of shape {shape}")
    if index.dtype != np.int64:
        raise TypeError(f"{op}: index must be int64, got {index.dtype}")
    if impl == "reference":
        return reference_max_pool2d_backward(xp, gy, index, shape)
    check_arrays_for(op, xp, impl, gy=gy, index=index)
    gy = contiguous(xp, gy)
    index = contiguous(xp, index)
    gx = xp.empty(shape, dtype=dtype)
    if impl == "cpu":
        _max_pool_backward_cpu(gx.size, gy, index, gx)
    else:
        launch(_cuda_kernel("max_pool_backward", dtype), gx.size, BLOCK, cuda_stream(xp, stream),
               gy, index, gx, *geometry.kernel_args())
    return gx
