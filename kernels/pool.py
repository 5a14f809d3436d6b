"""Pooling: max pooling (the maximum of each window and where it is, and the gradient routed back to it),
and average pooling (each window's sum over a divisor, and its gradient spread back).

Geometry as in `conv` (`ConvGeometry`: kernel, stride, pads = (top, bottom, left, right), dilation); padding never wins.
Each window's maximum is its first largest element in row-major order, a NaN counting as larger than any
number (the first NaN wins); a window of -inf only still points at its first element inside the input,
as PyTorch's does. A window with no element inside the input (possible with dilation) gives -inf and
index -1, and passes no gradient.

`index` holds each maximum's position in its (H, W) plane, h * W + w, as PyTorch's ``return_indices``.
The backward adds gy[n, c, yo, xo] into gx[n, c] at index[n, c, yo, xo], in (yo, xo) order.

Average pooling adds each window's taps inside the input in row-major order, from 0 in the input's dtype,
and divides by the window's entry of `divisor` (oh, ow), the count the caller chose (PyTorch's rules:
padding counted or not, ceil mode's extra cells never, or an override). Its backward adds gy / divisor
into every tap of the window inside the input, in (yo, xo) order: PyTorch's CPU loops, and their bits.
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


def reference_avg_pool2d(xp: Any, x: Any, divisor: Any, kernel, stride, pads, dilation) -> Any:
    """y (N, C, oh, ow): each window's taps added in row-major order from 0 (the padding's zeros change no
    bits: a partial sum that starts at +0 is never -0), over ``divisor`` (oh, ow)."""
    view, oh, ow = windows(xp, x, kernel, stride, pads, dilation)
    total = xp.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            total = total + view[:, :, i, j]
    return total / divisor


def reference_avg_pool2d_backward(xp: Any, gy: Any, divisor: Any, shape, kernel, stride, pads, dilation) -> Any:
    """gx of ``shape`` (N, C, H, W): gy / divisor added into each window's taps. The taps go in reverse
    row-major order, so that each input position receives its windows' shares in (yo, xo) order."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = kernel, stride, pads, dilation
    oh, ow = gy.shape[2], gy.shape[3]
    share = gy / divisor
    padded = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=gy.dtype)
    for i in reversed(range(kh)):  # tap i falling: yo rising at a given input row
        for j in reversed(range(kw)):
            padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += share
    return padded[:, :, top:top + h, left:left + w].copy()


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


