"""torch's top-level aten ops that return more than ``nn.functional``'s form of the same op, or take
aten's argument lists: ``native_layer_norm`` / ``native_batch_norm`` / ``native_group_norm`` (the
output with the saved statistics), ``native_dropout`` (the output and its mask), ``native_norm`` (a
sparse tensor's norm), ``convolution`` (the one entry point behind every ``conv*`` and
``conv_transpose*``), ``embedding_bag`` (the output and its three bookkeeping tensors),
``frobenius_norm`` and ``nuclear_norm``; and ``is_inference``.

The main output of each is the ``nn.functional`` op itself, so it is differentiable as that op is; the
extra outputs are computed beside it, outside the graph, as PyTorch's are (``native_group_norm``'s
statistics are differentiable functions of the input, as PyTorch's)."""
from __future__ import annotations

from collections.abc import Sequence

from . import dtypes, factory
from ._warn_once import warn_once
from .dtypes import FLOAT_KINDS
from .errors import ArgumentError, DTypeError, ShapeError
from .nn import functional as F
from .ops import linalg as _linalg
from .overrides import make_overridable as _make_overridable
from .random import default_generator
from .tensor import Tensor

__all__ = [
    "convolution", "embedding_bag", "frobenius_norm", "is_inference", "native_batch_norm", "native_dropout",
    "native_group_norm", "native_layer_norm", "native_norm", "nuclear_norm",
]


def _wide(x: Tensor) -> Tensor:
    """``x`` in float32 when it is bfloat16 or float16: statistics are computed there and rounded once, as
    PyTorch's CPU kernels compute them."""
    return x.float() if x.dtype in (dtypes.bfloat16, dtypes.float16) else x


def _mean_rstd(x: Tensor, dims: tuple, eps: float) -> tuple[Tensor, Tensor]:
    """The mean and 1 / sqrt(biased variance + eps) of ``x`` over ``dims`` (kept), in x's dtype; recorded
    when x is (the caller detaches x for statistics kept outside the graph)."""
    wide = _wide(x)
    mean = wide.mean(dim=dims, keepdim=True)
    rstd = (wide.var(dim=dims, keepdim=True, correction=0) + eps).rsqrt()
    return mean.to(x.dtype), rstd.to(x.dtype)


