"""Pooling beyond 2-d max/avg (1-d, 3-d, adaptive, unpooling, power-average), F.interpolate and F.pixel_shuffle.

Re-exported by ``gpugrad.nn.functional`` (the names in ``__all__``).

Every function is a differentiable composition, so derivatives of every order come for free:
- sums over windows or bins are products with constant 0/1 (or 1/count) matrices along one spatial dim
  at a time (every window and adaptive bin is a box, so the sum over it factors by dimension);
- maxima are an argmax over the windows computed on arrays (no gradient needed there), then a ``gather``
  of the input at those positions, which carries the gradient to the chosen element;
- interpolation reads a few neighbours along one dim at a time and mixes them with constant weights
  (2 for linear, 4 for cubic, more when antialiasing shrinks), a few reads per output element. That one
  linear map is an op of its own (``_Resample``) whose backward is the same op with the adjoint's taps.
"""
from __future__ import annotations

import math
import warnings

import numpy as _np

from .. import dtypes as _dtypes
from .. import ops as _ops
from .._caller import user_stacklevel
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError
from ..factory import zeros as _zeros
from ..kernels.conv import ConvGeometry
from ..ops.pool import max_pool2d as _max_pool2d
from ..tensor import Tensor
from .functional import (
    _argmax_over_taps,
    _check_tensor,
    _gather_flat,
    _max_pool_nd,
    _ntuple,
    _pool_geometry,
    avg_pool2d,
    max_pool2d,
)

__all__: list[str] = [
    "channel_shuffle",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool3d",
    "interpolate",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]


_DEVICE_CONSTANTS: dict = {}


def _on_device(backend, array):
    """A NumPy constant (tap indices, weights, window matrices) on ``backend``'s device. On a GPU each is
    copied once and kept, keyed by content: a training step that resizes the same shapes again copies
    nothing from the host, so it stays capturable in a CUDA graph after its first (warm-up) run."""
    if backend.xp is _np:
        return array
    key = (backend.device, array.dtype.str, array.shape, array.tobytes())
    cached = _DEVICE_CONSTANTS.get(key)
    if cached is None:
        if len(_DEVICE_CONSTANTS) >= 1024:
            _DEVICE_CONSTANTS.clear()
        cached = _DEVICE_CONSTANTS[key] = backend.asarray(array)
    return cached


def _const(like: Tensor, array) -> Tensor:
    """A NumPy constant as a Tensor on ``like``'s device, in ``like``'s dtype."""
    return Tensor._make(_on_device(like._backend, _np.ascontiguousarray(array, dtype=like._array.dtype)), like._backend)


def _along(x: Tensor, axis: int, matrix) -> Tensor:
    """x with dim ``axis`` of length n mapped through the constant (m, n) NumPy ``matrix`` (now length m)."""
    moved = x.movedim(axis, -1)
    return (moved @ _const(x, matrix.T)).movedim(-1, axis)


def _require_float(op: str, x: Tensor) -> None:
    if x._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"{op}: expected a floating point input, got {x.dtype}")


