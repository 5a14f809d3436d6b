"""PyTorch's dispatch keys (``torch._C.DispatchKey``, ``DispatchKeySet``, ``_ExcludeDispatchKeyGuard``) as
Python code names them. gpugrad has no dispatcher: an op runs its Python, and autocast's casts are its one
layer that a key stands for. So a key set is a plain set of names, and excluding an Autocast key runs the
guarded code with autocast suspended, as PyTorch's guard does (torchvision's autocast wrappers); excluding
any other key changes nothing, since nothing here dispatches on it."""
from __future__ import annotations

import contextlib
import enum

from .amp import policy

DispatchKey = enum.Enum("DispatchKey", [
    "Undefined", "CPU", "CUDA", "XPU", "MPS", "Meta", "HIP", "PrivateUse1", "SparseCPU", "SparseCUDA",
    "SparseCsrCPU", "SparseCsrCUDA", "QuantizedCPU", "QuantizedCUDA", "BackendSelect", "Python",
    "PythonDispatcher", "PythonTLSSnapshot", "Functionalize", "ADInplaceOrView", "Named", "Conjugate",
    "Negative", "ZeroTensor", "AutogradOther", "AutogradCPU", "AutogradCUDA", "AutogradXPU", "AutogradMPS",
    "AutogradMeta", "AutogradPrivateUse1", "AutogradNestedTensor", "Tracer", "AutocastCPU", "AutocastCUDA",
    "AutocastXPU", "AutocastMPS", "AutocastPrivateUse1", "FuncTorchBatched", "BatchedNestedTensor",
    "FuncTorchVmapMode", "FuncTorchGradWrapper", "FuncTorchDynamicLayerBackMode",
    "FuncTorchDynamicLayerFrontMode", "PreDispatch", "Autograd", "CompositeImplicitAutograd",
    "CompositeImplicitAutogradNestedTensor", "CompositeExplicitAutograd",
    "CompositeExplicitAutogradNonFunctional", "Dense", "Sparse", "SparseCsr", "Quantized", "NestedTensor",
    "NestedTensorCPU", "NestedTensorCUDA",
], module=__name__)


class DispatchKeySet:
    """A set of dispatch keys: ``DispatchKeySet(DispatchKey.AutocastCPU) | DispatchKeySet(...)``."""

    __slots__ = ("_keys",)

    def __init__(self, key: DispatchKey) -> None:
        if not isinstance(key, DispatchKey):
            raise TypeError(f"DispatchKeySet: expected a DispatchKey, got {type(key).__name__}")
        self._keys = frozenset((key,))

    @classmethod
    def _of(cls, keys) -> DispatchKeySet:
        out = cls.__new__(cls)
        out._keys = frozenset(keys)
        return out

    def __or__(self, other: DispatchKeySet) -> DispatchKeySet:
        return self._of(self._keys | other._keys)

    def __and__(self, other: DispatchKeySet) -> DispatchKeySet:
        return self._of(self._keys & other._keys)

    def __sub__(self, other: DispatchKeySet) -> DispatchKeySet:
        return self._of(self._keys - other._keys)

    def __eq__(self, other) -> bool:
        return isinstance(other, DispatchKeySet) and self._keys == other._keys

    def __hash__(self) -> int:
        return hash(self._keys)

    def has(self, key: DispatchKey) -> bool:
        return key in self._keys

    def add(self, key: DispatchKey) -> DispatchKeySet:
        return self._of(self._keys | {key})

    def remove(self, key: DispatchKey) -> DispatchKeySet:
        return self._of(self._keys - {key})

    def __repr__(self) -> str:
        return f"DispatchKeySet({', '.join(sorted(k.name for k in self._keys))})"


_AUTOCAST = {k for k in DispatchKey if k.name.startswith("Autocast")}


class _ExcludeDispatchKeyGuard:
    """``with torch._C._ExcludeDispatchKeyGuard(keys):`` the body runs without those keys' layers: here,
    without autocast when an Autocast key is among them."""

    def __init__(self, keys: DispatchKeySet) -> None:
        if not isinstance(keys, DispatchKeySet):
            raise TypeError(f"_ExcludeDispatchKeyGuard: expected a DispatchKeySet, got {type(keys).__name__}")
        self._suspends = bool(keys._keys & _AUTOCAST)

    def __enter__(self) -> _ExcludeDispatchKeyGuard:
        self._context = policy.suspended() if self._suspends else contextlib.nullcontext()
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)