def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None, bias: Tensor | None,
                      eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, mean, rstd)``: ``F.layer_norm``'s output (differentiable), and the mean and
    1 / sqrt(var + eps) of each normalised slice, of shape ``input.shape[:-k] + (1,) * k`` in input's
    dtype, outside the graph."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    out = F.layer_norm(input, shape, weight, bias, eps)
    mean, rstd = _mean_rstd(input.detach(), tuple(range(input.ndim - len(shape), input.ndim)), eps)
    return out, mean, rstd


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                      running_var: Tensor | None, training: bool, momentum: float,
                      eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, save_mean, save_invstd)``: ``F.batch_norm``'s output (differentiable; training moves the
    running statistics as it does), and in training the batch mean and 1 / sqrt(biased var + eps) of each
    channel (C,), outside the graph; in evaluation those two are empty (0,) tensors, as PyTorch's."""
    if not training and (running_mean is None or running_var is None):
        raise ValueError("native_batch_norm: running_mean and running_var are needed when training=False")
    if input.ndim < 2:
        raise IndexError(f"native_batch_norm: expected an input of at least 2 dimensions (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    # Statistics first: training updates running_mean / running_var, which may be the input's own memory.
    if training:
        mean, invstd = _mean_rstd(input.detach(), (0,) + tuple(range(2, input.ndim)), eps)
        mean, invstd = mean.reshape(input.shape[1]), invstd.reshape(input.shape[1])
    else:
        mean = invstd = factory.empty(0, dtype=input.dtype, device=input.device)
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    return out, mean, invstd


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int, C: int, HxW: int,
                      group: int, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, mean, rstd)``: input read as (N, C, HxW) (its element count must be N * C * HxW),
    ``F.group_norm``'s output in input's shape (differentiable), and each (sample, group)'s mean and
    1 / sqrt(var + eps), (N, group), differentiable (as PyTorch's)."""
    if input.numel() != N * C * HxW:
        raise ShapeError(f"native_group_norm: expected input.numel() == N * C * HxW = {N} * {C} * {HxW}, got input "
                         f"of shape {tuple(input.shape)}")
    if weight is not None and weight.numel() != C:
        raise ShapeError(f"native_group_norm: expected weight to be a vector of size equal to the number of channels "
                         f"in input, but got weight of shape {tuple(weight.shape)} and input of shape "
                         f"{tuple(input.shape)}")
    if bias is not None and bias.numel() != C:
        raise ShapeError(f"native_group_norm: expected bias to be a vector of size equal to the number of channels "
                         f"in input, but got bias of shape {tuple(bias.shape)} and input of shape {tuple(input.shape)}")
    x3 = input.reshape(N, C, HxW)
    out = F.group_norm(x3, group, weight, bias, eps).reshape(tuple(input.shape))
    mean, rstd = _mean_rstd(x3.reshape(N, group, C // group * HxW), (2,), eps)  # C % group checked by F
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple[Tensor, Tensor]:
    """``(output, mask)``: in training (``train`` True or None) each element is kept with probability
    1 - p (``mask``, bool) and scaled by 1 / (1 - p), differentiably; otherwise a copy of input and an
    all-True mask."""
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"native_dropout: p must be in [0, 1], but got p={p}")
    xp = input._backend.xp
    if train is False:
        return input.clone(), Tensor._make(xp.ones(input._array.shape, dtype=bool), input._backend)
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"native_dropout: expected a floating point input in training, got {input.dtype}")
    if p == 1.0:
        keep = xp.zeros(input._array.shape, dtype=bool)
        return input * 0.0, Tensor._make(keep, input._backend)
    keep = default_generator.keep_mask(input._backend, tuple(input.shape), p)
    kind = input._array.dtype.type
    scale = Tensor._make(keep.astype(kind) * kind(1.0 / (1.0 - p)), input._backend)
    return input * scale, Tensor._make(keep, input._backend)


def native_norm(input: Tensor, p=2, dim: Sequence[int] | None = None, keepdim: bool = False,
                dtype=None) -> Tensor:
    """The ``p``-norm of all the values of a sparse COO tensor (duplicates summed first), as PyTorch's
    ``native_norm``, which exists for sparse tensors only: ``dim`` may be omitted, empty or every dim;
    ``keepdim`` and ``dtype`` are refused, as PyTorch refuses them. Differentiable in the values (PyTorch's
    has no derivative)."""
    if not getattr(input, "is_sparse", False):
        raise NotImplementedError("native_norm: PyTorch runs it on sparse COO tensors only; for a dense tensor "
                                  "use gpugrad.linalg.vector_norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if dims and sorted(d % input.ndim for d in dims) != list(range(input.ndim)):
            raise ArgumentError("native_norm: norm of a sparse tensor supports only full reductions, so 'dim' must "
                                f"either be empty or contain all dimensions of the input, got {list(dims)}")
    if keepdim:
        raise ArgumentError("native_norm: the norm of a sparse tensor does not support keepdim=True")
    if dtype is not None:
        raise ArgumentError("native_norm: the norm of a sparse tensor does not support the 'dtype' argument")
    if input.dtype.np.kind not in FLOAT_KINDS + "c":
        raise DTypeError(f"native_norm: input dtype should be either floating point or complex, got {input.dtype}")
    return _linalg.vector_norm(input.coalesce().values(), 2 if p is None else p)


def _int_list(op: str, name: str, value, k: int) -> tuple[int, ...]:
    """aten's int-list argument: a list or tuple of one value (for every dim) or of ``k``."""
    if isinstance(value, bool) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{op}(): argument '{name}' must be a tuple of ints, not {type(value).__name__}")
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * k
    if len(values) != k:
        raise ArgumentError(f"{op}: expected {name} to be a single integer value or a list of {k} values to match "
                            f"the convolution dimensions, but got {name}={list(values)}")
    return values


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int], transposed: bool, output_padding: Sequence[int], groups: int) -> Tensor:
    """aten's generic convolution: ``conv1d``/``2d``/``3d`` (``transposed=False``; ``output_padding`` is
    not read) or ``conv_transpose1d``/``2d``/``3d``, chosen by weight's dims; batched inputs only, and
    every size argument a list (one value for all dims, or one per dim)."""
    if weight.ndim < 3:
        raise ShapeError(f"convolution: weight should have at least three dimensions, got shape {tuple(weight.shape)}")
    k = weight.ndim - 2
    if k > 3:
        raise NotImplementedError(f"convolution: {k}-d convolutions are not supported (1-d, 2-d and 3-d are)")
    if input.ndim != weight.ndim:
        raise ShapeError(f"convolution: expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional "
                         f"weight {list(weight.shape)}, but got {input.ndim}-dimensional input of size "
                         f"{list(input.shape)} instead")
    stride = _int_list("convolution", "stride", stride, k)
    padding = _int_list("convolution", "padding", padding, k)
    dilation = _int_list("convolution", "dilation", dilation, k)
    output_padding = _int_list("convolution", "output_padding", output_padding, k)
    if any(s <= 0 for s in stride):
        raise ArgumentError(f"convolution: non-positive stride is not supported, got {list(stride)}")
    if any(p < 0 for p in padding):
        raise ArgumentError(f"convolution: negative padding is not supported, got {list(padding)}")
    if any(d <= 0 for d in dilation):
        raise ArgumentError(f"convolution: dilation should be greater than zero, got {list(dilation)}")
    if groups <= 0:
        raise ArgumentError(f"convolution: non-positive groups is not supported, got {groups}")
    if transposed:
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[k - 1]
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    fn = (F.conv1d, F.conv2d, F.conv3d)[k - 1]
    return fn(input, weight, bias, stride, padding, dilation, groups)


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor, scale_grad_by_freq: bool = False, mode: int = 0,
                  sparse: bool = False, per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """aten's ``embedding_bag``: the table first, 1-D ``indices`` cut into bags at ``offsets``, ``mode``
    0 (sum), 1 (mean) or 2 (max). Returns ``(output, offset2bag, bag_size, max_indices)`` as PyTorch's CPU
    kernel does: ``output`` is ``F.embedding_bag``'s (differentiable); ``offset2bag`` the bag of each index
    (empty in sum mode on PyTorch's fast path: float32, float16 or
    bfloat16 rows of unit stride, no ``padding_idx``); ``bag_size`` each bag's count of non-padding indices (in sum
    mode zeros); ``max_indices`` the table row of each bag's maximum per column in max mode (0 for an empty
    bag), ``bag_size`` again in mean mode, zeros in sum mode."""
    if mode not in (0, 1, 2) or isinstance(mode, bool):
        raise ArgumentError(f"embedding_bag: `mode` must be sum (0), mean (1), or max (2), got {mode!r}")
    if not isinstance(offsets, Tensor):
        raise TypeError(f"embedding_bag(): argument 'offsets' must be a Tensor, not {type(offsets).__name__}")
    if indices.ndim != 1:
        raise ShapeError(f"embedding_bag: indices has to be a 1D Tensor (cut into bags at offsets), got shape "
                         f"{tuple(indices.shape)}")
    if offsets.ndim != 1:
        raise ShapeError(f"embedding_bag: offsets has to be a 1D Tensor, but got Tensor of dimension {offsets.ndim}")
    name = _BAG_MODES[mode]
    out = F.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, name, sparse, per_sample_weights,
                          include_last_offset, padding_idx)
    xp, backend = indices._backend.xp, indices._backend
    bags = int(out.shape[0])
    flat = indices._array.astype(xp.int64)
    starts = offsets._array.astype(xp.int64)
    # The bag of each index (past the last offset with include_last_offset: the last bag, PyTorch's CPU
    # bookkeeping, though F.embedding_bag leaves such indices out of every bag).
    bag_of = xp.searchsorted(starts, xp.arange(flat.size), side="right") - 1
    bag_of = xp.minimum(bag_of, max(bags - 1, 0))
    wrap = lambda a: Tensor._make(a, backend)
    zeros = xp.zeros(bags, dtype=xp.int64)
    pad = None if padding_idx is None else padding_idx % weight.shape[0]
    counted = flat != pad if pad is not None else xp.ones(flat.size, dtype=bool)
    if include_last_offset and starts.size:
        counted &= xp.arange(flat.size) < starts[-1]
    if name == "sum":
        # PyTorch's CPU kernel leaves offset2bag empty on its fast path: float32 / float16 / bfloat16 rows
        # of unit stride, no padding_idx.
        fast = weight.dtype in (dtypes.float32, dtypes.float16, dtypes.bfloat16) and (
            weight.shape[1] <= 1 or weight.stride(1) == 1) and pad is None
        offset2bag = xp.zeros(0, dtype=xp.int64) if fast else bag_of
        # Zeros, one per bag; PyTorch's inference-only kernel (no input requiring grad) makes one per offset,
        # include_last_offset's included.
        grads = weight.requires_grad or (per_sample_weights is not None and per_sample_weights.requires_grad)
        unused = xp.zeros(bags if grads else starts.size, dtype=xp.int64)
        return out, wrap(offset2bag), wrap(unused), wrap(unused.copy())
    bag_size = xp.bincount(bag_of[counted], minlength=bags)[:bags].astype(xp.int64) if bags else zeros
    if name == "mean":
        return out, wrap(bag_of), wrap(bag_size), wrap(bag_size.copy())
    return out, wrap(bag_of), wrap(bag_size), wrap(_bag_argmax(xp, weight._array, flat, bag_of, counted, bags))


