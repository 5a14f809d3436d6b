"""im2col and col2im in the rows layout: one row per output position, the taps' channels side by side.

``rows[(b*oh + yo)*ow + xo, (i*kw + j)*C + c] = x[b, c, yo*sh - top + i*dh, xo*sw - left + j*dw]`` (zero
outside the input): im2col's columns transposed, with each tap's C channels contiguous (NHWC inside).
A convolution is then ``rows @ W_rows^T`` with ``W_rows = rows_weight(W)`` (C_out, kh*kw*C), its output is
(N*oh*ow, C_out), and both gradients are GEMMs with the same operands.

Why a second layout: OpenBLAS runs a product faster when its output has many rows and few columns. At
the digits CNN's second convolution (16 -> 32 channels, 4x4, batch 64) the forward GEMM takes 104 us as
(1024x144)(144x32) against 155 us as (32x144)(144x1024), the input gradient's 107 against 146, on one
thread (bench/NOTES.md). CPU kernels; every other implementation runs the references (the GPU keeps
the columns layout, see ``gpugrad.ops.conv``).

Each kernel sits beside its reference: ``reference_*`` builds the same arrays from
``gpugrad.kernels.conv``'s strided-view references, bit for bit (col2im_rows sums each pixel's taps in
the reference's order).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from ._launch import check_arrays_for, contiguous, cpu_kernel, float_dtype_and_impl
from .conv import BATCH_BLOCKS, conv_geometry, reference_col2im, reference_im2col, tap_sources

__all__ = [
    "col2im_rows", "im2col_rows", "reference_col2im_rows", "reference_im2col_rows", "reference_rows_to_nchw",
    "rows_to_nchw", "rows_weight", "weight_from_rows",
]


# ============================================================== references

def reference_im2col_rows(xp: Any, x: Any, kernel, stride, pads, dilation) -> Any:
    """(N*oh*ow, kh*kw*C) rows of x (N, C, H, W): im2col's columns, transposed, taps outside channels."""
    c, taps = x.shape[1], kernel[0] * kernel[1]
    cols = reference_im2col(xp, x, kernel, stride, pads, dilation)  # row c*taps + t
    return xp.ascontiguousarray(cols.reshape(c, taps, -1).transpose(2, 1, 0)).reshape(-1, taps * c)


def reference_col2im_rows(xp: Any, rows: Any, shape, kernel, stride, pads, dilation) -> Any:
    """The (N, C, H, W) = ``shape`` adjoint of im2col_rows: each row entry added where it was read."""
    c, taps = shape[1], kernel[0] * kernel[1]
    cols = xp.ascontiguousarray(rows.reshape(-1, taps, c).transpose(2, 1, 0)).reshape(c * taps, -1)
    return reference_col2im(xp, cols, shape, kernel, stride, pads, dilation)


def reference_rows_to_nchw(xp: Any, z: Any, bias: Any, n: int) -> Any:
    """(N, C, oh*ow) from z (N*oh*ow, C) plus bias (C,) or None, C-contiguous."""
    c = z.shape[1]
    view = z.reshape(n, -1, c).transpose(0, 2, 1)
    if bias is None:
        return xp.ascontiguousarray(view)
    return xp.add(view, bias[None, :, None], out=xp.empty(view.shape, dtype=z.dtype))


def rows_weight(xp: Any, weight: Any) -> Any:
    """A (C_out, C, kh, kw) weight as the rows layout multiplies it: (C_out, kh*kw*C), taps outside channels."""
    return xp.ascontiguousarray(weight.transpose(0, 2, 3, 1)).reshape(weight.shape[0], -1)


def weight_from_rows(xp: Any, w_rows: Any, shape) -> Any:
    """rows_weight's inverse: a (C_out, kh*kw*C) array as the (C_out, C, kh, kw) = ``shape`` weight."""
    out_c, c, kh, kw = shape
    return xp.ascontiguousarray(w_rows.reshape(out_c, kh, kw, c).transpose(0, 3, 1, 2))


# ============================================================== CPU kernels
# Work units are blocks of the batch (conv.BATCH_BLOCKS); each keeps one image in a scratch of its own.

