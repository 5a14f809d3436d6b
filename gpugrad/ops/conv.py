"""Convolution as ops: im2col, its adjoint col2im, and conv2d (groups=1) with its backward as an op.

The array work is ``gpugrad.kernels.conv`` (one launch each on a GPU, Numba loops on the CPU, strided
views under ``GPUGRAD_FUSED=0``). Where a window reads is one ``ConvGeometry`` (kernel, stride, pads,
dilation), the kernels' own type. On the CPU a 3x3 stride-1 convolution with enough channels runs as
Winograd F(2x2, 3x3) instead of im2col (``use_winograd``): 16 GEMMs over channels, 4 multiplies per
output instead of 9; any other with enough channels gathers into im2col's rows layout (``use_rows``,
``gpugrad.kernels.conv_rows``), whose GEMMs OpenBLAS runs faster. ``conv_layout`` names the choice.
"""
from __future__ import annotations

import numpy as np

from .. import threads
from ..autograd.function import Op
from ..kernels import activation as kact
from ..kernels import conv as kconv
from ..kernels import conv_rows
from ..kernels._dispatch import resolve_impl
from ..kernels.activation import SAVES_OUTPUT
from ..kernels.conv import ConvGeometry
from ..tensor import Tensor
from .activation import ActivationBackward, activation_backward_grads

__all__ = ["ConvGeometry", "Im2Col", "Col2Im", "Conv2d", "Conv2dBackward", "im2col", "col2im", "conv2d"]


class Im2Col(Op):
    """(N, C, H, W) -> (C*kh*kw, N*oh*ow): every receptive field as a column, zero padded.

    Batch and positions share the column axis so that a convolution is one plain 2-D GEMM (and so are
    both of its gradients), rather than a broadcast batch of small products.
    """

    @staticmethod
    def forward(ctx, x, geometry: ConvGeometry = None):
        ctx.shape, ctx.geometry = tuple(x.shape), geometry
        return kconv.im2col(ctx.xp, x, *geometry, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, gy):
        return Col2Im.apply(gy, shape=ctx.shape, geometry=ctx.geometry)


class Col2Im(Op):
    """The adjoint of Im2Col: columns summed back into the (N, C, H, W) positions they were read from."""

    @staticmethod
    def forward(ctx, cols, shape=(), geometry: ConvGeometry = None):
        ctx.geometry = geometry
        return kconv.col2im(ctx.xp, cols, shape, *geometry, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggx):
        return Im2Col.apply(ggx, geometry=ctx.geometry)


def im2col(x: Tensor, geometry: ConvGeometry) -> Tensor:
    """Receptive fields of a (N, C, H, W) tensor as columns (C*kh*kw, N*oh*ow). Linear in x; its adjoint
    col2im is its backward (and im2col is col2im's)."""
    return Im2Col.apply(x, geometry=geometry)


def col2im(cols: Tensor, shape, geometry: ConvGeometry) -> Tensor:
    """The adjoint of im2col: columns (C*kh*kw, N*oh*ow) summed into a (N, C, H, W) = ``shape`` tensor."""
    return Col2Im.apply(cols, shape=tuple(int(s) for s in shape), geometry=geometry)