def _bag_argmax(xp, table, flat, bag_of, counted, bags: int):
    """(bags, dim) int64: per bag and column, the table row of the first largest value among the bag's
    counted indices (0 for a bag with none)."""
    dim = table.shape[1]
    result = xp.zeros((bags, dim), dtype=xp.int64)
    rows, owners = flat[counted], bag_of[counted]
    if rows.size == 0:
        return result
    counts = xp.bincount(owners, minlength=bags)
    longest = int(counts.max())
    # Each bag's rows side by side (in index order: offsets are sorted, so owners never decrease), padded
    # with -inf: the first maximum's slot per column.
    starts = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(counts)[:-1]])
    rank = xp.arange(rows.size) - starts[owners]
    slots = xp.full((bags, longest), -1, dtype=xp.int64)
    slots[owners, rank] = rows
    values = xp.where((slots >= 0)[..., None], table[xp.maximum(slots, 0)].astype(xp.float64), -xp.inf)
    best = xp.argmax(values, axis=1)  # (bags, dim): the slot of each column's maximum
    picked = xp.take_along_axis(slots, best, axis=1) if dim else xp.zeros((bags, 0), dtype=xp.int64)
    return xp.where(picked >= 0, picked, 0)


def frobenius_norm(input: Tensor, dim: Sequence[int] | int, keepdim: bool = False) -> Tensor:
    """The 2-norm of input's elements over ``dim`` (one or two dims; empty: all), as
    ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    warn_once("frobenius_norm", "frobenius_norm is deprecated (as in PyTorch); use "
                                "gpugrad.linalg.vector_norm(A, 2, dim, keepdim)")
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise ArgumentError(f"frobenius_norm: expected at most 2 dimensions, but got {len(dims)} dimensions instead")
    if len({d % input.ndim if input.ndim else d for d in dims}) != len(dims):
        raise ArgumentError(f"frobenius_norm: dim {list(dims)} names a dimension more than once")
    if input._array.dtype.kind not in FLOAT_KINDS + "c":
        raise DTypeError(f"frobenius_norm: input dtype should be either floating point or complex, got {input.dtype}")
    return _linalg.vector_norm(input, 2, dims if dims else None, keepdim)


def nuclear_norm(input: Tensor, dim: Sequence[int] | bool | None = None, keepdim: bool = False) -> Tensor:
    """The sum of the singular values of the matrices over ``dim`` (two dims, default the last two), as
    ``linalg.matrix_norm(input, "nuc", dim, keepdim)``; ``nuclear_norm(input, True)`` is keepdim=True, as
    PyTorch's two overloads read it."""
    warn_once("nuclear_norm", "nuclear_norm is deprecated (as in PyTorch); use "
                              "gpugrad.linalg.matrix_norm(A, 'nuc', dim, keepdim)")
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    dims = (-2, -1) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if len(dims) != 2:
        raise ArgumentError(f"nuclear_norm: dim must be a 2-tuple, got {len(dims)} dimensions")
    return _linalg.matrix_norm(input, "nuc", dims, keepdim)


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` is an inference tensor: one made under ``gg.inference_mode()``, or a view of one (a
    view made there of a tensor made outside is not), as PyTorch's. gpugrad places none of the limits
    PyTorch places on inference tensors (in-place changes outside the mode, saving for backward)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference(): argument 'input' must be Tensor, not {type(input).__name__}")
    root = input._base if input._base is not None else input
    return root._inference


Tensor.is_inference = is_inference  # x.is_inference(), as PyTorch's method


_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
