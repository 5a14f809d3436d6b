"""im2col and col2im: the gathers around a convolution's GEMM.

im2col lays every receptive field of x (N, C, H, W) out as a column of a (C*kh*kw, N*oh*ow) matrix, so
that a convolution is one GEMM and both of its gradients are GEMMs too; col2im, its adjoint, sums such
columns back into the (N, C, H, W) positions they were read from (the input gradient).

Geometry (`ConvGeometry`), shared with the pooling kernels and the ops: kernel (kh, kw), stride (sh, sw),
pads (top, bottom, left, right; zeros, or for pooling -inf, outside the input) and dilation (dh, dw). Output row ``yo`` and tap
``i`` read input row ``yo*sh - top + i*dh`` (columns likewise).

The references are NumPy/CuPy strided views (no Python loop over pixels; col2im loops over the kh*kw
taps): on a GPU each of those is a launch or two, where the kernels here are one each.
"""

from __future__ import annotations

from dataclasses import dataclass
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
            object.__setattr__(self, field, tuple(int(v) for v in getattr(self, field)))

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
        if len(kernel) != 2 or len(stride) != 2 or len(pads) != 4 or len(dilation) != 2:
            raise ValueError(f"{op}: kernel, stride and dilation are pairs and pads a 4-tuple, got "
                             f"{kernel}, {stride}, {dilation}, {pads}")
        if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(pads) < 0:
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


def check_geometry(op: str, shape: tuple[int, ...], kernel, stride, pads, dilation) -> tuple[int, int]:
    """(oh, ow) for an (N, C, H, W) `shape` (``ConvGeometry.check`` on loose arguments)."""
    return ConvGeometry(kernel, stride, pads, dilation).check(op, shape)


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
# Output planes are small in a CNN (4x4 to 32x32), so loops over one output row are too short to run
# fast. The CPU kernels therefore loop over whole output planes, reading through a table of where each
# tap of each output position reads.

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


@cpu_kernel()
def _im2col_cpu(x, cols, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = x.shape
    taps, ohw = kh * kw, oh * ow
    src = tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow)
    xf = x.reshape(-1)
    for p in prange(c * n):
        ci = p // n
        b = p - ci * n
        plane = (b * c + ci) * h * w
        for t in range(taps):
            row = cols[ci * taps + t]
            for k in range(ohw):
                s = src[t, k]
                v = xf[plane + max(s, 0)]  # always a valid read: a select, not a branch, picks 0
                row[b * ohw + k] = v if s >= 0 else 0


@cpu_kernel()
def _col2im_cpu(cols, out, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    # A plane per thread, summing its taps in the reference's order (the same sums).
    n, c, h, w = out.shape
    taps, ohw = kh * kw, oh * ow
    src = tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow)
    of = out.reshape(-1)
    for p in prange(n * c):
        b = p // c
        ci = p - b * c
        plane = p * h * w
        for k in range(h * w):
            of[plane + k] = 0
        for t in range(taps):
            row = cols[ci * taps + t]
            for k in range(ohw):
                s = src[t, k]
                if s >= 0:
                    of[plane + s] += row[b * ohw + k]


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

def kernel_geometry(kernel, stride, pads, dilation) -> tuple[int, ...]:
    """The geometry as the conv and pool kernels take it: kh, kw, sh, sw, top, left, dh, dw."""
    return ConvGeometry(kernel, stride, pads, dilation).kernel_args()


def im2col(xp: Any, x: Any, kernel, stride, pads, dilation, *, impl: str | None = None, stream: Any = None) -> Any:
    """(C*kh*kw, N*oh*ow) columns of x (N, C, H, W), zero outside the input (see the module docstring)."""
    op = "conv.im2col"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    geometry = ConvGeometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, tuple(x.shape))
    if impl == "reference":
        return reference_im2col(xp, x, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    n, c = x.shape[:2]
    cols = xp.empty((c * kernel[0] * kernel[1], n * oh * ow), dtype=dtype)
    args = (*geometry.kernel_args(), oh, ow)
    if impl == "cpu":
        _im2col_cpu(cols.size, x, cols, *args)
    else:
        launch(_cuda_kernel("im2col", dtype), cols.shape[::-1], (BLOCK, 1), cuda_stream(xp, stream), x, cols, *args)
    return cols


def col2im(xp: Any, cols: Any, shape, kernel, stride, pads, dilation, *, impl: str | None = None, stream: Any = None) -> Any:
    """The (N, C, H, W) = `shape` adjoint of im2col: each column entry added where im2col read it."""
    op = "conv.col2im"
    dtype, impl = float_dtype_and_impl(op, xp, impl, cols=cols)
    shape = tuple(int(s) for s in shape)
    geometry = ConvGeometry(kernel, stride, pads, dilation)
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
        _col2im_cpu(cols.size, cols, out, *args)
    else:
        launch(_cuda_kernel("col2im", dtype), out.size, BLOCK, cuda_stream(xp, stream), cols, out, *args)
    return out