class Conv2d(Op):
    """act(conv2d(x, weight) + bias) as one op: im2col, one GEMM (C_out, C*kh*kw) @ (C*kh*kw, N*oh*ow), the
    bias; the same GEMM transposed on im2col's rows, (N*oh*ow, kh*kw*C) @ (kh*kw*C, C_out), where
    ``use_rows`` says so; or where ``use_winograd`` says so, the Winograd input transform V, the 16 GEMMs
    with the transformed weight and the output transform (bias included). ``kind`` names an activation
    applied to the result as ``gpugrad.kernels.activation`` names it ("identity": none; nn.Sequential
    fuses Conv2d + activation through it). Its backward is Conv2dBackward, once."""

    name = "conv2d"

    @staticmethod
    def forward(ctx, x, weight, bias, geometry: ConvGeometry = None, kind: str = "identity", param: float = 0.0):
        ctx.geometry, ctx.kind, ctx.param = geometry, kind, param
        ctx.layout = conv_layout(ctx, x, weight, geometry)
        y, kept = conv_arrays(ctx, x, weight, bias, geometry)
        s = pre_bias = None
        if kind != "identity":
            impl = ctx.backend.kernel_impl
            if SAVES_OUTPUT[kind]:  # the derivative reads y: the activation overwrites the convolution's output
                y = s = kact.forward(ctx.xp, kind, y, param, out=y if y.flags.c_contiguous else None, impl=impl)
            else:  # it reads the pre-activation, which a double backward recomputes from x, W and the bias
                s, y, pre_bias = y, kact.forward(ctx.xp, kind, y, param, impl=impl), bias
        # What the weight gradient multiplies (columns, rows or Winograd's V): kept rather than made again.
        ctx.save_for_backward(x, weight, pre_bias, s, kept if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, weight, bias, s, kept = ctx.saved_tensors
        return Conv2dBackward.apply(
            gy, x, weight, bias, s, cols=None if kept is None else kept._array, geometry=ctx.geometry,
            needs=ctx.needs_input_grad[:3], layout=ctx.layout, kind=ctx.kind, param=ctx.param,
        )


def conv_arrays(ctx, x, weight, bias, geometry: ConvGeometry) -> tuple:
    """Conv2d's output array (N, C_out, oh, ow), bias added, in ``ctx.layout``, and what the layout's
    weight gradient multiplies: im2col's columns or rows, or Winograd's transformed input V."""
    out_c = weight.shape[0]
    oh, ow = geometry.output_hw(x.shape[2], x.shape[3])
    if ctx.layout == "winograd":
        v = kconv.winograd_input(ctx.xp, x, geometry.pads, split=threads.split)
        m = kconv.scratch_take(ctx.xp, v.shape[1], out_c, v.dtype)
        threads.gemm_threads(v.shape[1] * x.shape[1] * out_c)  # each of the 16 GEMMs: tiles x C by C x C_out
        kconv.winograd_products(ctx.xp, kconv.winograd_weight(ctx.xp, weight), v, out=m)
        y = kconv.winograd_output(ctx.xp, m, bias, (x.shape[0], out_c, oh, ow), split=threads.split)
        kconv.scratch_give(ctx.xp, m)
        return y, v
    impl = ctx.backend.kernel_impl
    if ctx.layout == "rows":
        rows = conv_rows.im2col_rows(ctx.xp, x, *geometry, impl=impl)
        z = ctx.backend.matmul(rows, conv_rows.rows_weight(ctx.xp, weight).T)  # (N*oh*ow, C_out)
        return conv_rows.rows_to_nchw(ctx.xp, z, bias, (x.shape[0], out_c, oh, ow), impl=impl), rows
    cols = kconv.im2col(ctx.xp, x, *geometry, impl=impl)
    z = ctx.backend.matmul(weight.reshape(out_c, -1), cols)  # (C_out, N*oh*ow)
    return kconv.columns_to_nchw(ctx.xp, z, bias, (x.shape[0], out_c, oh, ow), impl=impl), cols


# Below this many input or output channels the transforms and the 48 small BLAS calls (each a wake-up
# of BLAS's threads) cost more than the multiplies they save. Forward + backward on 2 cores, Winograd
# time over im2col's, batch 64: 3 -> 32 channels at 32x32 1.5, 4 -> 32 1.16, 6 -> 32 1.06, 8 -> 32 0.6-0.8,
# 8 -> 64 at 16x16 1.06, 8 -> 8 0.25-0.37, 16 -> 16 0.36, 32 -> 64 at 26x26 0.42, 64 -> 64 at 16x16 0.3.
WINOGRAD_MIN_CHANNELS = 8
# Nor on planes under 8x8: the digits CNN's 16 -> 32 at 4x4 measured no faster either way (step 1.90-2.13
# against 2.05 ms), and Winograd's weight gradient rounds 2-3x more than im2col's (relative 1e-6 against
# 3.5e-7, in norm), which Adam amplified past the data-parallel equality test's 1e-5.
WINOGRAD_MIN_PLANE = 64


def conv_layout(ctx, x, weight, geometry: ConvGeometry) -> str:
    """How conv2d lays out its GEMMs: "winograd", "rows" (im2col transposed) or "columns" (im2col's own)."""
    if use_winograd(ctx, x, weight, geometry):
        return "winograd"
    return "rows" if use_rows(ctx, x, weight, geometry) else "columns"


def _cpu_float(ctx, x) -> bool:
    """The CPU kernels (not the references, not a GPU) on float32/float64 (float16 runs the references)."""
    return x.dtype.char in "fd" and resolve_impl(ctx.xp, ctx.backend.kernel_impl) == "cpu"


# The rows layout pays from this many input channels (its gathers copy runs of channels: with fewer,
# im2col's runs over positions are faster) and for GEMMs on one BLAS thread (under SMALL_GEMM_MACS; with
# two threads the columns layout measured as fast or faster). bench/NOTES.md has the figures.
ROWS_MIN_CHANNELS = 16


def use_rows(ctx, x, weight, geometry: ConvGeometry) -> bool:
    """Whether an im2col convolution gathers into the rows layout (``gpugrad.kernels.conv_rows``): the CPU
    kernels on float32/float64, enough input channels, a GEMM small enough for one BLAS thread."""
    if x.shape[1] < ROWS_MIN_CHANNELS or not _cpu_float(ctx, x):
        return False
    oh, ow = geometry.output_hw(x.shape[2], x.shape[3])
    return x.shape[0] * oh * ow * weight.size < threads.SMALL_GEMM_MACS


def use_winograd(ctx, x, weight, geometry: ConvGeometry) -> bool:
    """Whether conv2d runs as Winograd F(2x2, 3x3) (``gpugrad.kernels.conv``): the CPU kernels (not the
    references, not a GPU), float32/float64, a 3x3 stride-1 undilated kernel, enough channels and pixels."""
    return (
        kconv.winograd_fits(geometry)
        and min(x.shape[1], weight.shape[0]) >= WINOGRAD_MIN_CHANNELS
        and x.shape[2] * x.shape[3] >= WINOGRAD_MIN_PLANE
        and _cpu_float(ctx, x)
    )


# Up to this many output channels, OpenBLAS makes the weight gradient faster as its transpose, cols gz^T
# (C*kh*kw, C_out), than as gz cols^T (C_out, C*kh*kw), on one thread or two: 16 -> 32 channels at 4x4,
# batch 64, 110 -> 70 us; 64 -> 64 at 16x16 8.8 -> 7.7 ms; from 256 channels it is slower (bench/NOTES.md).
TRANSPOSED_WEIGHT_GRAD_MAX_CHANNELS = 128


class Conv2dBackward(Op):
    """(gx, gw, gb) of act(conv2d(x, weight) + bias) for the upstream gy: gp = act'(s) * gy (gy itself for
    "identity"), then col2im(W^T gz), gz cols^T and gz's row sums, where gz is gp as (C_out, N*oh*ow). Two
    GEMMs and a col2im on arrays (or their forms in the layout the forward took: ``rows_backward``,
    ``winograd_backward``); None for what ``needs`` leaves out. ``s`` is Conv2d's output where the
    activation's derivative reads it, else the pre-activation.

    Its own backward is written in Tensor ops: gp is ActivationBackward(gy, s), differentiable in both, and
    the rest is bilinear in (gp, x) and (gp, weight): conv2d and its two gradients again (Conv2d, Im2Col,
    Col2Im, matmul). The pre-activation is recomputed from x, W and b (hence ``bias`` here) so that its
    gradients reach them: every order differentiates.
    """

    name = "conv2d_backward"

    @staticmethod
    def forward(ctx, gy, x, weight, bias=None, s=None, cols=None, geometry: ConvGeometry = None,
                needs=(True, True, True), layout: str = "columns", kind: str = "identity", param: float = 0.0):
        ctx.geometry, ctx.produced, ctx.kind, ctx.param = geometry, needs, kind, param
        ctx.save_for_backward(gy, x, weight, bias, s)
        if kind != "identity":
            gy = kact.backward(ctx.xp, kind, gy, s, param, impl=ctx.backend.kernel_impl)
        if layout == "winograd":  # `cols` is then Conv2d's transformed input V
            return winograd_backward(ctx.xp, gy, x, weight, cols, geometry, needs)
        if layout == "rows":  # `cols` is then Conv2d's rows
            return rows_backward(ctx, gy, x, weight, cols, geometry, needs)
        need_x, need_w, need_b = needs
        impl = ctx.backend.kernel_impl
        out_c = weight.shape[0]
        gz, gb = kconv.nchw_to_columns(ctx.xp, gy, need_b, impl=impl)  # (C_out, N*oh*ow), the bias gradient
        gx = gw = None
        if need_x:
            gx = kconv.col2im(ctx.xp, ctx.backend.matmul(weight.reshape(out_c, -1).T, gz), x.shape, *geometry, impl=impl)
        if need_w:
            if cols is None:
                cols = kconv.im2col(ctx.xp, x, *geometry, impl=impl)
            if out_c <= TRANSPOSED_WEIGHT_GRAD_MAX_CHANNELS and ctx.xp is np:
                gw = np.ascontiguousarray(ctx.backend.matmul(cols, gz.T).T)  # from (C*kh*kw, C_out)
            else:
                gw = ctx.backend.matmul(gz, cols.T)
            gw = gw.reshape(weight.shape)
        return gx, gw, gb

    @staticmethod
    def backward(ctx, ggx, ggw, ggb):
        ggx, ggw, ggb = produced_grads(ctx, (ggx, ggw, ggb))
        gy, x, weight, bias, s = ctx.saved_tensors
        geometry, kind, param = ctx.geometry, ctx.kind, ctx.param
        need_gy, need_x, need_w, need_b, need_s = ctx.needs_input_grad[:5]
        out_c = weight.shape[0]
        identity = kind == "identity"
        s_is_output = not identity and SAVES_OUTPUT[kind]
        if identity:
            gp = gy
        else:
            if not s_is_output:  # the pre-activation, connected to x, W and b
                s = Conv2d.apply(x, weight, bias, geometry=geometry)
            gp = ActivationBackward.apply(gy, s, kind=kind, param=param)
        gz = gp.permute(1, 0, 2, 3).reshape(out_c, -1)
        # gp is what a convolution's output is: conv2d of ggx with the weight, of x with ggw, plus ggb.
        d_gp = d_gy = d_x = d_w = d_b = d_s = None
        if need_gy or not identity:
            terms = []
            if ggx is not None:
                terms.append(Conv2d.apply(ggx, weight, ggb, geometry=geometry))
            elif ggb is not None:
                terms.append(ggb.reshape(1, out_c, 1, 1).expand(*gy.shape))
            if ggw is not None:
                terms.append(Conv2d.apply(x, ggw, None, geometry=geometry))
            for t in terms:
                d_gp = _plus(d_gp, t)
        if need_x and ggw is not None:
            d_x = Col2Im.apply(ggw.reshape(out_c, -1).mT @ gz, shape=tuple(x.shape), geometry=geometry)
        if need_w and ggx is not None:
            d_w = (gz @ Im2Col.apply(ggx, geometry=geometry).mT).reshape(tuple(weight.shape))
        if d_gp is not None:
            d_gy, d_s = activation_backward_grads(d_gp, gy, s, kind, param, need_gy)
        if d_s is not None and not s_is_output:  # s = conv2d(x, W) + b: its gradient goes on to x, W and b
            sx, sw, d_b = Conv2dBackward.apply(d_s, x, weight, None, None, geometry=geometry,
                                               needs=(need_x, need_w, need_b))
            d_x, d_w, d_s = _plus(d_x, sx), _plus(d_w, sw), None
        return (d_gy, d_x if need_x else None, d_w if need_w else None, d_b if need_b else None,
                d_s if need_s else None)


def _plus(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    """a + b, where a missing term (None) counts as zero."""
    return b if a is None else a if b is None else a + b


def rows_backward(ctx, gy, x, weight, rows, geometry: ConvGeometry, needs) -> tuple:
    """Conv2dBackward's arrays for a forward in the rows layout: gx = col2im_rows(gz^T W_rows),
    gw from gz rows, gb = gz's row sums, where gz is gy as (C_out, N*oh*ow)."""
    need_x, need_w, need_b = needs
    xp, impl = ctx.xp, ctx.backend.kernel_impl
    gz, gb = kconv.nchw_to_columns(xp, gy, need_b, impl=impl)
    gx = gw = None
    if need_x:
        g_rows = ctx.backend.matmul(gz.T, conv_rows.rows_weight(xp, weight))  # (N*oh*ow, kh*kw*C)
        gx = conv_rows.col2im_rows(xp, g_rows, x.shape, *geometry, impl=impl)
    if need_w:
        if rows is None:
            rows = conv_rows.im2col_rows(xp, x, *geometry, impl=impl)
        gw = conv_rows.weight_from_rows(xp, ctx.backend.matmul(gz, rows), weight.shape)
    return gx, gw, gb


def winograd_backward(xp, gy, x, weight, v, geometry: ConvGeometry, needs) -> tuple:
    """Conv2dBackward's arrays for a Winograd forward: dM = A gy A^T per tile, then
    gx = adjoint input transform of (U^T dM), gw = adjoint weight transform of (dM V^T), gb = gy's sums.
    Every array returned is made here (none is V, U or a scratch buffer: dM and dV are reused spares,
    kconv.scratch_take, handed back once read).

    Both GEMMs run back to back, before the input transform: BLAS's threads are still awake for the
    second, and a transform between them shared its cores with those spinning threads (the step at
    64x64x16x16 -> 64 went from 29-37 to 23-32 ms, interleaved). Every transform runs on gpugrad.threads'
    pool, those right after a GEMM too since OpenBLAS's threads spin only briefly (gpugrad/_blas_spin.py;
    with its default spin they ran on the calling thread alone: bench/NOTES.md)."""
    need_x, need_w, need_b = needs
    n, c = x.shape[:2]
    tiles = kconv.winograd_tiles(n, gy.shape[2], gy.shape[3])
    threads.gemm_threads(tiles * gy.shape[1] * c)  # each of the 16 GEMMs either way round: tiles x C x C_out
    dm, gb = kconv.winograd_grad_output(xp, gy, split=threads.split,
                                        out=kconv.scratch_take(xp, tiles, gy.shape[1], gy.dtype))
    gx = gw = dv = None
    if need_x:
        dv = kconv.winograd_products_grad_input(xp, kconv.winograd_weight(xp, weight), dm,
                                                out=kconv.scratch_take(xp, tiles, c, dm.dtype))
    if need_w:
        if v is None:
            v = kconv.winograd_input(xp, x, geometry.pads, split=threads.split)
        gw = kconv.winograd_grad_weight(xp, kconv.winograd_products_grad_weight(xp, dm, v))
    kconv.scratch_give(xp, dm)
    if need_x:
        gx = kconv.winograd_grad_input(xp, dv, x.shape, geometry.pads, split=threads.split)
        kconv.scratch_give(xp, dv)
    return gx, gw, gb if need_b else None


def produced_grads(ctx, grads) -> tuple:
    """The incoming gradients, None for the outputs that forward did not produce (the engine may hand
    zeros for them)."""
    return tuple(g if made else None for g, made in zip(grads, ctx.produced))


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, geometry: ConvGeometry, kind: str = "identity",
           param: float = 0.0) -> Tensor:
    """Cross-correlation of x (N, C, H, W) with weight (C_out, C, kh, kw), then the activation ``kind``
    (``"identity"`` for none), one op; inputs already validated (``gpugrad.nn.functional.conv2d`` is the
    public entry)."""
    return Conv2d.apply(x, weight, bias, geometry=geometry, kind=kind, param=param)

