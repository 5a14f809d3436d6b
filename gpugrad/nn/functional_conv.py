"""F.conv_transpose1d/2d/3d, F.conv3d, F.unfold and F.fold.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``).

All of them are composed from differentiable ops: im2col (``Im2Col``) and its adjoint col2im (``Col2Im``)
from ``gpugrad.ops.conv``, matrix products and reshapes. A transposed convolution is the adjoint of a
convolution, so it is col2im of W^T @ x; each piece differentiates again, so second derivatives come free.
"""
from __future__ import annotations

import numpy as _np

from ..amp.policy import LOWER_PRECISION, autocast_policy
from ..dtypes import FLOAT_KINDS
from ..autograd.watch import state as _watch
from . import _expanded_weights as _ew
from ..errors import ArgumentError, DTypeError, ShapeError
from ..kernels.conv import output_size as _conv_output_size
from ..ops import conv as _conv
from ..ops.pad import pad_constant as _pad_constant
from ..ops.shape import stack as _stack
from ..tensor import Tensor
from .functional import _check_tensor, conv2d

__all__: list[str] = ["conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "fold", "unfold"]


def _is_int(v) -> bool:
    return isinstance(v, (int, _np.integer)) and not isinstance(v, (bool, _np.bool_))


def _ntuple(op: str, name: str, value, n: int) -> tuple[int, ...]:
    """An int or a sequence of n ints, as an n-tuple of Python ints (PyTorch accepts both)."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise TypeError(f"{op}: {name} must be an int or a sequence of {n} ints, not {type(value).__name__} ({value!r})")
    value = tuple(value)
    if len(value) != n or not all(_is_int(v) for v in value):
        raise ValueError(f"{op}: {name} must be an int or a sequence of {n} ints, got {value!r}")
    return tuple(int(v) for v in value)


def _check_float_pair(op: str, input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype}")
    if weight._array.dtype != input._array.dtype:
        raise DTypeError(f"{op}: input ({input.dtype}) and weight ({weight.dtype}) must have the same dtype")
    if bias is not None and bias._array.dtype != input._array.dtype:
        raise DTypeError(f"{op}: bias ({bias.dtype}) must have the input's dtype ({input.dtype})")


def _batched(op: str, input: Tensor, spatial: int) -> tuple[Tensor, bool]:
    """input with a batch dim (added when it was unbatched), and whether one was added."""
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    if input.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input, "
                         f"got shape {tuple(input.shape)}")
    return input, False


# Transposed convolution ----------------------------------------------------------------------------


def _transposed_args(op: str, input: Tensor, weight: Tensor, bias, stride, padding, output_padding, groups, dilation, spatial: int):
    """Validate a transposed convolution's arguments; returns the batched input, the unbatched flag, the
    per-dim stride, padding, output_padding and dilation, and the output's spatial size."""
    _check_tensor(op, "input", input)
    _check_tensor(op, "weight", weight)
    x, unbatched = _batched(op, input, spatial)
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}-D weight (C_in, C_out/groups, *kernel_size), "
                         f"got shape {tuple(weight.shape)}")
    _check_float_pair(op, input, weight, bias)
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    c_in = weight.shape[0]
    if c_in % groups:
        raise ValueError(f"{op}: groups={groups} must divide the weight's first dim (C_in), got weight of shape "
                         f"{tuple(weight.shape)}")
    if x.shape[1] != c_in:
        raise ShapeError(f"{op}: weight of shape {tuple(weight.shape)} expects input with {c_in} channels, but got "
                         f"input of shape {tuple(input.shape)} ({x.shape[1]} channels)")
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ShapeError(f"{op}: bias must have shape ({c_out},) (weight {tuple(weight.shape)}, groups={groups}), "
                         f"got {tuple(bias.shape)}")
    stride = _ntuple(op, "stride", stride, spatial)
    padding = _ntuple(op, "padding", padding, spatial)
    output_padding = _ntuple(op, "output_padding", output_padding, spatial)
    dilation = _ntuple(op, "dilation", dilation, spatial)
    if min(stride) < 1 or min(dilation) < 1:
        raise ArgumentError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    if min(padding) < 0 or min(output_padding) < 0:
        raise ArgumentError(f"{op}: negative padding {padding} or output_padding {output_padding} is not supported")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ArgumentError(f"{op}: output padding must be smaller than either stride or dilation, got "
                                f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    kernel = tuple(weight.shape[2:])
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1
                 for n, s, p, d, k, o in zip(x.shape[2:], stride, padding, dilation, kernel, output_padding))
    if min(size) < 1:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} with kernel {kernel}, stride {stride}, padding "
                         f"{padding}, dilation {dilation} and output_padding {output_padding} gives an output of "
                         f"size {size}, which is too small")
    return x, unbatched, stride, padding, output_padding, dilation, size