# Max and average pooling in 1-d and 3-d --------------------------------------------------------------


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Maximum over each window of a (N, C, L) or (C, L) input; ``return_indices`` gives each maximum's position."""
    _check_tensor("max_pool1d", "input", input)
    kernel, stride, _, dilation, pads, _ = _pool_geometry("max_pool1d", input, kernel_size, stride, padding,
                                                           dilation, ceil_mode, nd=1)
    if input._array.dtype.kind not in FLOAT_KINDS:
        return _max_pool_nd("max_pool1d", input, kernel, stride, padding, dilation, ceil_mode, return_indices, 1)
    # A float input runs the 2-d pooling kernel over a height of one.
    x = input.unsqueeze(-2)
    unbatched = x.ndim == 3
    x = x.unsqueeze(0) if unbatched else x
    out, index = _max_pool2d(x, ConvGeometry((1, kernel[0]), (1, stride[0]), (0, 0) + pads, (1, dilation[0])))
    out, index = out.squeeze(-2), index.squeeze(-2)
    if unbatched:
        out, index = out.squeeze(0), index.squeeze(0)
    return (out, index) if return_indices else out


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Maximum over each window of a (N, C, D, H, W) or (C, D, H, W) input; indices are d * H * W + h * W + w."""
    _check_tensor("max_pool3d", "input", input)
    return _max_pool_nd("max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each window of a (N, C, L) or (C, L) input (zero padding counted unless count_include_pad=False)."""
    _check_tensor("avg_pool1d", "input", input)
    _require_float("avg_pool1d", input)
    kernel, stride, pad, _, _, _ = _pool_geometry("avg_pool1d", input, kernel_size, stride, padding, 1, ceil_mode, nd=1)
    out = avg_pool2d(input.unsqueeze(-2), (1, kernel[0]), (1, stride[0]), (0, pad[0]), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def _window_sums(n: int, o: int, k: int, s: int, p: int):
    """(o, n) matrix of ones where output o's window [o*s - p, o*s - p + k) covers input position i."""
    start = _np.arange(o) * s - p
    i = _np.arange(n)
    return ((i >= start[:, None]) & (i < start[:, None] + k)).astype(_np.float64)


def _window_counts(n: int, o: int, k: int, s: int, p: int, count_include_pad: bool):
    """PyTorch's divisor along one dim: the window clipped to the padded input (cells added by ceil_mode
    never count), and to the input itself when count_include_pad=False."""
    start = _np.arange(o) * s - p
    end = _np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return _np.minimum(end, n) - _np.maximum(start, 0)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over each window of a (N, C, D, H, W) or (C, D, H, W) input."""
    _check_tensor("avg_pool3d", "input", input)
    _require_float("avg_pool3d", input)
    kernel, stride, pad, _, _, out = _pool_geometry("avg_pool3d", input, kernel_size, stride, padding, 1, ceil_mode, nd=3)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("avg_pool3d: divisor must be not zero")
    y = input
    divisor = _np.ones((), dtype=_np.float64)
    for i, (n, o, k, s, p) in enumerate(zip(input.shape[-3:], out, kernel, stride, pad)):
        y = _along(y, input.ndim - 3 + i, _window_sums(n, o, k, s, p))
        divisor = _np.multiply.outer(divisor, _window_counts(n, o, k, s, p, count_include_pad))
    if divisor_override is not None:
        return y / float(divisor_override)
    return y / _const(input, divisor)


# Adaptive pooling ------------------------------------------------------------------------------------


def _adaptive_sizes(op: str, input: Tensor, output_size, nd: int) -> tuple[int, ...]:
    if input.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}: expected {nd + 1}-D or {nd + 2}-D input, got shape {tuple(input.shape)}")
    if input.ndim == nd + 2 and input.shape[1] == 0 or any(n == 0 for n in input.shape[-nd:]):
        raise ShapeError(f"{op}: expected input with non-zero channel and spatial sizes, got shape {tuple(input.shape)}")
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd} ints (or None), got {output_size!r}")
    sizes = tuple(n if o is None else int(o) for o, n in zip(output_size, input.shape[-nd:]))
    if min(sizes) < 0:
        raise ValueError(f"{op}: output_size must be non-negative, got {output_size!r}")
    return sizes


def _bins(n: int, o: int):
    """Start and end of each adaptive bin along one dim: [floor(i n / o), ceil((i + 1) n / o))."""
    i = _np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_avg(op: str, input: Tensor, output_size, nd: int) -> Tensor:
    _check_tensor(op, "input", input)
    _require_float(op, input)
    sizes = _adaptive_sizes(op, input, output_size, nd)
    if all(o == 1 for o in sizes):  # global pooling: one mean over the last nd dims, rows of the reduce kernel
        return input.mean(dim=tuple(range(-nd, 0)), keepdim=True)
    y = input
    for i, (n, o) in enumerate(zip(input.shape[-nd:], sizes)):
        if n == o:
            continue  # every bin is one element
        if o == 1:
            y = y.mean(dim=input.ndim - nd + i, keepdim=True)  # global pooling: a plain mean is cheaper
            continue
        start, end = _bins(n, o)
        j = _np.arange(n)
        weights = ((j >= start[:, None]) & (j < end[:, None])) / (end - start)[:, None]
        y = _along(y, input.ndim - nd + i, weights)
    return y


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Mean over ``output_size`` near-equal bins of a (N, C, L) or (C, L) input."""
    return _adaptive_avg("adaptive_avg_pool1d", input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over near-equal bins of a (N, C, H, W) or (C, H, W) input; None in output_size keeps that size."""
    return _adaptive_avg("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Mean over near-equal bins of a (N, C, D, H, W) or (C, D, H, W) input."""
    return _adaptive_avg("adaptive_avg_pool3d", input, output_size, 3)


def _adaptive_max(op: str, input: Tensor, output_size, return_indices: bool, nd: int):
    _check_tensor(op, "input", input)
    sizes = _adaptive_sizes(op, input, output_size, nd)
    taps, inside = [], []
    for n, o in zip(input.shape[-nd:], sizes):
        start, end = _bins(n, o)
        width = int((end - start).max()) if o else 1
        t = start[:, None] + _np.arange(width)[None, :]
        taps.append(_on_device(input._backend, t))
        inside.append(_on_device(input._backend, t < end[:, None]))
    index = _argmax_over_taps(input, taps, inside)
    values = _gather_flat(input, index, nd)
    return (values, index) if return_indices else values


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over ``output_size`` near-equal bins of a (N, C, L) or (C, L) input."""
    return _adaptive_max("adaptive_max_pool1d", input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over near-equal bins of a (N, C, H, W) or (C, H, W) input; indices are h * W + w."""
    return _adaptive_max("adaptive_max_pool2d", input, output_size, return_indices, 2)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over near-equal bins of a (N, C, D, H, W) or (C, D, H, W) input."""
    return _adaptive_max("adaptive_max_pool3d", input, output_size, return_indices, 3)


# Unpooling -------------------------------------------------------------------------------------------


def _max_unpool(op: str, input: Tensor, indices: Tensor, kernel_size, stride, padding, output_size, nd: int) -> Tensor:
    _check_tensor(op, "input", input)
    _check_tensor(op, "indices", indices)
    if input.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}: expected {nd + 1}-D or {nd + 2}-D input, got shape {tuple(input.shape)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: expected indices of the input's shape {tuple(input.shape)}, got {tuple(indices.shape)}")
    if indices._array.dtype != _np.int64:
        raise DTypeError(f"{op}: expected indices of dtype int64, got {indices.dtype}")
    kernel = _ntuple(op, "kernel_size", kernel_size, nd)
    stride = kernel if stride is None else _ntuple(op, "stride", stride, nd)
    pad = _ntuple(op, "padding", padding, nd)
    default = [(n - 1) * s + k - 2 * p for n, s, k, p in zip(input.shape[-nd:], stride, kernel, pad)]
    if output_size is None:
        size = default
    else:
        size = [int(v) for v in output_size]
        if len(size) == nd + 2 or (len(size) == nd + 1 and input.ndim == nd + 1):
            size = size[-nd:]
        if len(size) != nd:
            raise ValueError(f"{op}: output_size should be a sequence containing {nd} or {nd + 2} elements, "
                             f"but it has a length of '{len(size)}'")
        for d, (v, dflt, s) in enumerate(zip(size, default, stride)):
            if not dflt - s < v < dflt + s:
                raise ValueError(f'{op}: invalid output_size "{tuple(output_size)}" (dim {d} must be between '
                                 f"{dflt - s} and {dflt + s})")
    if min(size) < 0:
        raise ValueError(f"{op}: output_size must be non-negative, got {tuple(size)}")
    total = math.prod(size)
    lead = tuple(input.shape[: input.ndim - nd])
    flat_index = indices.reshape(lead + (-1,))
    if flat_index.numel():
        xp = indices._backend.xp
        low, high = int(xp.min(flat_index._array)), int(xp.max(flat_index._array))
        if low < 0 or high >= total:
            raise ArgumentError(f"{op}: found an invalid max index {high if high >= total else low} "
                                f"(output volumes are of size {'x'.join(map(str, size))})")
    zeros = _zeros(lead + (total,), dtype=input.dtype, device=input.device)
    return zeros.scatter(-1, flat_index, input.reshape(lead + (-1,))).reshape(lead + tuple(size))


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of max_pool1d: zeros with each input value written at its index."""
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of max_pool2d: zeros with each input value written at its flat index h * W + w."""
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of max_pool3d: zeros with each input value written at its flat index."""
    return _max_unpool("max_unpool3d", input, indices, kernel_size, stride, padding, output_size, 3)


# Power-average pooling -------------------------------------------------------------------------------


def _lp_pool(op: str, input: Tensor, norm_type, kernel_size, stride, ceil_mode: bool, nd: int) -> Tensor:
    _check_tensor(op, "input", input)
    _require_float(op, input)
    max_pool = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}[nd]
    avg_pool = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[nd]
    if norm_type == float("inf"):
        return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kernel = _ntuple(op, "kernel_size", kernel_size, nd)
    mean = avg_pool(input.pow(norm_type), kernel, stride, 0, ceil_mode)
    # sum = mean * window; sign * relu(abs) keeps a negative sum (odd p) from giving NaN gradients, as PyTorch.
    total = (_ops.sign(mean) * _ops.relu(mean.abs())) * float(math.prod(kernel))
    return total.pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x^p)^(1/p) of a (N, C, L) or (C, L) input; p = inf is max pooling of |x|."""
    return _lp_pool("lp_pool1d", input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x^p)^(1/p) of a (N, C, H, W) or (C, H, W) input."""
    return _lp_pool("lp_pool2d", input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x^p)^(1/p) of a (N, C, D, H, W) or (C, D, H, W) input."""
    return _lp_pool("lp_pool3d", input, norm_type, kernel_size, stride, ceil_mode, 3)


# Interpolation ---------------------------------------------------------------------------------------

_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}
_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"


def _opmath(dtype):
    """The precision PyTorch computes source coordinates in: float64 for float64 inputs, else float32."""
    return _np.float64 if dtype == _np.float64 else _np.float32


def _nearest_index(n_in: int, n_out: int, scale, exact: bool, shortcuts: bool):
    """Source index of each output position, with PyTorch's float32 arithmetic (so ties round alike).

    ``shortcuts``: PyTorch's 2-d nearest kernel copies a dim whose size is unchanged and halves indices
    for a doubled one whatever the scale_factor; its 1-d and 3-d kernels apply the scale as given."""
    dst = _np.arange(n_out)
    if shortcuts and n_out == n_in:
        return dst
    if shortcuts and n_out == 2 * n_in:
        return dst // 2
    if scale is not None and scale > 0:
        ratio = _np.float32(1.0 / scale)
    else:
        ratio = _np.float32(n_in) / _np.float32(n_out)
    if exact:
        src = _np.floor(((dst + 0.5) * _np.float64(ratio)).astype(_np.float32))
    else:
        src = _np.floor(dst.astype(_np.float32) * ratio)
    return _np.minimum(src.astype(_np.int64), n_in - 1)


def _source_coords(n_in: int, n_out: int, scale, align_corners: bool, cubic: bool, opmath):
    """Fractional source coordinate of each output position (PyTorch's area_pixel_compute_source_index)."""
    dst = _np.arange(n_out).astype(opmath)
    if align_corners:
        ratio = opmath((n_in - 1) / (n_out - 1)) if n_out > 1 else opmath(0)
        return ratio * dst
    if scale is not None and scale > 0:
        ratio = opmath(1.0 / scale)
    else:
        ratio = opmath(n_in) / opmath(n_out)
    src = ratio * (dst + opmath(0.5)) - opmath(0.5)
    return src if cubic else _np.maximum(src, opmath(0))


def _linear_taps(n_in: int, n_out: int, scale, align_corners: bool, opmath):
    src = _source_coords(n_in, n_out, scale, align_corners, False, opmath)
    i0 = src.astype(_np.int64)
    i1 = i0 + (i0 < n_in - 1)
    w1 = _np.clip(src - i0, 0, 1).astype(opmath)
    return [(i0, opmath(1) - w1), (i1, w1)]


def _cubic_taps(n_in: int, n_out: int, scale, align_corners: bool, opmath):
    """Four neighbours and Keys' cubic convolution weights (a = -0.75), indices clamped to the input."""
    src = _source_coords(n_in, n_out, scale, align_corners, True, opmath)
    floor = _np.floor(src)
    t = (src - floor).astype(opmath)
    base = floor.astype(_np.int64)
    a = opmath(-0.75)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    return [(_np.clip(base - 1 + j, 0, n_in - 1), w.astype(opmath)) for j, w in enumerate(weights)]


def _antialias_taps(n_in: int, n_out: int, scale, align_corners: bool, mode: str, opmath):
    """PyTorch's antialiased taps (PIL's resampling): when shrinking, the filter (triangle for bilinear, Keys
    a = -0.5 cubic for bicubic, 3-lobe Lanczos) is stretched by the ratio so every input pixel contributes;
    the weights are normalised to 1."""
    if align_corners:
        ratio = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    elif scale is not None and scale > 0:
        ratio = 1.0 / scale
    else:
        ratio = n_in / n_out
    ratio = float(opmath(ratio))
    half_width = {"bilinear": 1.0, "bicubic": 2.0, "lanczos": 3.0}[mode]
    support = half_width * ratio if ratio >= 1 else half_width
    stretch = 1.0 / ratio if ratio >= 1 else 1.0
    center = ratio * (_np.arange(n_out) + 0.5)
    first = _np.maximum((center - support + 0.5).astype(_np.int64), 0)
    stop = _np.minimum((center + support + 0.5).astype(_np.int64), n_in)
    width = max(int((stop - first).max()), 1)
    index = first[None, :] + _np.arange(width)[:, None]  # (width, n_out)
    x = _np.abs((index - center[None, :] + 0.5) * stretch)
    if mode == "lanczos":
        weight = _np.where(x < half_width, _np.sinc(x) * _np.sinc(x / half_width), 0.0)
    elif mode == "bicubic":
        a = -0.5
        weight = _np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                           _np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))
    else:
        weight = _np.maximum(0.0, 1.0 - x)
    weight = _np.where(index < stop[None, :], weight, 0.0)
    total = weight.sum(axis=0)
    weight = weight / _np.where(total == 0, 1.0, total)
    index = _np.minimum(index, n_in - 1)
    return [(index[t], weight[t].astype(opmath)) for t in range(width)]


