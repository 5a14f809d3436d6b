"""torch's top-level names that repeat an ``nn.functional`` op or a Tensor method, in aten's argument
order (``torch.embedding(weight, indices)``, ``torch.dropout(input, p, train)``, losses taking aten's
integer reduction codes), and torch's small top-level helpers (``asarray``, ``scalar_tensor``, ``seed``,
``can_cast`` ...). Each forwards to the one implementation of the op; none computes anything itself."""
from __future__ import annotations

import builtins
import functools
import math
import warnings

import numpy as np

from . import dtypes, factory, random
from ._caller import user_stacklevel
from . import _warn_once
from ._warn_once import warn_once
from .dtypes import FLOAT_KINDS
from .errors import ArgumentError, DTypeError
from .nn import functional as F
from .ops._operands import castable
from .overrides import make_overridable as _make_overridable
from .storage import UntypedStorage
from .tensor import Tensor

# aten's reduction codes 0, 1, 2. Called as torch.X, these losses default to 0 ("none"): what torch 2.13
# does, whatever its schema says.
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, code) -> str:
    if isinstance(code, str):
        return code
    if code not in (0, 1, 2):
        raise ArgumentError(f"{op}: reduction must be 0 (none), 1 (mean) or 2 (sum), got {code!r}")
    return _REDUCTIONS[code]


# --- nn.functional's ops under torch's names, where the arguments already agree ---
conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d
avg_pool1d, adaptive_avg_pool1d = F.avg_pool1d, F.adaptive_avg_pool1d
bilinear, rms_norm, cosine_similarity, pairwise_distance = F.bilinear, F.rms_norm, F.cosine_similarity, F.pairwise_distance
pixel_shuffle, pixel_unshuffle, channel_shuffle = F.pixel_shuffle, F.pixel_unshuffle, F.channel_shuffle
native_channel_shuffle = F.channel_shuffle


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False) -> Tensor:
    return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False) -> Tensor:
    return F.max_pool2d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False) -> Tensor:
    return F.max_pool3d(input, kernel_size, stride or None, padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d(input: Tensor, output_size) -> tuple[Tensor, Tensor]:
    """torch.adaptive_max_pool1d returns the values and their indices."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    return F.pad(input, tuple(pad), mode="constant", value=value)


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.dropout(input, p, train)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, p, train)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zeroes whole channels (dim 1), as dropout2d and dropout3d do."""
    if input.ndim < 2:
        raise ArgumentError(f"feature_dropout: expects an input of at least 2 dimensions, got shape {tuple(input.shape)}")
    if not train or p == 0:
        return input
    keep = factory.empty(input.shape[:2] + (1,) * (input.ndim - 2), dtype=input.dtype, device=input.device)
    keep.bernoulli_(1 - p)
    return input * keep / (1 - p) if p < 1 else input * 0


def _in_place(fn):
    @functools.wraps(fn)
    def call(input: Tensor, p: float, train: bool) -> Tensor:
        return input.copy_(fn(input, p, train)) if train else input

    call.__name__ = call.__qualname__ = fn.__name__ + "_"
    return call


dropout_, alpha_dropout_, feature_dropout_, feature_alpha_dropout_ = (
    _in_place(dropout), _in_place(alpha_dropout), _in_place(feature_dropout), _in_place(feature_alpha_dropout))


def batch_norm(input: Tensor, weight, bias, running_mean, running_var, training: bool, momentum: float,
               eps: float, cudnn_enabled: bool) -> Tensor:
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight, bias, running_mean, running_var, use_input_stats: bool,
                  momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    return F.group_norm(input, num_groups, weight, bias, eps)


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """aten's order: the table first; padding_idx -1 means none."""
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def kl_div(input: Tensor, target: Tensor, reduction=0, *, log_target: bool = False) -> Tensor:
    """Reduction 1 is the elementwise mean (without F.kl_div's warning), not ``batchmean``."""
    pointwise = F.kl_div(input, target, reduction="none", log_target=log_target)
    how = _reduction("kl_div", reduction)
    return pointwise if how == "none" else pointwise.mean() if how == "mean" else pointwise.sum()


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None, pos_weight=None,
                                     reduction=0) -> Tensor:
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(
        "binary_cross_entropy_with_logits", reduction), pos_weight=pos_weight)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction=0) -> Tensor:
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction("cosine_embedding_loss", reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction=0) -> Tensor:
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, reduction=0) -> Tensor:
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction("margin_ranking_loss", reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction=0) -> Tensor:
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction("triplet_margin_loss", reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float, reduction) -> Tensor:
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction("poisson_nll_loss", reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0, reduction=0,
             zero_infinity: bool = False) -> Tensor:
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                      reduction=_reduction("ctc_loss", reduction), zero_infinity=zero_infinity)


