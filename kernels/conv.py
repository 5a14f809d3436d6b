"""im2col and col2im: the gathers around a convolution's GEMM.

im2col lays every receptive field of x (N, C, H, W) out as a column of a (C*kh*kw, N*oh*ow) matrix, so
that a convolution is one GEMM and both of its gradients are GEMMs too; col2im, its adjoint, sums such
columns back into the (N, C, H, W) positions they were read from (the input gradient).

Geometry (`ConvGeometry`), shared with the pooling kernels and the ops: kernel (kh, kw), stride (sh, sw),
pads (top, bottom, left, right; zeros, or for pooling -inf, outside the input) and dilation (dh, dw). Output row ``yo`` and tap
``i`` read input row ``yo*sh - top + i*dh`` (columns likewise).

The references are NumPy/CuPy strided views (no Python loop over pixels; col2im loops over the kh*kw
taps): on a GPU each of those is a launch or two, where the kernels here are one each.

The Winograd F(2x2, 3x3) transforms at the end (CPU kernels and einsum references) are the other way
to a 3x3 stride-1 convolution: 16 GEMMs over channels at 4 multiplies per output instead of 9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

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
    like,
    numba_type,
    scalar_fn,
)

BLOCK = 128


# ============================================================== geometry

def output_size(size: int, k: int, stride: int, pad_total: int, dilation: int) -> int:
    """Output length along one axis: windows of k taps spaced `dilation` apart, `stride` apart."""
    return (size + pad_total - dilation * (k - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvGeometry:
    """Where a 2-D window reads (see the module docstring): one value for convolution and pooling alike.

    It unpacks as the launchers' loose arguments, ``im2col(xp, x, *geometry)``, so that the kernels keep
    the references' plain signatures while the ops carry one object.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right
    dilation: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        for field in ("kernel", "stride", "pads", "dilation"):
            object.__setattr__(self, field, tuple(map(int, getattr(self, field))))
        # Decided once (a geometry is kept and reused), so that check() on a well-formed one only sizes it.
        kernel, stride, pads, dilation = self
        well_formed = (len(kernel) == 2 and len(stride) == 2 and len(pads) == 4 and len(dilation) == 2
                       and min(kernel) >= 1 and min(stride) >= 1 and min(dilation) >= 1 and min(pads) >= 0)
        object.__setattr__(self, "well_formed", well_formed)

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return iter((self.kernel, self.stride, self.pads, self.dilation))

    def output_hw(self, h: int, w: int) -> tuple[int, int]:
        """(oh, ow) for an (h, w) input; below 1 when the window does not fit (``check`` refuses that)."""
        (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = self
        return output_size(h, kh, sh, top + bottom, dh), output_size(w, kw, sw, left + right, dw)

    def check(self, op: str, shape: tuple[int, ...]) -> tuple[int, int]:
        """(oh, ow) for an (N, C, H, W) `shape`; raises ValueError naming `op` on a malformed geometry."""
        kernel, stride, pads, dilation = self
        if len(shape) != 4:
            raise ValueError(f"{op}: expected a 4-D (N, C, H, W) array, got shape {tuple(shape)}")
        if not self.well_formed:
            if len(kernel) != 2 or len(stride) != 2 or len(pads) != 4 or len(dilation) != 2:
                raise ValueError(f"{op}: kernel, stride and dilation are pairs and pads a 4-tuple, got "
                                 f"{kernel}, {stride}, {dilation}, {pads}")
            raise ValueError(f"{op}: kernel {kernel}, stride {stride}, dilation {dilation} must be positive "
                             f"and pads {pads} non-negative")
        h, w = shape[2], shape[3]
        oh, ow = self.output_hw(h, w)
        if oh < 1 or ow < 1:
            raise ValueError(f"{op}: the kernel {kernel} (dilation {dilation}) is larger than the "
                             f"padded input {(h + pads[0] + pads[1], w + pads[2] + pads[3])}")
        return oh, ow

    def kernel_args(self) -> tuple[int, ...]:
        """The geometry as the conv and pool kernels take it: kh, kw, sh, sw, top, left, dh, dw."""
        return (*self.kernel, *self.stride, self.pads[0], self.pads[2], *self.dilation)


@lru_cache(maxsize=512)
def _cached_geometry(kernel, stride, pads, dilation) -> ConvGeometry:
    return ConvGeometry(kernel, stride, pads, dilation)


def conv_geometry(kernel, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1)) -> ConvGeometry:
    """``ConvGeometry(kernel, stride, pads, dilation)``, kept once made: a training step asks for the same
    few windows at every layer's every launch, and normalising the fields costs 2 us each time."""
    try:
        return _cached_geometry(kernel, stride, pads, dilation)
    except TypeError:  # a list among the arguments: unhashable, so not kept
        return ConvGeometry(kernel, stride, pads, dilation)


def check_geometry(op: str, shape: tuple[int, ...], kernel, stride, pads, dilation) -> tuple[int, int]:
    """(oh, ow) for an (N, C, H, W) `shape` (``ConvGeometry.check`` on loose arguments)."""
    return conv_geometry(kernel, stride, pads, dilation).check(op, shape)


def windows(xp: Any, x: Any, kernel, stride, pads, dilation, fill: float = 0.0) -> tuple[Any, int, int]:
    """A (N, C, kh, kw, oh, ow) strided view of x padded by `pads` with `fill`, and (oh, ow)."""
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = kernel, stride, pads, dilation
    oh, ow = check_geometry("windows", tuple(x.shape), kernel, stride, pads, dilation)
    if top or bottom or left or right:
        x = xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)
    n, c = x.shape[:2]
    s0, s1, s2, s3 = x.strides
    view = xp.lib.stride_tricks.as_strided(
        x, shape=(n, c, kh, kw, oh, ow), strides=(s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw)
    )
    return view, oh, ow


# ============================================================== reference

def reference_im2col(xp: Any, x: Any, kernel, stride, pads, dilation) -> Any:
    """(C*kh*kw, N*oh*ow) columns of x (N, C, H, W): row (c, i, j), column (n, yo, xo)."""
    view, oh, ow = windows(xp, x, kernel, stride, pads, dilation)
    n, c = x.shape[:2]
    return view.transpose(1, 2, 3, 0, 4, 5).reshape(c * kernel[0] * kernel[1], n * oh * ow)