def _reverse_taps(taps, n_in: int):
    """The adjoint's taps: for each input position, the outputs that read it and with what weight, padded
    with weight-0 reads of output 0 to a common count (every input then has the same number of taps)."""
    n_out = len(taps[0][0])
    sources = _np.concatenate([index for index, _ in taps])
    weights = _np.concatenate([_np.ones(n_out) if w is None else w.astype(_np.float64) for _, w in taps])
    outputs = _np.tile(_np.arange(n_out), len(taps))
    keep = weights != 0
    sources, weights, outputs = sources[keep], weights[keep], outputs[keep]
    order = _np.argsort(sources, kind="stable")
    sources, weights, outputs = sources[order], weights[order], outputs[order]
    counts = _np.bincount(sources, minlength=n_in)
    width = max(int(counts.max()) if counts.size else 0, 1)
    rank = _np.arange(len(sources)) - _np.repeat(_np.cumsum(counts) - counts, counts)
    index = _np.zeros((width, n_in), _np.int64)
    weight = _np.zeros((width, n_in), _np.float64)
    index[rank, sources] = outputs
    weight[rank, sources] = weights
    return [(index[t], weight[t]) for t in range(width)]


class _Resample(Op):
    """y = sum_t w_t * x[..., i_t, ...] along one axis: a constant linear map given by a few taps per output.

    Composing index_select would be as correct, but its backward adds into the input with scattered writes
    (np.add.at), several times slower than PyTorch. The adjoint of this map is a map of the same form whose
    taps are read off once (``_reverse_taps``), so the backward is this op again with those taps: fast, and
    its own backward is the original map, so every order of derivative works.
    """

    name = "interpolate"

    @staticmethod
    def forward(ctx, x, axis=0, taps=(), reverse=None, n_in=0):
        xp = ctx.xp
        ctx.args = (axis, taps, reverse, x.shape[axis])
        shape = [1] * x.ndim
        out = None
        for index, weight in taps:
            picked = xp.take(x, _on_device(ctx.backend, index), axis=axis)
            if weight is not None:
                shape[axis] = len(index)
                picked *= _on_device(ctx.backend, weight.astype(x.dtype).reshape(shape))
            if out is None:
                out = picked
            else:
                out += picked
        return out

    @staticmethod
    def backward(ctx, gy):
        axis, taps, reverse, n_in = ctx.args
        if reverse is None:
            reverse = _reverse_taps(taps, n_in)
        return _Resample.apply(gy, axis=axis, taps=reverse, reverse=taps, n_in=len(taps[0][0]))