@cpu_kernel(fastmath={"nsz"})
def _im2col_rows_cpu(x, rows, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    n, c, h, w = x.shape
    taps, ohw, hw = kh * kw, oh * ow, h * w
    width = taps * c
    src = tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow)
    starts = np.empty((ohw, taps), np.int64)  # where output k's tap t starts in an image's (h*w, c) pixels
    for t in range(taps):
        for k in range(ohw):
            starts[k, t] = src[t, k] * c if src[t, k] >= 0 else -1
    xf, rf = x.reshape(-1), rows.reshape(-1)
    blocks = min(n, BATCH_BLOCKS)
    for q in prange(blocks):
        pixels = np.empty(hw * c, x.dtype)  # one image as (h*w, c): a tap's channels side by side
        for b in range(n * q // blocks, n * (q + 1) // blocks):
            image = xf[b * c * hw:(b + 1) * c * hw]
            for ci in range(c):
                for p in range(hw):
                    pixels[p * c + ci] = image[ci * hw + p]
            for k in range(ohw):
                row, at = rf[(b * ohw + k) * width:(b * ohw + k + 1) * width], starts[k]
                for t in range(taps):
                    s, dst = at[t], row[t * c:(t + 1) * c]
                    if s >= 0:
                        for ci in range(c):
                            dst[ci] = pixels[s + ci]
                    else:
                        for ci in range(c):
                            dst[ci] = 0


@cpu_kernel(fastmath={"nsz"})
def _col2im_rows_cpu(rows, out, kh, kw, sh, sw, top, left, dh, dw, oh, ow):
    # Each pixel gathers what its taps read, in tap order (the reference's sums): for one tap, at most one
    # output position reads a given pixel.
    n, c, h, w = out.shape
    taps, ohw, hw = kh * kw, oh * ow, h * w
    width = taps * c
    src = tap_sources(h, w, kh, kw, sh, sw, top, left, dh, dw, oh, ow)
    reads = np.full((hw, taps), -1, np.int64)  # where in an image's rows tap t's value for pixel p sits
    for t in range(taps):
        for k in range(ohw):
            if src[t, k] >= 0:
                reads[src[t, k], t] = k * width + t * c
    rf, of = rows.reshape(-1), out.reshape(-1)
    blocks = min(n, BATCH_BLOCKS)
    for q in prange(blocks):
        total = np.empty(c, out.dtype)
        for b in range(n * q // blocks, n * (q + 1) // blocks):
            image_rows, image = rf[b * ohw * width:(b + 1) * ohw * width], of[b * c * hw:(b + 1) * c * hw]
            for p in range(hw):
                for ci in range(c):
                    total[ci] = 0
                at = reads[p]
                for t in range(taps):
                    o = at[t]
                    if o >= 0:
                        r = image_rows[o:o + c]
                        for ci in range(c):
                            total[ci] += r[ci]
                for ci in range(c):
                    image[ci * hw + p] = total[ci]


@cpu_kernel(fastmath={"nsz"})
def _rows_to_nchw_cpu(z, bias, has_bias, out):
    n, c, hw = out.shape
    for b in prange(n):
        block = z[b * hw:(b + 1) * hw]
        for ci in range(c):
            dst = out[b, ci]
            if has_bias:
                shift = bias[ci]
                for k in range(hw):
                    dst[k] = block[k, ci] + shift
            else:
                for k in range(hw):
                    dst[k] = block[k, ci]


# ============================================================== launchers

def im2col_rows(xp: Any, x: Any, kernel, stride, pads, dilation, *, impl: str | None = None) -> Any:
    """(N*oh*ow, kh*kw*C) rows of x (N, C, H, W), zero outside the input (see the module docstring)."""
    op = "conv.im2col_rows"
    dtype, impl = float_dtype_and_impl(op, xp, impl, x=x)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, tuple(x.shape))
    if impl != "cpu":
        return reference_im2col_rows(xp, x, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, x=x)
    x = contiguous(xp, x)
    n, c = x.shape[:2]
    rows = np.empty((n * oh * ow, kernel[0] * kernel[1] * c), dtype=dtype)
    _im2col_rows_cpu(rows.size, x, rows, *geometry.kernel_args(), oh, ow)
    return rows


def col2im_rows(xp: Any, rows: Any, shape, kernel, stride, pads, dilation, *, impl: str | None = None) -> Any:
    """The (N, C, H, W) = ``shape`` adjoint of im2col_rows: each row entry added where it was read."""
    op = "conv.col2im_rows"
    dtype, impl = float_dtype_and_impl(op, xp, impl, rows=rows)
    shape = tuple(int(s) for s in shape)
    geometry = conv_geometry(kernel, stride, pads, dilation)
    oh, ow = geometry.check(op, shape)
    n, c = shape[:2]
    expected = (n * oh * ow, kernel[0] * kernel[1] * c)
    if tuple(rows.shape) != expected:
        raise ValueError(f"{op}: rows of shape {tuple(rows.shape)} do not fit an input of shape {shape} "
                         f"(expected {expected})")
    if impl != "cpu":
        return reference_col2im_rows(xp, rows, shape, kernel, stride, pads, dilation)
    check_arrays_for(op, xp, impl, rows=rows)
    rows = contiguous(xp, rows)
    out = np.empty(shape, dtype=dtype)
    _col2im_rows_cpu(rows.size, rows, out, *geometry.kernel_args(), oh, ow)
    return out


def rows_to_nchw(xp: Any, z: Any, bias: Any, shape, *, impl: str | None = None) -> Any:
    """The (N, C, oh, ow) = ``shape`` tensor of the rows layout's GEMM output z (N*oh*ow, C), plus bias (C,)
    or None."""
    op = "conv.rows_to_nchw"
    dtype, impl = float_dtype_and_impl(op, xp, impl, z=z, bias=bias)
    n, c, oh, ow = (int(s) for s in shape)
    if tuple(z.shape) != (n * oh * ow, c) or (bias is not None and tuple(bias.shape) != (c,)):
        raise ValueError(f"{op}: z {tuple(z.shape)} and bias {None if bias is None else tuple(bias.shape)} do not "
                         f"fit an output of shape {(n, c, oh, ow)}")
    if impl != "cpu" or z.size == 0:
        return reference_rows_to_nchw(xp, z, bias, n).reshape(n, c, oh, ow)
    check_arrays_for(op, xp, impl, z=z, bias=bias)
    z = contiguous(xp, z)
    out = np.empty((n, c, oh * ow), dtype)
    _rows_to_nchw_cpu(z.size, z, z[0] if bias is None else contiguous(xp, bias), bias is not None, out)
    return out.reshape(n, c, oh, ow)