def _conv_transpose2d(x: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int, size) -> Tensor:
    """The transposed convolution of a validated (N, C_in, H, W) input to spatial ``size``: col2im of W^T @ x."""
    n, c_in = x.shape[:2]
    c_out_g, kh, kw = weight.shape[1:]
    c_out = c_out_g * groups
    # The convolution this one is the adjoint of, read over the output, has at least H x W positions; more
    # only when output_padding >= stride (allowed if below dilation): those extra positions see zeros.
    conv = [_conv_output_size(o, k, s, 2 * p, d) for o, k, s, p, d in zip(size, (kh, kw), stride, padding, dilation)]
    extra = (conv[0] - x.shape[2], conv[1] - x.shape[3])
    if extra[0] or extra[1]:
        x = _pad_constant(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    positions = n * conv[0] * conv[1]
    xm = x.permute(1, 0, 2, 3).reshape(c_in, positions)  # rows: channels, columns: (n, y, x) as im2col's
    if groups == 1:
        cols = weight.reshape(c_in, c_out * kh * kw).mT @ xm
    else:
        wg = weight.reshape(groups, c_in // groups, c_out_g * kh * kw)
        cols = (wg.mT @ xm.reshape(groups, c_in // groups, positions)).reshape(c_out * kh * kw, positions)
    pads = (padding[0], padding[0], padding[1], padding[1])
    y = _conv.col2im(cols, (n, c_out, *size), _conv.ConvGeometry((kh, kw), stride, pads, dilation))
    if bias is not None:
        y = y + bias.reshape(1, c_out, 1, 1)
    return y


@autocast_policy(LOWER_PRECISION)
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution") of input (N, C_in, H, W) with weight
    (C_in, C_out / groups, kh, kw): the gradient of conv2d with respect to its input. The output is
    (N, C_out, (H-1)*stride - 2*padding + dilation*(kh-1) + output_padding + 1, ... likewise for W)::

        y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)   # doubles H and W
    """
    op = "conv_transpose2d"
    x, unbatched, stride, padding, _, dilation, size = _transposed_args(
        op, input, weight, bias, stride, padding, output_padding, groups, dilation, 2)
    y = _conv_transpose2d(x, weight, bias, stride, padding, dilation, groups, size)
    return y.squeeze(0) if unbatched else y


@autocast_policy(LOWER_PRECISION)
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of input (N, C_in, L) with weight (C_in, C_out / groups, k): the 2-D one
    over a height of one. Output length (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1."""
    op = "conv_transpose1d"
    x, unbatched, stride, padding, _, dilation, size = _transposed_args(
        op, input, weight, bias, stride, padding, output_padding, groups, dilation, 1)
    y = _conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, *stride), (0, *padding), (1, *dilation),
                          groups, (1, *size)).squeeze(2)
    return y.squeeze(0) if unbatched else y



@autocast_policy(LOWER_PRECISION)
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution of input (N, C_in, D, H, W) with weight (C_in, C_out / groups, kd, kh, kw),
    the gradient of conv3d with respect to its input; each output dim as conv_transpose2d's.

    Composed as a 2-D transposed convolution of every depth slice that makes all kd depth taps at once,
    then a col2im along depth that adds each tap into the output slice it lands on."""
    op = "conv_transpose3d"
    x, unbatched, stride, padding, _, dilation, size = _transposed_args(
        op, input, weight, bias, stride, padding, output_padding, groups, dilation, 3)
    n, c_in, depth = x.shape[:3]
    c_out_g, kd, kh, kw = weight.shape[1:]
    c_out = c_out_g * groups
    # As in 2-D: output_padding >= stride (below dilation) leaves extra depth positions that read zeros.
    conv_depth = _conv_output_size(size[0], kd, stride[0], 2 * padding[0], dilation[0])
    if conv_depth > depth:
        x = _pad_constant(x, ((0, 0), (0, 0), (0, conv_depth - depth), (0, 0), (0, 0)))
        depth = conv_depth
    planes = x.permute(0, 2, 1, 3, 4).reshape(n * depth, c_in, *x.shape[3:])
    # weight as (C_in, C_out/groups * kd, kh, kw): output channel (c, i) is channel c's depth tap i
    taps = _conv_transpose2d(planes, weight.reshape(c_in, c_out_g * kd, kh, kw), None, stride[1:], padding[1:],
                             dilation[1:], groups, size[1:])  # (N*D, C_out*kd, Ho, Wo)
    ho, wo = size[1:]
    cols = taps.reshape(n, depth, c_out, kd, ho, wo).permute(2, 4, 5, 3, 0, 1).reshape(c_out * ho * wo * kd, n * depth)
    depth_taps = _conv.ConvGeometry((kd, 1), (stride[0], 1), (padding[0], padding[0], 0, 0), (dilation[0], 1))
    y = _conv.col2im(cols, (n, c_out * ho * wo, size[0], 1), depth_taps)
    y = y.reshape(n, c_out, ho, wo, size[0]).permute(0, 1, 4, 2, 3).contiguous()  # row-major, as PyTorch's result
    if bias is not None:
        y = y + bias.reshape(1, c_out, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


# 3-D convolution -----------------------------------------------------------------------------------


def _padding_nd(op: str, padding, kernel, dilation, stride) -> list[tuple[int, int]]:
    """(before, after) per spatial dim for an int, a sequence, 'valid' or 'same' (odd totals put the extra
    one after, as PyTorch)."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
    padding = _ntuple(op, "padding", padding, n)
    if min(padding) < 0:
        raise ArgumentError(f"{op}: negative padding is not supported, got {padding}")
    return [(p, p) for p in padding]


@autocast_policy(LOWER_PRECISION)
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation of input (N, C_in, D, H, W) with weight (C_out, C_in / groups, kd, kh, kw);
    ``padding`` is an int, a triple, ``"valid"`` or ``"same"``.

    Composed as one conv2d: the kd depth slices each output depth reads are stacked as extra input
    channels (channel c, tap i), and the weight is read as (C_out, C_in/groups * kd, kh, kw) likewise."""
    if _watch.expanded and _ew._ew_of(weight, bias) is not None:  # inside call_for_per_sample_grads (_expanded_weights.py)
        return _ew.conv(conv3d, input, weight, bias, stride, padding, dilation, groups)
    op = "conv3d"
    _check_tensor(op, "input", input)
    _check_tensor(op, "weight", weight)
    x, unbatched = _batched(op, input, 3)
    if weight.ndim != 5:
        raise ShapeError(f"{op}: expected a 5-D weight (C_out, C_in/groups, kd, kh, kw), got shape {tuple(weight.shape)}")
    _check_float_pair(op, input, weight, bias)
    n, c = x.shape[:2]
    c_out, c_in_g, kd, kh, kw = weight.shape
    if not isinstance(groups, int) or groups < 1 or c_out % groups:
        raise ValueError(f"{op}: groups={groups!r} must be a positive integer dividing out_channels ({c_out})")
    if c_in_g * groups != c:
        raise ShapeError(f"{op}: input of shape {tuple(input.shape)} has {c} channels, but weight of shape "
                         f"{tuple(weight.shape)} with groups={groups} expects {c_in_g * groups}")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ShapeError(f"{op}: bias must have shape ({c_out},), got {tuple(bias.shape)}")
    stride = _ntuple(op, "stride", stride, 3)
    dilation = _ntuple(op, "dilation", dilation, 3)
    if min(stride) < 1 or min(dilation) < 1:
        raise ArgumentError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    pads = _padding_nd(op, padding, (kd, kh, kw), dilation, stride)
    padded = tuple(size + lo + hi for size, (lo, hi) in zip(x.shape[2:], pads))
    out = tuple(_conv_output_size(size, k, s, 0, d) for size, k, s, d in zip(padded, (kd, kh, kw), stride, dilation))
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {(kd, kh, kw)} with dilation {dilation} is larger than the padded input {padded}")
    x = _pad_constant(x, ((0, 0), (0, 0), *pads))
    step, reach = stride[0], stride[0] * (out[0] - 1) + 1
    taps = [x[:, :, i * dilation[0]: i * dilation[0] + reach: step] for i in range(kd)]  # each (N, C, oD, H, W)
    planes = _stack(taps, 3).permute(0, 2, 1, 3, 4, 5).reshape(n * out[0], c * kd, *padded[1:])
    y = conv2d(planes, weight.reshape(c_out, c_in_g * kd, kh, kw), None, stride[1:], 0, dilation[1:], groups)
    y = y.reshape(n, out[0], c_out, *out[1:]).permute(0, 2, 1, 3, 4).contiguous()  # row-major, as PyTorch's result
    if bias is not None:
        y = y + bias.reshape(1, c_out, 1, 1, 1)
    return y.squeeze(0) if unbatched else y

# Sliding blocks ------------------------------------------------------------------------------------


def _block_args(op: str, kernel_size, dilation, padding, stride) -> tuple:
    """kernel, dilation, padding, stride as pairs, checked as PyTorch's im2col/col2im do."""
    kernel = _ntuple(op, "kernel_size", kernel_size, 2)
    dilation = _ntuple(op, "dilation", dilation, 2)
    padding = _ntuple(op, "padding", padding, 2)
    stride = _ntuple(op, "stride", stride, 2)
    if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1:
        raise ArgumentError(f"{op}: kernel_size {kernel}, dilation {dilation} and stride {stride} must be positive")
    if min(padding) < 0:
        raise ArgumentError(f"{op}: padding should be non-negative, got {padding}")
    return kernel, dilation, padding, stride


def _blocks(op: str, spatial, kernel, dilation, padding, stride) -> tuple[int, int]:
    """The number of sliding blocks along H and W of a ``spatial`` (H, W) plane."""
    blocks = tuple(_conv_output_size(n, k, s, 2 * p, d) for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))
    if min(blocks) < 1:
        raise ShapeError(f"{op}: input with spatial size {tuple(spatial)}, kernel_size={kernel}, dilation={dilation}, "
                         f"padding={padding} gives {blocks} sliding blocks, but each count must be at least one")
    return blocks


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks (im2col): input (N, C, H, W) -> (N, C*kh*kw, L), L the number of blocks; each
    column holds one block, channel-major then kernel row and column. (C, H, W) gives (C*kh*kw, L)."""
    op = "unfold"
    _check_tensor(op, "input", input)
    x, unbatched = _batched(op, input, 2)
    if x._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype}")
    kernel, dilation, padding, stride = _block_args(op, kernel_size, dilation, padding, stride)
    oh, ow = _blocks(op, x.shape[2:], kernel, dilation, padding, stride)
    n, c = x.shape[:2]
    pads = (padding[0], padding[0], padding[1], padding[1])
    cols = _conv.im2col(x, _conv.ConvGeometry(kernel, stride, pads, dilation))  # (C*kh*kw, N*L)
    out = cols.reshape(c * kernel[0] * kernel[1], n, oh * ow).permute(1, 0, 2)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """The adjoint of unfold (col2im): blocks (N, C*kh*kw, L) summed into (N, C, *output_size), overlapping
    entries added; (C*kh*kw, L) gives (C, *output_size)."""
    op = "fold"
    _check_tensor(op, "input", input)
    if input.ndim == 2:
        x, unbatched = input.unsqueeze(0), True
    elif input.ndim == 3:
        x, unbatched = input, False
    else:
        raise ShapeError(f"{op}: expected 2-D (unbatched) or 3-D (batched) input, got shape {tuple(input.shape)}")
    if x._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point input, got {input.dtype}")
    size = _ntuple(op, "output_size", output_size, 2)
    kernel, dilation, padding, stride = _block_args(op, kernel_size, dilation, padding, stride)
    n, rows, length = x.shape
    taps = kernel[0] * kernel[1]
    if rows % taps:
        raise ShapeError(f"{op}: expected the size of the input's dim {0 if unbatched else 1} ({rows}) to be divisible "
                         f"by the product of kernel_size {kernel} ({taps})")
    oh, ow = _blocks(op, size, kernel, dilation, padding, stride)
    if length != oh * ow:
        raise ShapeError(f"{op}: output_size={size}, kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                         f"stride={stride} give {oh} * {ow} = {oh * ow} sliding blocks, but the input of shape "
                         f"{tuple(input.shape)} has {length}")
    cols = x.permute(1, 0, 2).reshape(rows, n * length)
    pads = (padding[0], padding[0], padding[1], padding[1])
    out = _conv.col2im(cols, (n, rows // taps, *size), _conv.ConvGeometry(kernel, stride, pads, dilation))
    return out.squeeze(0) if unbatched else out