def reference_col2im(xp: Any, cols: Any, shape, kernel, stride, pads, dilation) -> Any:
    """The (N, C, H, W) array with every column entry added where im2col read it (taps in row order)."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = kernel, stride, pads, dilation
    oh, ow = check_geometry("col2im", tuple(shape), kernel, stride, pads, dilation)
    out = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=cols.dtype)
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            q = j * dw
            out[:, :, r : r + sh * (oh - 1) + 1 : sh, q : q + sw * (ow - 1) + 1 : sw] += cols6[:, i, j].transpose(1, 0, 2, 3)
    return out[:, :, top : top + h, left : left + w]


# ============================================================== scalar math

@scalar_fn
def unravel_nchw(p, c, h, w):
    """(n, c, h, w) coordinates of flat index p in a C-contiguous (N, c, h, w) array."""
    x = p % w
    t = p // w
    y = t % h
    t = t // h
    return t // c, t % c, y, x


# ============================================================== CPU kernels
# Output planes are small in a CNN (4x4 to 32x32), so loops over one output plane are too short to run
# fast. The CPU kernels therefore loop over the columns of a whole block of the batch at once, reading
# through a table of where each tap of each output position of each image reads.

@njit(cache=True)
def tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    """(kh*kw, oh*ow) int64: the position ih * w + iw in an (h, w) plane that tap (i, j) of output
    position (yo, xo) reads, or -1 where it falls in the padding."""
    src = np.empty((kh * kw, oh * ow), np.int64)
    for i in range(kh):
        for j in range(kw):
            for yo in range(oh):
                ih = yo * sh - top + i * dh
                for xo in range(ow):
                    iw = xo * sw - left + j * dw
                    inside = ih >= 0 and ih < h and iw >= 0 and iw < w
                    src[i * kw + j, yo * ow + xo] = ih * w + iw if inside else -1
    return src


@njit(cache=True)
def batch_tap_sources(src, n, image_size):
    """(taps, n * oh*ow) int64: tap_sources' table for each of n images, ``image_size`` elements apart
    (the flat offset in the batch of channel 0's plane), -1 in the padding: one column index of im2col's
    rows per entry."""
    taps, ohw = src.shape
    at = np.empty((taps, n * ohw), np.int64)
    for t in range(taps):
        for b in range(n):
            for k in range(ohw):
                s = src[t, k]
                at[t, b * ohw + k] = b * image_size + s if s >= 0 else -1
    return at


# Work units: (channel, block of the batch). Eight blocks give two cores their share even with one
# input channel, and leave each inner loop n/8 images long.
BATCH_BLOCKS = 8


@njit(cache=True, inline="always")
def channel_and_images(q, blocks, n):
    """Work unit q of the gather kernels: its channel, and its block [b0, b1) of the n images."""
    ci = q // blocks
    blk = q - ci * blocks
    return ci, n * blk // blocks, n * (blk + 1) // blocks


@njit(cache=True)
def tap_runs(kh, kw, top, left, dh, dw, h, w, oh, ow):
    """For a stride-1 window with ow == w, where output k of tap t reads plane position k + d_t: per tap
    (d_t, klo, khi), [klo, khi) the outputs whose k + d_t lies in the (h, w) plane; and (kh*kw, oh*ow)
    whether each output's source is inside the input (not in the padding, nor across a row's edge)."""
    taps, ohw = kh * kw, oh * ow
    runs = np.empty((taps, 3), np.int64)
    inside = np.zeros((taps, ohw), np.bool_)
    for t in range(taps):
        di = t // kw * dh - top
        dj = t % kw * dw - left
        d = di * w + dj
        klo = min(max(0, -d), ohw)
        runs[t, 0], runs[t, 1], runs[t, 2] = d, klo, max(min(ohw, h * w - d), klo)
        for yo in range(oh):
            for xo in range(ow):
                inside[t, yo * ow + xo] = 0 <= yo + di < h and 0 <= xo + dj < w
    return runs, inside


@njit(cache=True)
def batch_tap_runs(kh, kw, top, left, dh, dw, n, h, w):
    """tap_runs for a stride-1 window whose output is the input's size, over n images laid out one after
    the other, (n*h*w,): per tap (d_t, klo, khi) in that layout, and (kh*kw, n*h*w) whether position f's
    source f + d_t lies in f's own image and not in the padding (one image's table, n times)."""
    runs, one = tap_runs(kh, kw, top, left, dh, dw, h, w, h, w)
    taps, hw = one.shape
    total = n * hw
    inside = np.empty((taps, total), np.bool_)
    for t in range(taps):
        klo = min(max(0, -runs[t, 0]), total)
        runs[t, 1], runs[t, 2] = klo, max(min(total, total - runs[t, 0]), klo)
        for b in range(n):
            tile = inside[t][b * hw:(b + 1) * hw]
            for k in range(hw):
                tile[k] = one[t, k]
    return runs, inside


# Below this many positions per plane, a "same" convolution's gathers run over the whole batch at once
# (the batch kernels): per image, a run is too short to pay for its loop. 64x16x4x4, 3x3 pad 1, one
# thread: im2col 98 -> 21 us, col2im 62 -> 42 us; at 8x8 and above the per-image runs are as fast or faster.
BATCH_RUNS_BELOW = 64


def cpu_gathers(geometry: ConvGeometry, h: int, w: int, oh: int, ow: int) -> str:
    """Which CPU kernels compute im2col and col2im for this window and an (h, w) input: "batch runs" (stride
    1, output the input's size, small planes), "runs" (stride 1, output rows as wide as the input's) or
    "gathers" (any window)."""
    if geometry.stride != (1, 1) or ow != w:
        return "gathers"
    return "batch runs" if oh == h and h * w < BATCH_RUNS_BELOW else "runs"


@cpu_kernel()
def _im2col_cpu(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = x.shape
    taps, ohw = kh * kw, oh * ow
    at = batch_tap_sources(tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow), n, c * h * w)
    xf = x.reshape(-1)
    blocks = min(n, BATCH_BLOCKS)
    for q in prange(c * blocks):
        ci, b0, b1 = channel_and_images(q, blocks, n)
        lo, hi = b0 * ohw, b1 * ohw
        channel = xf[ci * h * w:]
        for t in range(taps):
            # 1-D slices, indexed from 0: LLVM made a 2x slower loop of at[t, j] over range(lo, hi)
            row, sources = cols[ci * taps + t][lo:hi], at[t][lo:hi]
            for j in range(hi - lo):
                s = sources[j]
                v = channel[max(s, 0)]  # always a valid read: a select, not a branch, picks 0
                row[j] = v if s >= 0 else 0


@cpu_kernel()
def _col2im_cpu(cols, out, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    # Each pixel sums its taps in the reference's order (the same sums). Within one tap no two columns
    # of an image write the same pixel, and blocks of the batch write different images.
    n, c, h, w = out.shape
    taps, ohw = kh * kw, oh * ow
    at = batch_tap_sources(tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow), n, c * h * w)
    of = out.reshape(-1)
    blocks = min(n, BATCH_BLOCKS)
    for q in prange(c * blocks):
        ci, b0, b1 = channel_and_images(q, blocks, n)
        lo, hi = b0 * ohw, b1 * ohw
        channel = of[ci * h * w:]
        for b in range(b0, b1):
            for k in range(h * w):
                channel[b * c * h * w + k] = 0
        for t in range(taps):
            row, sources = cols[ci * taps + t][lo:hi], at[t][lo:hi]
            for j in range(hi - lo):
                s = sources[j]
                if s >= 0:
                    channel[s] += row[j]


# Stride 1 with ow == w (a "same" width, the common convolution): tap t's row of columns for one image is
# the input plane shifted by d_t, so im2col copies it as one run and col2im adds it back as one, each a
# select on a table of which outputs are inside (tap_runs): loops that LLVM vectorises, where the gathers
# above stay scalar. The same values as the gathers, in the same order of taps per pixel.

@njit(cache=True, inline="always")
def copy_run(out, src, keep, klo, khi):
    """out[k] = src[k - klo] where keep[k - klo] (else 0) for k in [klo, khi), and 0 outside that range.
    The loop runs over 1-D slices indexed from 0: so it vectorises (one over range(klo, khi) did not)."""
    for k in range(klo):
        out[k] = 0
    dst = out[klo:khi]
    for k in range(khi - klo):
        v = src[k]
        dst[k] = v if keep[k] else 0
    for k in range(khi, out.shape[0]):
        out[k] = 0


@njit(cache=True, inline="always")
def add_run(dst, src, keep):
    """dst[k] += src[k] where keep[k]."""
    for k in range(dst.shape[0]):
        v = src[k]
        dst[k] += v if keep[k] else 0


@cpu_kernel(fastmath={"nsz"})
def _im2col_runs_cpu(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = x.shape
    taps, ohw, hw = kh * kw, oh * ow, h * w
    runs, inside = tap_runs(kh, kw, top, left, dh, dw, h, w, oh, ow)
    xf = x.reshape(-1)
    for q in prange(c * taps):
        ci = q // taps
        t = q - ci * taps
        d, klo, khi = runs[t, 0], runs[t, 1], runs[t, 2]
        keep, row = inside[t][klo:khi], cols[q]
        for b in range(n):
            base = (b * c + ci) * hw + d
            copy_run(row[b * ohw:(b + 1) * ohw], xf[base + klo:base + khi], keep, klo, khi)


@cpu_kernel(fastmath={"nsz"})
def _col2im_runs_cpu(cols, out, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = out.shape
    taps, ohw, hw = kh * kw, oh * ow, h * w
    runs, inside = tap_runs(kh, kw, top, left, dh, dw, h, w, oh, ow)
    of = out.reshape(-1)
    for ci in prange(c):  # a channel's taps in order: each pixel sums them as the reference does
        for b in range(n):
            plane = of[(b * c + ci) * hw:(b * c + ci + 1) * hw]
            for k in range(hw):
                plane[k] = 0
        for t in range(taps):
            d, klo, khi = runs[t, 0], runs[t, 1], runs[t, 2]
            keep, row = inside[t][klo:khi], cols[ci * taps + t]
            for b in range(n):
                base = (b * c + ci) * hw + d
                add_run(of[base + klo:base + khi], row[b * ohw + klo:b * ohw + khi], keep)


# A small "same" convolution: with the input's channels laid out as (C, N*h*w), tap t's row of columns is
# one run over the whole batch (positions whose source crosses into the next image are in the padding).
# The kernels move x to that layout first (col2im: out from it last), one pass over the input.

@njit(cache=True, inline="always")
def swap_batch_and_channels(src, dst, n, c, hw):
    """dst (c, n, hw) from src (n, c, hw), both flat: plane (b, ci) of src is plane (ci, b) of dst."""
    for q in prange(c * n):
        ci = q // n
        b = q - ci * n
        s, d = src[(b * c + ci) * hw:(b * c + ci + 1) * hw], dst[(ci * n + b) * hw:(ci * n + b + 1) * hw]
        for k in range(hw):
            d[k] = s[k]


@cpu_kernel(fastmath={"nsz"})
def _im2col_batch_runs_cpu(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = x.shape
    taps, hw, total = kh * kw, h * w, n * h * w
    runs, inside = batch_tap_runs(kh, kw, top, left, dh, dw, n, h, w)
    xt = x.reshape(c, total)  # (N, 1, h, w) is already (1, N*h*w)
    if c > 1:
        xt = np.empty((c, total), x.dtype)
        swap_batch_and_channels(x.reshape(-1), xt.reshape(-1), n, c, hw)
    for q in prange(c * taps):
        ci = q // taps
        t = q - ci * taps
        d, klo, khi = runs[t, 0], runs[t, 1], runs[t, 2]
        copy_run(cols[q], xt[ci][klo + d:khi + d], inside[t][klo:khi], klo, khi)


@cpu_kernel(fastmath={"nsz"})
def _col2im_batch_runs_cpu(cols, out, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = out.shape
    taps, hw, total = kh * kw, h * w, n * h * w
    runs, inside = batch_tap_runs(kh, kw, top, left, dh, dw, n, h, w)
    ot = out.reshape(c, total) if c == 1 else np.empty((c, total), out.dtype)
    for ci in prange(c):  # a channel's taps in order: each pixel sums them as the reference does
        acc = ot[ci]
        for k in range(total):
            acc[k] = 0
        for t in range(taps):
            d, klo, khi = runs[t, 0], runs[t, 1], runs[t, 2]
            add_run(acc[klo + d:khi + d], cols[ci * taps + t][klo:khi], inside[t][klo:khi])
    if c > 1:
        swap_batch_and_channels(ot.reshape(-1), out.reshape(-1), c, n, hw)


# ============================================================== CUDA kernels

cuda: Any = None  # numba.cuda, bound on first use (a module global: the simulator swaps it)


def _cuda_sources(dtype: Any) -> dict[str, tuple[Any, Any]]:
    global cuda
    cuda = get_cuda()
    from numba import int64, void

    T = numba_type(dtype)

    def im2col_kernel(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
        # x: a column per thread (consecutive threads write consecutive addresses); y: the rows, strided.
        n, c, h, w = x.shape
        rows, ncols = cols.shape
        col = int64(cuda.blockIdx.x) * cuda.blockDim.x + cuda.threadIdx.x
        if col >= ncols:
            return
        xo = col % ow
        t = col // ow
        yo = t % oh
        b = t // oh
        r = int64(cuda.blockIdx.y)
        while r < rows:
            j = r % kw
            t = r // kw
            i = t % kh
            ci = t // kh
            ih = yo * sh - top + i * dh
            iw = xo * sw - left + j * dw
            v = T(0)
            if ih >= 0 and ih < h and iw >= 0 and iw < w:
                v = x[b, ci, ih, iw]
            cols[r, col] = v
            r += cuda.gridDim.y

    def col2im_kernel(cols, out, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
        # A pixel per thread, gathering the column entries that read it (no atomics, no zeroing launch),
        # taps in the reference's order.
        n, c, h, w = out.shape
        total = int64(out.size)
        step = int64(cuda.gridsize(1))
        p = int64(cuda.grid(1))
        while p < total:
            b, ci, ih, iw = unravel_nchw(p, c, h, w)
            acc = T(0)
            for i in range(kh):
                ty = ih + top - i * dh
                if ty >= 0 and ty % sh == 0 and ty // sh < oh:
                    yo = ty // sh
                    for j in range(kw):
                        tx = iw + left - j * dw
                        if tx >= 0 and tx % sw == 0 and tx // sw < ow:
                            acc += cols[(ci * kh + i) * kw + j, (b * oh + yo) * ow + tx // sw]
            out[b, ci, ih, iw] = acc
            p += step

    geometry = (int64,) * 10
    return {
        "im2col": (im2col_kernel, void(T[:, :, :, ::1], T[:, ::1], *geometry)),
        "col2im": (col2im_kernel, void(T[:, ::1], T[:, :, :, ::1], *geometry)),
    }


_cuda_kernel, cuda_kernel_specs = cuda_family("conv", _cuda_sources)


# ============================================================== launchers

_IM2COL_CPU = {"gathers": _im2col_cpu, "runs": _im2col_runs_cpu, "batch runs": _im2col_batch_runs_cpu}
_COL2IM_CPU = {"gathers": _col2im_cpu, "runs": _col2im_runs_cpu, "batch runs": _col2im_batch_runs_cpu}


def kernel_geometry(kernel, stride, pads, dilation) -> tuple[int, ...]:
    """The geometry as the conv and pool kernels take it: kh, kw, sh, sw, top, left, dh, dw."""
    return conv_geometry(kernel, stride, pads, dilation).kernel_args()


def im2col(xp: Any, x: Any, kernel, stride, pads, dilation, *, impl: str | None = None, stream: Any = None) -> Any:
    """(C*kh*kw, N*oh*ow) columns of x (N, C, H, W), zero outside the input (see the module docstring)."""
    op = "conv.im2col"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, tuple(x.shape))
    if impl == "reference":
        return reference_im2col(xp, x, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    n, c = x.shape[:2]
    cols = xp.empty((c * kernel[0] * kernel[1], n * oh * ow), dtype=dtype)
    args = (*geometry.kernel_args(), oh, ow)
    if impl == "cpu":
        kernel = _IM2COL_CPU[cpu_gathers(geometry, x.shape[2], x.shape[3], oh, ow)]
        kernel(cols.size, x, cols, *args)
    else:
        launch(_cuda_kernel("im2col", dtype), cols.shape[::-1], (BLOCK, 1), cuda_stream(xp, stream), x, cols, *args)
    return cols


def col2im(xp: Any, cols: Any, shape, kernel, stride, pads, dilation, *, impl: str | None = None, stream: Any = None) -> Any:
    """The (N, C, H, W) = `shape` adjoint of im2col: each column entry added where im2col read it."""
    op = "conv.col2im"
    dtype, impl = float_dtype_and_impl(op, xp, impl, cols=cols)
    shape = tuple(int(s) for s in shape)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, shape)
    n, c = shape[:2]
    expected = (c * kernel[0] * kernel[1], n * oh * ow)
    if tuple(cols.shape) != expected:
        raise ValueError(f"{op}: cols of shape {tuple(cols.shape)} do not fit an input of shape {shape} "
                         f"(expected {expected})")
    if impl == "reference":
        return reference_col2im(xp, cols, shape, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, cols=cols)
    cols = contiguous(xp, cols)
    out = xp.empty(shape, dtype=dtype)
    args = (*geometry.kernel_args(), oh, ow)
    if impl == "cpu":
        kernel = _COL2IM_CPU[cpu_gathers(geometry, shape[2], shape[3], oh, ow)]
        kernel(cols.size, cols, out, *args)
    else:
        launch(_cuda_kernel("col2im", dtype), out.size, BLOCK, cuda_stream(xp, stream), cols, out, *args)
    return out


# ============================================================== the GEMM's layout and the tensors'
# im2col's GEMM gives a convolution's output as (C, N*oh*ow), channels first; the tensor is (N, C, oh, ow).
# These move between the two in one pass, with the bias added on the way out and its gradient (the sums over
# each channel) taken on the way back. NumPy's copy of the transposed view ran its inner loop over one
# plane at a time, 2-3x slower at the digits CNN's sizes. CPU kernels; on a GPU the references (CuPy).

def reference_columns_to_nchw(xp: Any, z: Any, bias: Any, n: int) -> Any:
    """(N, C, oh, ow) from z (C, N*oh*ow) = (C, N, oh*ow) plus bias (C,) or None, C-contiguous."""
    c = z.shape[0]
    view = z.reshape(c, n, z.shape[1] // n if n else 0).transpose(1, 0, 2)  # (-1 cannot size an empty batch)
    if bias is None:
        return xp.ascontiguousarray(view)
    out = xp.empty(view.shape, dtype=z.dtype)
    return xp.add(view, bias[None, :, None], out=out)  # one pass: the bias added as the layout changes


def reference_nchw_to_columns(xp: Any, gy: Any, need_sums: bool) -> tuple[Any, Any]:
    """(gz, sums): gy (N, C, ...) as (C, N*...), C-contiguous, and its per-channel sums (None without
    need_sums)."""
    n, c = gy.shape[:2]
    plane = math.prod(gy.shape[2:])  # (-1 cannot size an empty batch)
    gz = xp.ascontiguousarray(gy.reshape(n, c, plane).transpose(1, 0, 2)).reshape(c, n * plane)
    return gz, (gz.sum(axis=1) if need_sums else None)


@cpu_kernel(fastmath={"nsz"})
def _columns_to_nchw_cpu(z, bias, has_bias, out):
    n, c, hw = out.shape
    for q in prange(c * n):
        ci = q // n
        b = q - ci * n
        src, dst = z[ci][b * hw:(b + 1) * hw], out[b, ci]
        if has_bias:
            shift = bias[ci]
            for k in range(hw):
                dst[k] = src[k] + shift
        else:
            for k in range(hw):
                dst[k] = src[k]


@cpu_kernel(fastmath={"nsz", "reassoc"})  # reassoc: the sums vectorise
def _nchw_to_columns_cpu(gy, gz, sums, need_sums):
    n, c, hw = gy.shape
    for ci in prange(c):
        total = 0.0  # each image's plane summed in the data's type, the planes in float64
        for b in range(n):
            src, dst = gy[b, ci], gz[ci][b * hw:(b + 1) * hw]
            s = like(src[0], 0.0)
            for k in range(hw):
                v = src[k]
                dst[k] = v
                s += v
            total += s
        if need_sums:
            sums[ci] = total


def columns_to_nchw(xp: Any, z: Any, bias: Any, shape, *, impl: str | None = None) -> Any:
    """The (N, C, oh, ow) = ``shape`` tensor of a GEMM's output z (C, N*oh*ow), plus bias (C,) or None."""
    op = "conv.columns_to_nchw"
    dtype, impl = float_dtype_and_impl(op, xp, impl, z=z, bias=bias)
    n, c, oh, ow = (int(s) for s in shape)
    if tuple(z.shape) != (c, n * oh * ow) or (bias is not None and tuple(bias.shape) != (c,)):
        raise ValueError(f"{op}: z {tuple(z.shape)} and bias {None if bias is None else tuple(bias.shape)} do not "
                         f"fit an output of shape {(n, c, oh, ow)}")
    if impl != "cpu" or z.size == 0:
        return reference_columns_to_nchw(xp, z, bias, n).reshape(n, c, oh, ow)
    check_arrays_for(op, xp, impl, z=z, bias=bias)
    z = contiguous(xp, z)
    out = np.empty((n, c, oh * ow), dtype)
    _columns_to_nchw_cpu(z.size, z, z[:, 0] if bias is None else contiguous(xp, bias), bias is not None, out)
    return out.reshape(n, c, oh, ow)