def _mix(x: Tensor, axis: int, taps) -> Tensor:
    """sum_j w_j * x[..., i_j, ...] along ``axis`` (weights None: a plain read), differentiable at every order."""
    return _Resample.apply(x, axis=axis, taps=tuple(taps), reverse=None, n_in=x.shape[axis])


def _output_geometry(input: Tensor, size, scale_factor, mode: str, recompute_scale_factor):
    """(output sizes, scales passed on to the coordinate maps or None per dim), as PyTorch's interpolate."""
    dim = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)) or hasattr(size, "__len__"):
            size = list(size)
            if len(size) != dim:
                raise ValueError(
                    f"interpolate: Input and output must have the same number of spatial dimensions, but got input "
                    f"with spatial dimensions of {spatial} and output size of {size}. Please provide input tensor "
                    f"in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
                )
            if not all(isinstance(v, (int, _np.integer)) and not isinstance(v, bool) for v in size):
                raise TypeError(f"interpolate: expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(v) for v in size]}")
            out = [int(v) for v in size]
        else:
            out = [int(size)] * dim
        scales = [None] * dim
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size.")
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    f"interpolate: Input and scale_factor must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and scale_factor of shape {list(scale_factor)}. "
                    f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                    f"(s1, s2, ...,sK) format."
                )
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out = [math.floor(n * s) for n, s in zip(spatial, scales)]
        if recompute_scale_factor or mode == "area":
            scales = [None] * dim  # the maps use in/out of the integer sizes instead
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if min(out) <= 0:
        raise ShapeError(f"interpolate: input of spatial size {spatial} gives output size {out}; every output size "
                         f"must be positive")
    return out, scales


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of a (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size`` or by
    ``scale_factor``, with PyTorch's modes: nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area,
    and lanczos (with antialias=True).

    Coordinates follow PyTorch exactly: ``align_corners=True`` maps the corner pixels' centres onto each
    other; otherwise a given ``scale_factor`` (unless ``recompute_scale_factor=True``) sets the ratio, not
    in/out. ``antialias=True`` (bilinear, bicubic, lanczos) widens the filter when shrinking, as PyTorch's (and
    PIL's). Differentiable at every order in the input (every mode is a constant linear map of it).
    """
    _check_tensor("interpolate", "input", input)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif mode in _MODE_RANK:
        align_corners = bool(align_corners) if align_corners is not None else False
    else:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}; expected one of {_MODES}")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {input.ndim}D) for the modes: {_MODES} (got {mode})")
    if mode in _MODE_RANK and input.ndim != _MODE_RANK[mode]:
        raise NotImplementedError(f"interpolate: Got {input.ndim}D input, but {mode} mode needs "
                                  f"{_MODE_RANK[mode]}D input")
    if mode == "lanczos" and align_corners:
        raise ValueError("interpolate: Lanczos mode does not support align_corners=True")
    if mode == "lanczos" and not antialias:
        raise ValueError("interpolate: Lanczos mode requires antialias=True")
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("interpolate: Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    out, scales = _output_geometry(input, size, scale_factor, mode, recompute_scale_factor)
    if mode == "area":
        return _adaptive_avg("interpolate", input, tuple(out), input.ndim - 2)
    if input.dtype is _dtypes.uint8 and mode in ("bilinear", "bicubic"):
        return _uint8_resize(input, tuple(out), mode, align_corners, antialias)
    if mode not in ("nearest", "nearest-exact"):
        _require_float(f"interpolate (mode {mode!r})", input)
    opmath = _opmath(input._array.dtype)
    y = input
    for i, (n_in, n_out, scale) in enumerate(zip(input.shape[2:], out, scales)):
        axis = 2 + i
        if mode in ("nearest", "nearest-exact"):
            exact = mode == "nearest-exact"
            index = _nearest_index(n_in, n_out, scale, exact, shortcuts=not exact and input.ndim == 4)
            if n_out == n_in and (index == _np.arange(n_in)).all():
                continue  # an identity map: skip the copy
            y = _mix(y, axis, [(index, None)])
        elif antialias:
            if n_out == n_in:
                continue  # PyTorch copies a dim whose size does not change
            y = _mix(y, axis, _antialias_taps(n_in, n_out, scale, align_corners, mode, opmath))
        elif mode == "bicubic":
            y = _mix(y, axis, _cubic_taps(n_in, n_out, scale, align_corners, opmath))
        else:
            if n_out == n_in and not align_corners:
                continue  # PyTorch copies a dim whose size does not change
            y = _mix(y, axis, _linear_taps(n_in, n_out, scale, align_corners, opmath))
    return y


def _uint8_resize(input: Tensor, out: tuple, mode: str, align_corners: bool, antialias: bool) -> Tensor:
    """PyTorch resizes images stored as uint8 too (torchvision's resize does), as Pillow: the width first,
    then the height, each pass in float32 rounded back to uint8."""
    y = input
    for size in ((input.shape[2], out[1]), out):
        y = interpolate(y.float(), size, None, mode, align_corners, False, antialias)
        y = y.round_().clamp_(0, 255).to(_dtypes.uint8)
    return y


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """Deprecated spelling of :func:`interpolate` (warns, as PyTorch does)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=user_stacklevel())
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="nearest")``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=user_stacklevel())
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=user_stacklevel())
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# Pixel shuffle ---------------------------------------------------------------------------------------


