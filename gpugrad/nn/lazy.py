"""Lazy modules, as ``torch.nn.LazyLinear`` and friends: the input size (features or channels) is read
from the first input. Until then the parameters and buffers that depend on it are uninitialized
placeholders; the first forward builds the concrete module with the inferred size, moves its freshly
initialised values into the same parameter and buffer objects (so an optimizer built before still holds
them), and the module becomes that concrete class (a LazyLinear becomes a Linear)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..overrides import _disabled_torch_function_impl
from ..tensor import Tensor
from . import conv, linear, normalization
from .module import Module
from .parameter import Parameter

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency

__all__ = [
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
    "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear", "UninitializedBuffer", "UninitializedParameter",
]

_NO_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
             "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
             "`forward` to initialize the parameters before accessing their attributes.")


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet; ``materialize`` gives it one (and makes it a Parameter)."""

    _plain = False  # no data yet: ops take the general road, which refuses it
    __slots__ = ()

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None) -> Self:
        return Parameter.__new__(cls, _blank(device, dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass  # everything happens in __new__

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give it uninitialised data of ``shape`` (its own device and dtype unless given): a Parameter now."""
        self.materialize_from(_empty_like_placeholder(self, shape, device, dtype))

    @property
    def shape(self):
        raise ValueError(_NO_SHAPE)

    def size(self, dim=None):
        raise ValueError(_NO_SHAPE)

    def numel(self) -> int:
        raise ValueError(_NO_SHAPE)

    def materialize_from(self, value: Tensor) -> None:
        """Take ``value``'s data, dtype and device; become a Parameter."""
        self._array, self._backend = value._array, value._backend
        self.__class__ = Parameter

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet; ``materialize_from`` gives it one (and makes it a Tensor)."""

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True) -> Self:
        blank = _blank(device, dtype)
        buffer = cls._make(blank._array, blank._backend)
        return buffer.requires_grad_(requires_grad) if requires_grad else buffer

    def __init__(self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True) -> None:
        pass  # everything happens in __new__

    @property
    def shape(self):
        raise ValueError(_NO_SHAPE)

    def numel(self) -> int:
        raise ValueError(_NO_SHAPE)

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give it uninitialised data of ``shape`` (its own device and dtype unless given): a Tensor now."""
        self.materialize_from(_empty_like_placeholder(self, shape, device, dtype))

    def materialize_from(self, value: Tensor) -> None:
        self._array, self._backend = value._array, value._backend
        self.__class__ = Tensor

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"


def _blank(device, dtype) -> Tensor:
    from ..factory import empty

    return empty(0, device=device, dtype=dtype)


def _empty_like_placeholder(placeholder: Tensor, shape, device, dtype) -> Tensor:
    from ..factory import empty

    return empty(shape, device=placeholder.device if device is None else device,
                 dtype=placeholder.dtype if dtype is None else dtype)


def _placeholder(kind, like: Tensor | None):
    if like is None:
        return None
    blank = kind._make(like._array[:0].reshape(0), like._backend)
    if kind is UninitializedParameter:
        blank.requires_grad_(like.requires_grad)
    return blank


class _LazyMixin:
    """Builds ``cls_to_become(size, *args, **kwargs)`` on the first input, ``size`` read at ``in_dim``
    (batched inputs; an unbatched one has one dim fewer)."""

    cls_to_become: type = Module
    in_dim = 1
    batched_ndim = 2

    def _lazy_setup(self, *args, **kwargs) -> None:
        self._lazy_args = (args, kwargs)
        for name, p in list(self._parameters.items()):
            self._parameters[name] = _placeholder(UninitializedParameter, p)
        for name, b in list(self._buffers.items()):
            if b is not None and b.ndim > 0:  # num_batches_tracked keeps its 0-d value
                self._buffers[name] = _placeholder(UninitializedBuffer, b)
        self._lazy_handle = self.register_forward_pre_hook(_LazyMixin._infer)

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(t, (UninitializedParameter, UninitializedBuffer))
                   for t in list(self._parameters.values()) + list(self._buffers.values()))

    @staticmethod
    def _infer(module, inputs) -> None:
        (x, *_) = inputs
        dim = module.in_dim if x.ndim >= module.batched_ndim else module.in_dim - 1
        args, kwargs = module._lazy_args
        concrete = module.cls_to_become(x.shape[dim], *args, **kwargs)
        for table in ("_parameters", "_buffers"):
            mine, theirs = module.__dict__[table], concrete.__dict__[table]
            for name, value in theirs.items():
                placeholder = mine.get(name)
                if isinstance(placeholder, (UninitializedParameter, UninitializedBuffer)):
                    placeholder.materialize_from(value)
                else:
                    mine[name] = value
        for name, value in concrete.__dict__.items():  # in_features, in_channels, ...
            if not name.startswith("_") and name != "training":
                module.__dict__[name] = value
        module._lazy_handle.remove()
        for name in ("_lazy_args", "_lazy_handle"):
            del module.__dict__[name]
        module.__class__ = module.cls_to_become


class LazyLinear(_LazyMixin, linear.Linear):
    """``Linear`` whose in_features is the last dim of its first input."""

    cls_to_become = linear.Linear
    in_dim, batched_ndim = -1, 1

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        linear.Linear.__init__(self, 1, out_features, bias, device, dtype)
        self.in_features = 0
        self._lazy_setup(out_features, bias, device, dtype)


def _lazy_conv(concrete: type, spatial: int):
    class LazyConv(_LazyMixin, concrete):
        cls_to_become = concrete
        in_dim, batched_ndim = 1, spatial + 2

        def __init__(self, out_channels: int, kernel_size, *args, **kwargs) -> None:
            groups = kwargs.get("groups", 1)
            concrete.__init__(self, groups, out_channels, kernel_size, *args, **kwargs)
            self.in_channels = 0
            self._lazy_setup(out_channels, kernel_size, *args, **kwargs)

    LazyConv.__name__ = LazyConv.__qualname__ = "Lazy" + concrete.__name__
    LazyConv.__doc__ = f"``{concrete.__name__}`` whose in_channels is the channel dim of its first input."
    return LazyConv


def _lazy_norm(concrete: type, spatial: int, **defaults):
    class LazyNorm(_LazyMixin, concrete):
        cls_to_become = concrete
        in_dim, batched_ndim = 1, spatial + 2

        def __init__(self, *args, **kwargs) -> None:
            names = ("eps", "momentum", "affine", "track_running_stats")
            kwargs = {**{k: v for k, v in defaults.items() if k not in names[:len(args)]}, **kwargs}
            concrete.__init__(self, 1, *args, **kwargs)
            self.num_features = 0
            self._lazy_setup(*args, **kwargs)

    LazyNorm.__name__ = LazyNorm.__qualname__ = "Lazy" + concrete.__name__
    LazyNorm.__doc__ = f"``{concrete.__name__}`` whose num_features is the channel dim of its first input."
    return LazyNorm


LazyConv1d = _lazy_conv(conv.Conv1d, 1)
LazyConv2d = _lazy_conv(conv.Conv2d, 2)
LazyConv3d = _lazy_conv(conv.Conv3d, 3)
LazyConvTranspose1d = _lazy_conv(conv.ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy_conv(conv.ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy_conv(conv.ConvTranspose3d, 3)
LazyBatchNorm1d = _lazy_norm(normalization.BatchNorm1d, 0)
LazyBatchNorm2d = _lazy_norm(normalization.BatchNorm2d, 2)
LazyBatchNorm3d = _lazy_norm(normalization.BatchNorm3d, 3)
# PyTorch's lazy instance norms learn and track by default, unlike InstanceNorm itself.
LazyInstanceNorm1d = _lazy_norm(normalization.InstanceNorm1d, 1, affine=True, track_running_stats=True)
LazyInstanceNorm2d = _lazy_norm(normalization.InstanceNorm2d, 2, affine=True, track_running_stats=True)
LazyInstanceNorm3d = _lazy_norm(normalization.InstanceNorm3d, 3, affine=True, track_running_stats=True)