def chain_matmul(*matrices: Tensor) -> Tensor:
    """Deprecated in torch for ``linalg.multi_dot``: the product of 2-D ``matrices`` left to right."""
    warn_once("chain_matmul", "chain_matmul is deprecated (as in torch); use gg.linalg.multi_dot, which takes a "
                              "list of tensors")
    if not matrices:
        raise ArgumentError("chain_matmul(): Expected one or more matrices")
    for i, m in enumerate(matrices):
        if m.ndim != 2:
            raise ArgumentError(f"chain_matmul(): Tensor {i} must be 2-D, got shape {tuple(m.shape)}")
    out = matrices[0]
    for m in matrices[1:]:
        out = out @ m
    return out


# --- torch.X_(input, ...) for the Tensor methods X_ ---
def _method(name: str):
    def call(input: Tensor, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``input.{name}(...)``."
    return call


_IN_PLACE_METHODS = (
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_ "
    "clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ detach_ erf_ erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ "
    "frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ "
    "reciprocal_ resize_as_ round_ rsqrt_ sin_ sinc_ sinh_ sqrt_ square_ tan_ trunc_ xlogy_ zero_ detach is_signed"
).split()
globals().update({name: _method(name) for name in _IN_PLACE_METHODS})


# --- small helpers ---
def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor of ``s``, of the default float dtype unless ``dtype`` says otherwise."""
    return factory.tensor(float(s) if dtype is None else s, dtype=dtype or dtypes.default_float, device=device,
                          requires_grad=requires_grad)


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None, requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor, sharing memory with a tensor or NumPy array unless ``copy=True`` or a dtype or
    device change needs a copy (``copy=False`` then raises). An ``UntypedStorage`` is read as its bytes,
    reinterpreted as ``dtype`` (as PyTorch reads a storage), sharing its memory."""
    if isinstance(obj, UntypedStorage):
        obj = obj._bytes() if dtype is None else obj._bytes().view(dtypes.to_dtype(dtype).np)
        dtype = None
    if isinstance(obj, Tensor):
        out = obj
    elif isinstance(obj, np.ndarray) and copy is not True and obj.dtype.kind in FLOAT_KINDS + "biu":
        out = factory.from_numpy(obj)
    else:
        out = factory.tensor(obj, dtype=dtype, device=device, requires_grad=requires_grad)
        if copy is False:
            raise ArgumentError(f"asarray: cannot make a {type(obj).__name__} a tensor without a copy (copy=False)")
        return out
    converted = out.to(device=device, dtype=dtype) if device is not None or dtype is not None else out
    if converted is not out and copy is False:
        raise ArgumentError(
            f"asarray: converting a {out.dtype} tensor on {out.device} to dtype={dtype}, device={device} needs a copy (copy=False)")
    if copy and converted is obj:
        converted = converted.clone()
    if requires_grad:
        converted = (converted.detach() if converted is obj else converted).requires_grad_(True)
    return converted


def range(start, end, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:  # noqa: A001
    """Deprecated in torch: ``start`` to ``end`` inclusive, of the default float dtype."""
    warnings.warn("gpugrad.range is deprecated (as torch.range) because its end is inclusive, unlike Python's "
                  "range; use gpugrad.arange, which gives [start, end).", UserWarning, stacklevel=user_stacklevel())
    count = int(np.floor((end - start) / step)) + 1
    values = start + step * np.arange(max(count, 0))
    return factory.tensor(values, dtype=dtype or dtypes.default_float, device=device, requires_grad=requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad: bool = False, **_unused) -> Tensor:
    """An uninitialised tensor of ``size``; gpugrad's new tensors are row-major, so ``stride`` is not kept."""
    return factory.empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def can_cast(from_, to) -> bool:
    """Whether torch's casting rules allow ``from_`` -> ``to`` in an in-place op (ops._operands.castable)."""
    return castable(dtypes.to_dtype(from_).np, dtypes.to_dtype(to).np)


def typename(obj) -> str:
    """``obj.type()`` for a tensor (``torch.FloatTensor``'s name), else its class's qualified name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def seed() -> int:
    """Seed the default generator from the operating system's entropy; return that seed."""
    return random.seed()


def set_default_tensor_type(t) -> None:
    """Deprecated in torch: the float dtype of a legacy type name (``torch.DoubleTensor``) becomes the default."""
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    kinds = {"FloatTensor": dtypes.float32, "DoubleTensor": dtypes.float64}
    for suffix, dtype in kinds.items():
        if name.endswith(suffix):
            if "cuda" in name:
                raise DTypeError(f"set_default_tensor_type: {name}: set the default device with gg.set_default_device")
            dtypes.default_float = dtype
            return
    raise DTypeError(f"set_default_tensor_type: only FloatTensor and DoubleTensor can be the default, got {name}")


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy exposes no switch for the CPU's denormal flushing, so nothing changes (as torch answers
    on a CPU without it)."""
    return False


def fill(input: Tensor, value) -> Tensor:
    """A tensor of input's shape and dtype holding ``value`` (a number or a 0-d tensor, differentiable in it)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise ArgumentError(f"fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        return value.to(input.dtype).expand(input.shape).clone()
    return input.clone().fill_(value)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A CPU tensor sharing memory with ``buffer`` (any object with the buffer protocol), ``count`` items of
    ``dtype`` from byte ``offset`` (-1: to the end), as ``numpy.frombuffer`` reads it."""
    array = np.frombuffer(buffer, dtype=dtypes.to_dtype(dtype).np, count=count, offset=offset)
    out = factory.from_numpy(array)
    return out.requires_grad_(True) if requires_grad else out


def to_dlpack(tensor: Tensor):
    """A DLPack capsule of ``tensor``'s memory (``gg.utils.dlpack.to_dlpack``)."""
    from .utils.dlpack import to_dlpack as capsule

    return capsule(tensor)


# torch's ``X_copy`` functions: the view op X, then a copy of its own (no memory shared with the input).
_VIEW_OPS = ("alias", "as_strided", "detach", "diagonal", "expand", "permute", "select", "slice", "squeeze", "t",
             "transpose", "unfold", "unsqueeze", "view", "view_as_real", "view_as_complex", "unbind", "split",
             "split_with_sizes")


def _copy_of(name: str):
    def call(input: Tensor, *args, **kwargs):
        if name == "alias":
            return input.clone()
        if name == "slice":  # aten's slice(dim, start, end, step)
            dim, start, end, step = (list(args) + [0, None, None, 1][len(args):])[:4]
            index = [slice(None)] * input.ndim
            index[dim] = slice(start, end, step)
            return input[tuple(index)].clone()
        result = getattr(input, name)(*args, **kwargs)
        return type(result)(r.clone() for r in result) if isinstance(result, (tuple, list)) else result.clone()

    call.__name__ = call.__qualname__ = name + "_copy"
    call.__doc__ = f"``input.{name}(...)``, copied into memory of its own."
    return call


globals().update({name + "_copy": _copy_of(name) for name in _VIEW_OPS})

_interop_threads = [1]


def get_num_interop_threads() -> int:
    """The threads PyTorch would run independent ops on at once; gpugrad runs ops one after another from
    the calling thread (each large op itself on all cores: gg.set_num_threads), so this is kept, not used."""
    return _interop_threads[0]


def set_num_interop_threads(n: int) -> None:
    """Kept for get_num_interop_threads (see there); must be positive, as PyTorch's."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise RuntimeError(f"set_num_interop_threads: expects a positive integer, got {n!r}")
    _interop_threads[0] = n


def set_warn_always(b: bool) -> None:
    """PyTorch's switch for repeating once-only warnings (``torch.qr``'s deprecation and the like) on every
    call."""
    _warn_once.set_warn_always(b)


def is_warn_always_enabled() -> bool:
    return _warn_once.is_warn_always_enabled()


def is_autocast_cpu_enabled() -> bool:
    """``gg.is_autocast_enabled("cpu")``, under PyTorch's older name."""
    from .amp import is_autocast_enabled

    return is_autocast_enabled("cpu")