def nchw_to_columns(xp: Any, gy: Any, need_sums: bool = True, *, impl: str | None = None) -> tuple[Any, Any]:
    """(gz, sums): gy (N, C, oh, ow) in the GEMM's layout (C, N*oh*ow), and its sums over each channel
    (a convolution's bias gradient; None without need_sums)."""
    op = "conv.nchw_to_columns"
    dtype, impl = float_dtype_and_impl(op, xp, impl, gy=gy)
    if gy.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) array, got shape {tuple(gy.shape)}")
    n, c = gy.shape[:2]
    if impl != "cpu" or gy.size == 0:
        return reference_nchw_to_columns(xp, gy, need_sums)
    check_arrays_for(op, xp, impl, gy=gy)
    gy = contiguous(xp, gy).reshape(n, c, -1)
    gz = np.empty((c, gy.size // max(c, 1)), dtype)
    sums = np.empty(c, dtype)
    _nchw_to_columns_cpu(gy.size, gy, gz, sums, need_sums)
    return gz, (sums if need_sums else None)


# ============================================================== Winograd F(2x2, 3x3), CPU
# A 3x3, stride-1, undilated convolution as Lavin and Gray's minimal filtering: each 2x2 output tile is
# A^T [(G g G^T) * (B^T d B)] A for its 4x4 input tile d, so the 9 multiplies per output of im2col's GEMM
# become 4 (16 per tile), done as 16 GEMMs over channels, one per entry of the 4x4 transformed tile.
# Both gradients are the same GEMMs transposed (see ``gpugrad.ops.conv``). The transforms are adds and
# halves (small error growth, well inside float32's tolerance at these sizes); on 2 cores this halves
# the GEMM time and replaces the 9x-inflated im2col matrix with a 4x-inflated one. CPU only: on a GPU
# the im2col kernels and cuBLAS stay.
#
# Layout: V (16, T, C), M (16, T, C_out), and dV, dM likewise: entry xi = 4 * a + b of the 4x4
# transformed tile, then T = N * th * tw tiles in (n, tile row, tile column) order (th = ceil(oh / 2),
# tw = ceil(ow / 2)), then channels. Each entry's (T, C) matrix is contiguous, as the GEMMs want it, and
# a row of tiles is one contiguous run of tw * C values in it: the kernels' inner loops run over such
# runs (hundreds of values, not a tile's C), which is what made them fast. The 16 matrices sit a little
# more than a multiple of 4 KiB apart (``transformed_empty``). Tile (ty, tx) reads input rows
# 2*ty - top + 0..3 (zero outside), columns likewise.

WINO_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)  # B^T (4x4)
WINO_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)  # G (4x3)
WINO_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)  # A^T (2x4)
WINO_GG = np.kron(WINO_G, WINO_G)  # (16, 9): row 4a + b, column 3i + j holds G[a, i] G[b, j]


