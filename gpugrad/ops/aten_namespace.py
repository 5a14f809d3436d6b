"""``gg.ops.aten``, as PyTorch's ``torch.ops.aten``: aten's operators by name, each an
``OpOverloadPacket`` whose attributes (``.default``, ``.Tensor``, ``.int`` ...) are its ``OpOverload``s.

Libraries key tables on these objects (a tensor subclass's handlers, ``@implements(aten.add.Tensor)``)
and call them on plain tensors. gpugrad has no dispatcher below its ops, so an operator here is the gpugrad
function of that name (or the Tensor method, for in-place ``add_``), or, for the aten-only names in
``_ATEN_ONLY``, a small function taking aten's argument list. An overload runs the same function as its
packet: gpugrad's ops take every overload's arguments. Differences from PyTorch: there are no schemas, so
any overload name is accepted, and so is any operator name: one gpugrad has no op for raises
NotImplementedError when called."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor

__all__ = ["OpOverload", "OpOverloadPacket", "aten"]


def _to_copy(x: Tensor, *, dtype=None, layout=None, device=None, pin_memory=None, non_blocking=False,
             memory_format=None) -> Tensor:
    """A new tensor with x's values, in the dtype and device given (x's where None)."""
    out = x.to(device=device if device is not None else x.device, dtype=dtype if dtype is not None else x.dtype,
               non_blocking=non_blocking, copy=True)
    return out.pin_memory() if pin_memory else out


def _slice(x: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1) -> Tensor:
    """``x[..., start:end:step, ...]`` along ``dim``: a view."""
    index = [slice(None)] * x.dim()
    index[dim] = slice(start, end, step)
    return x[tuple(index)]


def _index(x: Tensor, indices: list) -> Tensor:
    """Advanced indexing with one entry per leading dim (None: that dim whole)."""
    return x[tuple(slice(None) if i is None else i for i in indices)]


# aten's names with no gpugrad function of the same name and arguments.
_ATEN_ONLY: dict[str, Callable] = {
    "_to_copy": _to_copy,
    "slice": _slice,
    "index": _index,
    "alias": lambda x: x.view(x.shape),
    "_pin_memory": lambda x, device=None: x.pin_memory(),
}


class OpOverload:
    """One overload of an aten operator (``aten.add.Tensor``): callable, hashable by identity."""

    def __init__(self, packet: OpOverloadPacket, overload: str) -> None:
        self.overloadpacket, self._overloadname = packet, overload
        self.namespace = "aten"
        self.__name__ = f"{packet.__name__}.{overload}"

    def name(self) -> str:
        """``"aten::add.Tensor"`` (``"aten::add"`` for the default overload), as PyTorch's."""
        suffix = "" if self._overloadname == "default" else f".{self._overloadname}"
        return f"aten::{self.overloadpacket.__name__}{suffix}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.overloadpacket._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<OpOverload(op='aten.{self.overloadpacket.__name__}', overload='{self._overloadname}')>"


class OpOverloadPacket:
    """An aten operator with all its overloads (``aten.add``): callable itself."""

    def __init__(self, name: str, fn: Callable) -> None:
        self.__name__, self._fn = name, fn
        self._overloads: dict[str, OpOverload] = {}

    def __getattr__(self, overload: str) -> OpOverload:
        if overload.startswith("__"):
            raise AttributeError(overload)
        # The same object on every access: libraries use overloads as dict keys.
        if overload not in self._overloads:
            self._overloads[overload] = OpOverload(self, overload)
        return self._overloads[overload]

    def overloads(self) -> list[str]:
        """The overload names looked up so far (gpugrad keeps no schemas to list them all)."""
        return list(self._overloads)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='aten.{self.__name__}')>"


_PACKETS: dict[str, OpOverloadPacket] = {}


def _missing(name: str) -> Callable:
    """What an operator gpugrad lacks runs: an error naming it (looking it up succeeds, as libraries
    register handlers for many aten ops at import and call few)."""

    def missing(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"torch.ops.aten.{name}: gpugrad has no such operator")

    return missing


def _resolve(name: str) -> Callable | None:
    if name in _ATEN_ONLY:
        return _ATEN_ONLY[name]
    import gpugrad

    fn = getattr(gpugrad, name, None)
    if callable(fn) and not isinstance(fn, type):
        return fn
    method = getattr(Tensor, name, None)
    if callable(method) and not isinstance(method, type):
        return method
    return None


class _OpNamespace:
    """``torch.ops.aten``: its attributes are the operators, made on first access."""

    def __getattr__(self, name: str) -> OpOverloadPacket:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in _PACKETS:
            _PACKETS[name] = OpOverloadPacket(name, _resolve(name) or _missing(name))
        return _PACKETS[name]

    def __repr__(self) -> str:
        return "<module 'torch.ops.aten'>"


aten = _OpNamespace()