def get_autocast_cpu_dtype():
    from .amp import get_autocast_dtype

    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    from .amp import get_autocast_dtype

    return get_autocast_dtype("cuda")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """``gg.set_autocast_enabled("cpu", enabled)``, under PyTorch's older name."""
    from .amp.autocast_mode import set_autocast_enabled

    set_autocast_enabled("cpu", enabled)


def set_autocast_cpu_dtype(dtype) -> None:
    from .amp.autocast_mode import set_autocast_dtype

    set_autocast_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype) -> None:
    from .amp.autocast_mode import set_autocast_dtype

    set_autocast_dtype("cuda", dtype)



# --- torch.sym_*: PyTorch's helpers for sizes that may be symbolic under its compiler; gpugrad's sizes are
# always plain Python numbers, so each is the plain operation ---
def sym_int(a) -> int:
    """``int(a)``, truncating toward zero."""
    return int(a)


def sym_float(a) -> float:
    return float(a)


def sym_max(a, b):
    return builtins.max(a, b)


def sym_min(a, b):
    return builtins.min(a, b)


def sym_not(a) -> bool:
    return not a


def sym_ite(b, t, f):
    """``t if b else f``."""
    return t if b else f


def sym_sqrt(a) -> float:
    return math.sqrt(a)


def sym_sum(args):
    """The sum of an iterable of numbers (``sym_sum([a, b, c])``)."""
    return builtins.sum(args)