def winograd_fits(geometry: ConvGeometry) -> bool:
    """Whether the Winograd kernels compute this convolution: a 3x3 kernel, stride 1, no dilation."""
    return geometry.kernel == (3, 3) and geometry.stride == (1, 1) and geometry.dilation == (1, 1)


def winograd_tiles(n: int, oh: int, ow: int) -> int:
    """T: how many 2x2 tiles cover n outputs of (oh, ow)."""
    return n * ((oh + 1) // 2) * ((ow + 1) // 2)


# -------------------------------------------------------------- references

def reference_winograd_input(xp: Any, x: Any, pads, th: int, tw: int) -> Any:
    """V (16, N*th*tw, C): B^T d B of every 4x4 input tile d."""
    n, c, h, w = x.shape
    top, _, left, _ = pads
    padded = xp.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=x.dtype)  # holds all of x: 2*th >= oh
    padded[:, :, top : top + h, left : left + w] = x
    s0, s1, s2, s3 = padded.strides
    d = xp.lib.stride_tricks.as_strided(padded, shape=(n, c, th, tw, 4, 4), strides=(s0, s1, 2 * s2, 2 * s3, s2, s3))
    bt = xp.asarray(WINO_BT, dtype=x.dtype)
    return xp.einsum("ak,ncyxkl,bl->abnyxc", bt, d, bt).reshape(16, n * th * tw, c)


