"""Parameter: a Tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..overrides import _disabled_torch_function_impl
from ..tensor import Tensor

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency


__all__ = ["Buffer", "Parameter", "is_lazy"]  # and, looked up on first use, UninitializedParameter and UninitializedBuffer


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that Modules pick up as a parameter.

    Built from a Tensor (sharing its memory, as ``torch.nn.Parameter`` does) or from array-like data::

        w = nn.Parameter(gg.randn(3, 4))
        w.requires_grad, w.is_leaf      # (True, True)
    """

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)
    _plain = True  # and to the ops' short roads (tensor.py)

    __slots__ = ()

    def __new__(cls, data=None, requires_grad: bool = True) -> Self:
        if data is None:
            from ..factory import empty

            data = empty(0)
        elif not isinstance(data, Tensor):
            from ..factory import tensor

            data = tensor(data)
        p = cls._make(data._array, data._backend)
        p._version_ref = data._version_ref  # shares memory, so shares the version counter too
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__; Tensor.__init__ refuses direct construction

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that, assigned as a Module attribute, becomes one of its buffers (state that is not a
    parameter, as BatchNorm's running mean): ``self.steps = nn.Buffer(gg.zeros(()), persistent=False)``.
    The module keeps a plain Tensor sharing its memory, as PyTorch's does."""

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)

    __slots__ = ("persistent",)

    def __new__(cls, data=None, *, persistent: bool = True) -> Self:
        if data is None:
            from ..factory import empty

            data = empty(0)
        b = cls._make(data._array, data._backend)
        b._version_ref = data._version_ref
        b._requires_grad = data.requires_grad
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent: bool = True) -> None:
        pass  # everything happens in __new__


def is_lazy(param: Tensor) -> bool:
    """Whether ``param`` is a lazy module's placeholder, not shaped yet (PyTorch's ``nn.parameter.is_lazy``)."""
    from .lazy import UninitializedBuffer, UninitializedParameter

    return isinstance(param, (UninitializedParameter, UninitializedBuffer))


def __getattr__(name: str):
    # PyTorch defines the lazy placeholders in this module; here they live beside the lazy modules (which
    # import Parameter from here), so they are looked up on first use.
    if name in ("UninitializedParameter", "UninitializedBuffer"):
        from . import lazy

        return getattr(lazy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