def _check_factor(op: str, name: str, factor) -> int:
    if not isinstance(factor, (int, _np.integer)) or isinstance(factor, bool) or factor <= 0:
        raise ValueError(f"{op}: {name} must be a positive integer, but got {factor!r}")
    return int(factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block of pixels."""
    _check_tensor("pixel_shuffle", "input", input)
    r = _check_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise ShapeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                         f"{input.ndim} dimension(s)")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                         f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    b = len(batch)
    x = input.reshape(tuple(batch) + (c // (r * r), r, r, h, w))
    x = x.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, r, W, r)
    return x.reshape(tuple(batch) + (c // (r * r), h * r, w * r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with C = g k: channel g' k + k' moves to k' g + g' (ShuffleNet's interleaving of groups)."""
    _check_tensor("channel_shuffle", "input", input)
    if input.ndim < 3:
        raise ShapeError(f"channel_shuffle: expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    groups = int(groups)
    c = input.shape[1]
    if groups <= 0 or c % groups:
        raise ShapeError(f"channel_shuffle: number of channels ({c}) must be divisible by groups ({groups})")
    n, rest = input.shape[0], tuple(input.shape[2:])
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape((n, c) + rest)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of pixel_shuffle."""
    _check_tensor("pixel_unshuffle", "input", input)
    r = _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise ShapeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                         f"{input.ndim} dimension(s)")
    *batch, c, h, w = input.shape
    if h % r:
        raise ShapeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                         f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise ShapeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                         f"input.size(-1)={w} is not divisible by {r}")
    b = len(batch)
    x = input.reshape(tuple(batch) + (c, h // r, r, w // r, r))
    x = x.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, r, r, H/r, W/r)
    return x.reshape(tuple(batch) + (c * r * r, h // r, w // r))