def reference_winograd_output(xp: Any, m: Any, bias: Any, shape) -> Any:
    """(N, C_out, oh, ow) = `shape` from M (16, T, C_out): A^T m A of every tile, cropped, plus `bias`."""
    n, o, oh, ow = shape
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    at = xp.asarray(WINO_AT, dtype=m.dtype)
    y = xp.einsum("ia,abnyxo,jb->noyixj", at, m.reshape(4, 4, n, th, tw, o), at)
    y = y.reshape(n, o, 2 * th, 2 * tw)[:, :, :oh, :ow]
    return xp.ascontiguousarray(y if bias is None else y + bias.reshape(1, o, 1, 1))


def reference_winograd_grad_output(xp: Any, gy: Any) -> Any:
    """dM (16, T, C_out) = A dY A^T of every 2x2 tile dY of gy (zero past the output's edge)."""
    n, o, oh, ow = gy.shape
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    padded = xp.zeros((n, o, 2 * th, 2 * tw), dtype=gy.dtype)
    padded[:, :, :oh, :ow] = gy
    at = xp.asarray(WINO_AT, dtype=gy.dtype)
    return xp.einsum("ia,noyixj,jb->abnyxo", at, padded.reshape(n, o, th, 2, tw, 2), at).reshape(16, n * th * tw, o)