@njit(cache=True, inline="always")
def _columns_inside(off, sw, w, ow):
    """The output columns xo in [lo, hi) whose tap xo * sw + off lies inside [0, w)."""
    lo = (sw - 1 - off) // sw if off < 0 else 0
    hi = min(ow, (w - 1 - off) // sw + 1) if off < w else 0
    return lo, max(lo, hi)


@cpu_kernel(fastmath=False)  # the adds in the reference's order
def _avg_pool_cpu(x, divisor, y, kh, kw, sh, sw, top, left, dh, dw):
    # Per output row: tap rows i, then tap columns j, each a loop over the row's outputs whose tap lies
    # inside the input (a strided read, no test per element): each output adds its taps in row-major order.
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    planes = x.reshape(n * c, h, w)
    out = y.reshape(n * c, oh, ow)
    for p in prange(n * c):
        for yo in range(oh):
            row = out[p, yo]
            for xo in range(ow):
                row[xo] = 0
            for i in range(kh):
                ih = yo * sh - top + i * dh
                if ih < 0 or ih >= h:
                    continue
                src = planes[p, ih]
                for j in range(kw):
                    off = j * dw - left
                    lo, hi = _columns_inside(off, sw, w, ow)
                    part = row[lo:hi]  # slices indexed from 0: LLVM vectorises that loop
                    taps = src[lo * sw + off:]
                    for k in range(hi - lo):
                        part[k] += taps[k * sw]
            d = divisor[yo]
            for xo in range(ow):
                row[xo] = row[xo] / d[xo]


@cpu_kernel(fastmath=False)
def _avg_pool_backward_cpu(gy, divisor, gx, kh, kw, sh, sw, top, left, dh, dw):
    # A plane per thread. Each input position takes its windows' shares in (yo, xo) order: output rows
    # rising, one tap row per output row, then tap columns falling, which is xo rising at a given column.
    n, c, h, w = gx.shape
    oh, ow = gy.shape[2], gy.shape[3]
    grads = gy.reshape(n * c, oh, ow)
    planes = gx.reshape(n * c, h, w)
    for p in prange(n * c):
        plane = planes[p]
        for ih in range(h):
            for iw in range(w):
                plane[ih, iw] = 0
        share = np.empty_like(grads[p, 0])
        for yo in range(oh):
            g = grads[p, yo]
            d = divisor[yo]
            for xo in range(ow):
                share[xo] = g[xo] / d[xo]
            for i in range(kh):
                ih = yo * sh - top + i * dh
                if ih < 0 or ih >= h:
                    continue
                dst = plane[ih]
                for jj in range(kw):
                    off = (kw - 1 - jj) * dw - left
                    lo, hi = _columns_inside(off, sw, w, ow)
                    part = share[lo:hi]
                    taps = dst[lo * sw + off:]
                    for k in range(hi - lo):
                        taps[k * sw] += part[k]


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

    def avg_pool_kernel(x, divisor, y, kh, kw, sh, sw, top, left, dh, dw):
        n, c, h, w = x.shape
        oh, ow = y.shape[2], y.shape[3]
        total_out = int64(y.size)
        step = int64(cuda.gridsize(1))
        p = int64(cuda.grid(1))
        while p < total_out:
            b, ci, yo, xo = unravel_nchw(p, c, oh, ow)
            total = T(0)
            for i in range(kh):
                ih = yo * sh - top + i * dh
                if ih >= 0 and ih < h:
                    for j in range(kw):
                        iw = xo * sw - left + j * dw
                        if iw >= 0 and iw < w:
                            total += x[b, ci, ih, iw]
            y[b, ci, yo, xo] = total / divisor[yo, xo]
            p += step

    def avg_pool_backward_kernel(gy, divisor, gx, kh, kw, sh, sw, top, left, dh, dw):
        # A pixel per thread, gathering its windows' shares in (yo, xo) order (tap falling: yo rising)
        n, c, h, w = gx.shape
        oh, ow = gy.shape[2], gy.shape[3]
        total_in = int64(gx.size)
        step = int64(cuda.gridsize(1))
        p = int64(cuda.grid(1))
        while p < total_in:
            b, ci, ih, iw = unravel_nchw(p, c, h, w)
            acc = T(0)
            for ii in range(kh):
                ty = ih + top - (kh - 1 - ii) * dh
                if ty >= 0 and ty % sh == 0 and ty // sh < oh:
                    yo = ty // sh
                    for jj in range(kw):
                        tx = iw + left - (kw - 1 - jj) * dw
                        if tx >= 0 and tx % sw == 0 and tx // sw < ow:
                            acc += gy[b, ci, yo, tx // sw] / divisor[yo, tx // sw]
            gx[b, ci, ih, iw] = acc
            p += step

    geometry = (int64,) * 8
    index4 = int64[:, :, :, ::1]
    T4 = T[:, :, :, ::1]
    return {
        "max_pool": (max_pool_kernel, void(T4, T4, index4, *geometry)),
        "max_pool_backward": (max_pool_backward_kernel, void(T4, index4, T4, *geometry)),
        "avg_pool": (avg_pool_kernel, void(T4, T[:, ::1], T4, *geometry)),
        "avg_pool_backward": (avg_pool_backward_kernel, void(T4, T[:, ::1], T4, *geometry)),
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


def _checked_divisor(op: str, xp: Any, impl: str, dtype: Any, divisor: Any, oh: int, ow: int) -> Any:
    if tuple(divisor.shape) != (oh, ow):
        raise ValueError(f"{op}: divisor must have the output's shape {(oh, ow)}, got {tuple(divisor.shape)}")
    if divisor.dtype != dtype:
        raise TypeError(f"{op}: divisor must be {dtype} as the input, got {divisor.dtype}")
    check_arrays_for(op, xp, impl, divisor=divisor)
    return contiguous(xp, divisor)


def avg_pool2d(xp: Any, x: Any, divisor: Any, kernel, stride, pads, dilation, *, impl: str | None = None,
               stream: Any = None) -> Any:
    """y (N, C, oh, ow) of x (N, C, H, W): each window's sum over the taps inside x, over ``divisor`` (oh, ow)."""
    op = "pool.avg_pool2d"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, tuple(x.shape))
    if impl == "reference":
        return reference_avg_pool2d(xp, x, divisor, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, x=x)
    divisor = _checked_divisor(op, xp, impl, dtype, divisor, oh, ow)
    x = contiguous(xp, x)
    y = xp.empty((*x.shape[:2], oh, ow), dtype=dtype)
    args = geometry.kernel_args()
    if impl == "cpu":
        _avg_pool_cpu(y.size * kernel[0] * kernel[1], x, divisor, y, *args)
    else:
        launch(_cuda_kernel("avg_pool", dtype), y.size, BLOCK, cuda_stream(xp, stream), x, divisor, y, *args)
    return y


def avg_pool2d_backward(xp: Any, gy: Any, divisor: Any, shape, kernel, stride, pads, dilation, *,
                        impl: str | None = None, stream: Any = None) -> Any:
    """gx of ``shape`` (N, C, H, W): gy (N, C, oh, ow) over ``divisor`` added into every tap of its window."""
    op = "pool.avg_pool2d_backward"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy)
    shape = tuple(int(s) for s in shape)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, shape)
    if tuple(gy.shape) != (*shape[:2], oh, ow):
        raise ValueError(f"{op}: gy must have shape {(*shape[:2], oh, ow)} for an input of shape {shape}, got "
                         f"{tuple(gy.shape)}")
    if impl == "reference":
        return reference_avg_pool2d_backward(xp, gy, divisor, shape, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, gy=gy)
    divisor = _checked_divisor(op, xp, impl, dtype, divisor, oh, ow)
    gy = contiguous(xp, gy)
    gx = xp.empty(shape, dtype=dtype)
    args = geometry.kernel_args()
    if impl == "cpu":
        _avg_pool_backward_cpu(gy.size * kernel[0] * kernel[1], gy, divisor, gx, *args)
    else:
        launch(_cuda_kernel("avg_pool_backward", dtype), gx.size, BLOCK, cuda_stream(xp, stream), gy, divisor, gx, *args)
    return gx