def get_device_module(device=None):
    """The module of a device type: ``gg.cuda`` for ``"cuda"``, ``gg.cpu`` for ``"cpu"``; without a device,
    the accelerator's (the CPU's when there is none)."""
    import gpugrad

    from .backend import Device

    if device is None:
        return gpugrad.cuda if gpugrad.cuda.is_available() else gpugrad.cpu
    kind = Device(device).type
    if kind not in ("cpu", "cuda"):
        raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'gpugrad.{kind}'.")
    return getattr(gpugrad, kind)


def get_device(input: Tensor) -> int:
    """The CUDA index of ``input``'s device, -1 on the CPU (as ``input.get_device()``)."""
    return input.get_device()


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions, a view (``input.adjoint()``)."""
    return input.adjoint()


# --- torch._check*: PyTorch's assertion helpers, which library code calls on plain conditions ---
def _check_with(error_type: type, cond, message=None) -> None:
    """Raise ``error_type(message())`` unless ``cond`` (a bool) holds."""
    if not isinstance(cond, bool):
        raise TypeError(f"cond must be a bool, but got {type(cond)}")
    if not cond:
        raise error_type(message() if message is not None else "Expected cond to be True, but got False.")


def _check_tensor_all_with(error_type: type, cond: Tensor, message=None) -> None:
    """Raise ``error_type(message())`` unless every element of the bool tensor ``cond`` is True."""
    if not isinstance(cond, Tensor) or cond.dtype is not dtypes.bool_:
        raise TypeError(f"cond must be a tensor with dtype bool, but got {getattr(cond, 'dtype', type(cond))}")
    _check_with(error_type, bool(cond.all().item()), message)


def _assert(condition, message) -> None:
    """``torch._assert``: Python's ``assert condition, message`` as a function (AssertionError)."""
    if not condition:
        raise AssertionError(message)


_NO_MESSAGE = object()


def _assert_async(input: Tensor, assert_msg=_NO_MESSAGE) -> None:
    """``torch._assert_async``: RuntimeError unless the one-element ``input`` is nonzero (NaN counts as
    nonzero). PyTorch defers the check on CUDA; here it reads the value at once, on any device."""
    if not isinstance(input, Tensor):
        raise TypeError(f"_assert_async(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if assert_msg is not _NO_MESSAGE and not isinstance(assert_msg, str):
        raise TypeError(f"_assert_async(): argument 'assert_msg' (position 2) must be str, not "
                        f"{type(assert_msg).__name__}")
    if input.numel() != 1:
        amount = "no values" if input.numel() == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
    if not input.item():
        raise RuntimeError("Expected Tensor with single nonzero value, but got zero" if assert_msg is _NO_MESSAGE
                           else assert_msg)


def _check(cond, message=None) -> None:
    _check_with(RuntimeError, cond, message)


def _check_index(cond, message=None) -> None:
    _check_with(IndexError, cond, message)


def _check_value(cond, message=None) -> None:
    _check_with(ValueError, cond, message)


def _check_type(cond, message=None) -> None:
    _check_with(TypeError, cond, message)


def _check_not_implemented(cond, message=None) -> None:
    _check_with(NotImplementedError, cond, message)


def _check_tensor_all(cond: Tensor, message=None) -> None:
    _check_tensor_all_with(RuntimeError, cond, message)

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "avg_pool1d",
    "adaptive_avg_pool1d", "bilinear", "rms_norm", "cosine_similarity", "pairwise_distance", "pixel_shuffle",
    "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "adaptive_max_pool1d", "constant_pad_nd", "dropout", "alpha_dropout",
    "feature_alpha_dropout", "feature_dropout", "dropout_", "alpha_dropout_", "feature_dropout_",
    "feature_alpha_dropout_", "batch_norm", "instance_norm", "layer_norm", "group_norm", "embedding", "kl_div",
    "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
    "triplet_margin_loss", "poisson_nll_loss", "ctc_loss", "chain_matmul", *_IN_PLACE_METHODS, "scalar_tensor",
    "asarray", "range", "empty_strided", "can_cast", "typename", "seed", "set_default_tensor_type",
    "set_flush_denormal", "fill", "frombuffer", "to_dlpack", *(name + "_copy" for name in _VIEW_OPS),
    "get_num_interop_threads", "set_num_interop_threads", "set_warn_always", "is_warn_always_enabled",
    "is_autocast_cpu_enabled", "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_cpu_enabled",
    "set_autocast_cpu_dtype", "set_autocast_gpu_dtype", "sym_int", "sym_float", "sym_max",
    "sym_min", "sym_not", "sym_ite", "sym_sqrt", "sym_sum", "get_device", "get_device_module", "adjoint",
    "_check", "_check_with", "_check_index", "_check_value", "_check_type", "_check_not_implemented",
    "_check_tensor_all", "_check_tensor_all_with", "_assert", "_assert_async",
]


_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