def reference_winograd_grad_input(xp: Any, dv: Any, shape, pads) -> Any:
    """The (N, C, H, W) = `shape` adjoint of the input transform: B dV B^T of every tile added where the
    tile was read from."""
    n, c, h, w = shape
    top, bottom, left, right = pads
    th, tw = (h + top + bottom - 1) // 2, (w + left + right - 1) // 2  # ceil(oh / 2), ceil(ow / 2)
    bt = xp.asarray(WINO_BT, dtype=dv.dtype)
    dd = xp.einsum("ai,abnyxc,bj->ncyxij", bt, dv.reshape(4, 4, n, th, tw, c), bt)
    padded = xp.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype=dv.dtype)
    for i in range(4):
        for j in range(4):
            padded[:, :, i : i + 2 * th : 2, j : j + 2 * tw : 2] += dd[..., i, j]
    return xp.ascontiguousarray(padded[:, :, top : top + h, left : left + w])


def winograd_weight(xp: Any, weight: Any) -> Any:
    """U (16, C_out, C) = G g G^T of every 3x3 filter g: one small GEMM, the same on every implementation."""
    o, c = weight.shape[:2]
    gg = xp.asarray(WINO_GG, dtype=weight.dtype)
    return xp.matmul(gg, weight.reshape(o * c, 9).T).reshape(16, o, c)


def winograd_grad_weight(xp: Any, du: Any) -> Any:
    """The (C_out, C, 3, 3) adjoint of winograd_weight: G^T dU G of every (C_out, C) entry of dU (16, ...)."""
    o, c = du.shape[1:]
    gg = xp.asarray(WINO_GG, dtype=du.dtype)
    return xp.ascontiguousarray(xp.matmul(gg.T, du.reshape(16, o * c)).T).reshape(o, c, 3, 3)


# -------------------------------------------------------------- the GEMMs

def transformed_empty(xp: Any, tiles: int, channels: int, dtype: Any) -> Any:
    """An uninitialised (16, tiles, channels) array for V, M, dV or dM, its 16 matrices 64 bytes past a
    multiple of 4 KiB apart: the kernels write (or read) 4 of them at once, and at a power-of-two
    distance (tiles * channels often is one) those streams would share cache sets and evict each other."""
    stride = -(-tiles * channels // 1024) * 1024 + 64 // np.dtype(dtype).itemsize
    flat = xp.empty(16 * stride, dtype=dtype).reshape(16, stride)
    return flat[:, : tiles * channels].reshape(16, tiles, channels)


# Spare (16, T, C) buffers for the intermediates that never leave a conv2d call (M, dM, dV): a fresh
# 16.8 MB array (64x64x16x16) comes from mmap and faults its zeroed pages in on first touch, about 1.5 ms
# each, three per forward + backward (measured: 27-30 -> 24-25 ms for the step). NumPy only; at most
# SPARE_PER_SHAPE per shape and SPARE_BYTES in all are kept. list.pop / append are atomic, so threads
# that run convolutions at once take different buffers.
SPARE_PER_SHAPE = 2
SPARE_BYTES = 1 << 28
_spares: dict[tuple, list] = {}


def scratch_take(xp: Any, tiles: int, channels: int, dtype: Any) -> Any:
    """A (16, tiles, channels) buffer, uninitialised: a spare one if there is one (see scratch_give)."""
    if xp is np:
        spare = _spares.get((tiles, channels, np.dtype(dtype).str))
        if spare:
            try:
                return spare.pop()
            except IndexError:  # another thread took it
                pass
    return transformed_empty(xp, tiles, channels, dtype)


def scratch_give(xp: Any, a: Any) -> None:
    """Hand back a scratch_take buffer that nothing references any more, for the next call to reuse."""
    if xp is not np:
        return
    key = (a.shape[1], a.shape[2], a.dtype.str)
    spare = _spares.setdefault(key, [])
    held = sum(b.nbytes for bufs in _spares.values() for b in bufs)
    if len(spare) < SPARE_PER_SHAPE and held + a.nbytes <= SPARE_BYTES:
        spare.append(a)


def winograd_products(xp: Any, u: Any, v: Any, out: Any = None) -> Any:
    """M (16, T, C_out): M[xi] = V[xi] @ U[xi]^T, the forward's elementwise products summed over C
    (into `out` when given, a (16, T, C_out) array with contiguous matrices)."""
    if out is None:
        out = transformed_empty(xp, v.shape[1], u.shape[1], np.result_type(u.dtype, v.dtype))
    return xp.matmul(v, u.transpose(0, 2, 1), out=out)


def winograd_products_grad_input(xp: Any, u: Any, dm: Any, out: Any = None) -> Any:
    """dV (16, T, C): dV[xi] = dM[xi] @ U[xi] (the adjoint of winograd_products in V; into `out` when given)."""
    if out is None:
        out = transformed_empty(xp, dm.shape[1], u.shape[2], np.result_type(u.dtype, dm.dtype))
    return xp.matmul(dm, u, out=out)


def winograd_products_grad_weight(xp: Any, dm: Any, v: Any) -> Any:
    """dU (16, C_out, C): dU[xi] = dM[xi]^T @ V[xi] (the adjoint of winograd_products in U)."""
    return xp.matmul(dm.transpose(0, 2, 1), v)


# -------------------------------------------------------------- CPU kernels
# Each runs images lo..hi-1, without the GIL: the launchers take a ``split(fn, n, work)`` (the ops pass
# gpugrad.threads.split) that shares the images among a thread pool, else run them all here. Not Numba's
# prange: its OpenMP workers spin for a while after each parallel loop, on the cores that the next
# GEMM's BLAS threads need, and conv2d alternates the two (measured at 64x64x16x16 -> 64 channels on 2
# cores: the GEMMs took 2-3x longer after prange transforms, 50 ms for the step against 29 ms with the
# spinning off). An image goes through a channels-last scratch copy of it (zero-padded where it is an
# input): every inner loop then runs over channels, contiguous in the scratch and in the (T, 16, C)
# arrays, and LLVM vectorises it. The 1-D transforms below, applied to a tile's columns and then its
# rows, are the matrices above written out as the adds they are.

@njit(inline="always")
def _bt(d0, d1, d2, d3):
    """B^T times a 4-vector."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@njit(inline="always")
def _b(e0, e1, e2, e3):
    """B times a 4-vector (B^T's adjoint)."""
    return e0, e1 - e2 + e3, e1 + e2 - e0, -e3


@njit(inline="always")
def _at(m0, m1, m2, m3):
    """A^T times a 4-vector."""
    return m0 + m1 + m2, m1 - m2 - m3


@njit(inline="always")
def _a(g0, g1):
    """A times a 2-vector (A^T's adjoint)."""
    return g0, g0 + g1, g0 - g1, -g1


_KERNEL = dict(nogil=True, fastmath=True, error_model="numpy", cache=True)


@njit(**_KERNEL)
def _winograd_input_cpu(x, vr, top, left, th, tw, lo, hi):
    # vr: V's 16 matrices, each flat. An image's zero-padded plane goes channels-last into even and odd
    # columns (ev[r, j*c + ci] is padded column 2j): a row of tiles then reads runs of tw * c values.
    # Each run loop touches at most 8 rows: with more, LLVM gives up the run-time overlap checks it
    # needs to vectorise.
    n, c, h, w = x.shape
    run = tw * c
    cols = np.empty((16, run), x.dtype)  # row 4 * a + k: entry (a, k) of B^T d, a row of tiles
    first = left & 1  # the first input column that lands on an even padded column
    # Every image writes the same positions of these (all of x: 2*th >= oh = h + pads - 2); the
    # padding stays zero from here.
    ev = np.zeros((2 * th + 2, run + c), x.dtype)
    od = np.zeros((2 * th + 2, run + c), x.dtype)
    for b in range(lo, hi):
        for ci in range(c):
            for r in range(h):
                er, orow = ev[top + r], od[top + r]
                for q in range(first, w, 2):
                    er[((left + q) >> 1) * c + ci] = x[b, ci, r, q]
                for q in range(1 - first, w, 2):
                    orow[((left + q) >> 1) * c + ci] = x[b, ci, r, q]
        for ty in range(th):
            y = 2 * ty
            for k in range(4):  # B^T down tile column k: padded column 2tx + k
                src = ev if k % 2 == 0 else od
                off = (k >> 1) * c
                s0, s1, s2, s3 = src[y, off : off + run], src[y + 1, off : off + run], src[y + 2, off : off + run], src[y + 3, off : off + run]
                e0, e1, e2, e3 = cols[k], cols[4 + k], cols[8 + k], cols[12 + k]
                for j in range(run):
                    e0[j], e1[j], e2[j], e3[j] = _bt(s0[j], s1[j], s2[j], s3[j])
            base = (b * th + ty) * run
            end = base + run
            for a in range(4):  # then B along tile row a
                c0, c1, c2, c3 = cols[4 * a], cols[4 * a + 1], cols[4 * a + 2], cols[4 * a + 3]
                o0, o1, o2, o3 = vr[4 * a][base:end], vr[4 * a + 1][base:end], vr[4 * a + 2][base:end], vr[4 * a + 3][base:end]
                for j in range(run):
                    o0[j], o1[j], o2[j], o3[j] = _bt(c0[j], c1[j], c2[j], c3[j])


@njit(**_KERNEL)
def _winograd_output_cpu(mr, bias, y, lo, hi):
    n, o, oh, ow = y.shape
    th, tw = (oh + 1) >> 1, (ow + 1) >> 1
    run = tw * o
    cols = np.empty((8, run), y.dtype)  # row 4 * i + k: entry (i, k) of A^T m, a row of tiles
    ev = np.empty((2 * th, run), y.dtype)  # an image's output, even and odd columns, channels last
    od = np.empty((2 * th, run), y.dtype)
    for b in range(lo, hi):
        for ty in range(th):
            base = (b * th + ty) * run
            end = base + run
            for k in range(4):  # A^T down tile column k
                m0, m1, m2, m3 = mr[k][base:end], mr[4 + k][base:end], mr[8 + k][base:end], mr[12 + k][base:end]
                e0, e1 = cols[k], cols[4 + k]
                for j in range(run):
                    e0[j], e1[j] = _at(m0[j], m1[j], m2[j], m3[j])
            for i in range(2):  # then A along row i: output columns 2tx and 2tx + 1
                c0, c1, c2, c3 = cols[4 * i], cols[4 * i + 1], cols[4 * i + 2], cols[4 * i + 3]
                se, so = ev[2 * ty + i], od[2 * ty + i]
                for j in range(run):
                    se[j], so[j] = _at(c0[j], c1[j], c2[j], c3[j])
        for oc in range(o):
            beta = bias[oc]
            for r in range(oh):
                er, orow = ev[r], od[r]
                for q in range(0, ow, 2):
                    y[b, oc, r, q] = er[(q >> 1) * o + oc] + beta
                for q in range(1, ow, 2):
                    y[b, oc, r, q] = orow[(q >> 1) * o + oc] + beta


@njit(**_KERNEL)
def _winograd_grad_output_cpu(gy, dmr, gb_parts, lo, hi):
    # Also each image's channel sums (the bias gradient's terms), while the image is in cache.
    n, o, oh, ow = gy.shape
    th, tw = (oh + 1) >> 1, (ow + 1) >> 1
    run = tw * o
    cols = np.empty((8, run), gy.dtype)  # row 2 * a + j: entry (a, j) of A g, a row of tiles
    # An image's gy, even and odd columns, channels last: every image writes the same positions, and
    # past the output's edge they stay zero from here.
    ev = np.zeros((2 * th, run), gy.dtype)
    od = np.zeros((2 * th, run), gy.dtype)
    for b in range(lo, hi):
        for oc in range(o):
            acc = gy.dtype.type(0)
            for r in range(oh):
                er, orow = ev[r], od[r]
                for q in range(0, ow, 2):
                    e = gy[b, oc, r, q]
                    er[(q >> 1) * o + oc] = e
                    acc += e
                for q in range(1, ow, 2):
                    e = gy[b, oc, r, q]
                    orow[(q >> 1) * o + oc] = e
                    acc += e
            gb_parts[b, oc] = acc
        for ty in range(th):
            y = 2 * ty
            for jj in range(2):  # A down tile column jj
                src = ev if jj == 0 else od
                g0, g1 = src[y], src[y + 1]
                e0, e1, e2, e3 = cols[jj], cols[2 + jj], cols[4 + jj], cols[6 + jj]
                for j in range(run):
                    e0[j], e1[j], e2[j], e3[j] = _a(g0[j], g1[j])
            base = (b * th + ty) * run
            end = base + run
            for a in range(4):  # then A along row a
                c0, c1 = cols[2 * a], cols[2 * a + 1]
                o0, o1, o2, o3 = dmr[4 * a][base:end], dmr[4 * a + 1][base:end], dmr[4 * a + 2][base:end], dmr[4 * a + 3][base:end]
                for j in range(run):
                    o0[j], o1[j], o2[j], o3[j] = _a(c0[j], c1[j])


@njit(**_KERNEL)
def _winograd_grad_input_cpu(dvr, out, top, left, th, tw, lo, hi):
    n, c, h, w = out.shape
    run = tw * c
    cols = np.empty((16, run), out.dtype)  # row 4 * i + k: entry (i, k) of B dV, a row of tiles
    first = left & 1
    ev = np.empty((2 * th + 2, run + c), out.dtype)  # an image's padded gradient, even and odd columns
    od = np.empty((2 * th + 2, run + c), out.dtype)
    for b in range(lo, hi):
        ev[:] = 0
        od[:] = 0
        for ty in range(th):
            y = 2 * ty
            base = (b * th + ty) * run
            end = base + run
            for k in range(4):  # B down tile column k
                v0, v1, v2, v3 = dvr[k][base:end], dvr[4 + k][base:end], dvr[8 + k][base:end], dvr[12 + k][base:end]
                e0, e1, e2, e3 = cols[k], cols[4 + k], cols[8 + k], cols[12 + k]
                for j in range(run):
                    e0[j], e1[j], e2[j], e3[j] = _b(v0[j], v1[j], v2[j], v3[j])
            for i in range(4):  # then B^T along row i (_b written out), added where the tile was read
                c0, c1, c2, c3 = cols[4 * i], cols[4 * i + 1], cols[4 * i + 2], cols[4 * i + 3]
                er, orow = ev[y + i], od[y + i]
                for j in range(run):  # padded columns 2tx, 2tx + 1
                    er[j] += c0[j]
                    orow[j] += c1[j] - c2[j] + c3[j]
                er, orow = er[c:], orow[c:]  # 2tx + 2, 2tx + 3: the next tile's even and odd columns
                for j in range(run):
                    er[j] += c1[j] + c2[j] - c0[j]
                    orow[j] -= c3[j]
        for ci in range(c):
            for r in range(h):
                er, orow = ev[top + r], od[top + r]
                for q in range(first, w, 2):
                    out[b, ci, r, q] = er[((left + q) >> 1) * c + ci]
                for q in range(1 - first, w, 2):
                    out[b, ci, r, q] = orow[((left + q) >> 1) * c + ci]


# -------------------------------------------------------------- launchers

def _rows(a: Any) -> tuple:
    """The 16 matrices of a (16, T, C) array as flat C-contiguous rows (views where they are contiguous),
    the form the kernels index them in."""
    return tuple(a[xi].reshape(-1) for xi in range(16))


def _over_images(kernel: Any, n: int, work: int, split: Any, *args: Any) -> None:
    """kernel(*args, lo, hi) over images 0..n-1: through `split` where it shares them out, else at once."""
    if split is None or not split(lambda lo, hi: kernel(*args, lo, hi), n, work):
        kernel(*args, 0, n)


def _winograd_checked(op: str, xp: Any, impl: str | None, **arrays: Any) -> tuple[Any, str]:
    dtype, impl = float_dtype_and_impl(op, xp, impl, **arrays)
    if impl == "cuda":
        impl = "reference"  # no CUDA Winograd kernels: the ops take im2col on a GPU
    if impl == "cpu":
        check_arrays_for(op, xp, impl, **arrays)
    return dtype, impl


def winograd_input(xp: Any, x: Any, pads, *, impl: str | None = None, split: Any = None) -> Any:
    """V (16, N*th*tw, C) of x (N, C, H, W) for a 3x3, stride-1 convolution padded by `pads`. `split`
    (as gpugrad.threads.split) shares the images among threads, here and in the other launchers."""
    op = "conv.winograd_input"
    geometry = ConvGeometry((3, 3), (1, 1), pads)
    oh, ow = geometry.check(op, tuple(x.shape))
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    dtype, impl = _winograd_checked(op, xp, impl, x=x)
    if impl == "reference":
        return reference_winograd_input(xp, x, geometry.pads, th, tw)
    x = contiguous(xp, x)  # one compiled layout per kernel (a strided input is rare: a copy)
    n, c = x.shape[:2]
    v = transformed_empty(xp, n * th * tw, c, dtype)
    _over_images(_winograd_input_cpu, n, v.size, split, x, _rows(v), geometry.pads[0], geometry.pads[2], th, tw)
    return v


def winograd_output(xp: Any, m: Any, bias: Any, shape, *, impl: str | None = None, split: Any = None) -> Any:
    """The (N, C_out, oh, ow) = `shape` output from M (16, N*th*tw, C_out), plus `bias` (C_out,) or None."""
    op = "conv.winograd_output"
    n, o, oh, ow = (int(s) for s in shape)
    expected = (16, winograd_tiles(n, oh, ow), o)
    if tuple(m.shape) != expected:
        raise ValueError(f"{op}: M of shape {tuple(m.shape)} does not fit an output of shape {tuple(shape)} "
                         f"(expected {expected})")
    dtype, impl = _winograd_checked(op, xp, impl, m=m, bias=bias)
    if impl == "reference":
        return reference_winograd_output(xp, m, bias, (n, o, oh, ow))
    bias = xp.zeros(o, dtype=dtype) if bias is None else contiguous(xp, bias)
    y = xp.empty((n, o, oh, ow), dtype=dtype)
    _over_images(_winograd_output_cpu, n, m.size, split, _rows(m), bias, y)
    return y


def winograd_grad_output(xp: Any, gy: Any, *, impl: str | None = None, split: Any = None,
                         out: Any = None) -> tuple[Any, Any]:
    """(dM (16, N*th*tw, C_out), gy summed over all but the channel axis): the output gradient in the
    transformed domain (the kernels write it into `out` when given), and the bias gradient."""
    op = "conv.winograd_grad_output"
    if gy.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D (N, C, H, W) array, got shape {tuple(gy.shape)}")
    dtype, impl = _winograd_checked(op, xp, impl, gy=gy)
    if impl == "reference":
        return reference_winograd_grad_output(xp, gy), gy.sum(axis=(0, 2, 3))
    gy = contiguous(xp, gy)  # an expanded gradient (sum().backward()) is copied once here
    n, o, oh, ow = gy.shape
    dm = transformed_empty(xp, winograd_tiles(n, oh, ow), o, dtype) if out is None else out
    if dm.shape != (16, winograd_tiles(n, oh, ow), o):
        raise ValueError(f"{op}: out of shape {tuple(dm.shape)} does not fit gy of shape {tuple(gy.shape)}")
    parts = xp.empty((n, o), dtype=dtype)
    _over_images(_winograd_grad_output_cpu, n, dm.size, split, gy, _rows(dm), parts)
    return dm, parts.sum(axis=0)


def winograd_grad_input(xp: Any, dv: Any, shape, pads, *, impl: str | None = None, split: Any = None) -> Any:
    """The (N, C, H, W) = `shape` adjoint of winograd_input for dV (16, N*th*tw, C)."""
    op = "conv.winograd_grad_input"
    shape = tuple(int(s) for s in shape)
    geometry = ConvGeometry((3, 3), (1, 1), pads)
    oh, ow = geometry.check(op, shape)
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    expected = (16, shape[0] * th * tw, shape[1])
    if tuple(dv.shape) != expected:
        raise ValueError(f"{op}: dV of shape {tuple(dv.shape)} does not fit an input of shape {shape} "
                         f"(expected {expected})")
    dtype, impl = _winograd_checked(op, xp, impl, dv=dv)
    if impl == "reference":
        return reference_winograd_grad_input(xp, dv, shape, geometry.pads)
    out = xp.empty(shape, dtype=dtype)
    _over_images(_winograd_grad_input_cpu, shape[0], dv.size, split, _rows(dv), out, geometry.pads[0], geometry.pads[2], th, tw)
    return out
