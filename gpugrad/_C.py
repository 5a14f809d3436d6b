"""``torch._C``: PyTorch's compiled core. gpugrad has none; this module holds the few names of it that
Python code reaches for directly, each the same object as its public spelling: the exception classes
PyTorch defines there (``except torch._C._LinAlgError``, as torchdiffeq's implicit solvers write) and
``_get_tracing_state`` (None: no TorchScript trace is ever running), ``_log_api_usage_once`` (PyTorch's
usage telemetry, which libraries call in their constructors: torchmetrics' Metric; gpugrad has none to feed),
``_nn._parse_to`` (``to``'s argument parsing), ``PyTorchFileReader`` (the checkpoint archive's records) and
``_TensorMeta``, the metaclass of Tensor (which libraries name in type hints: Lightning's checkpoint loader),
``ScriptObject`` (TorchScript's custom-class objects, none here),
and the ``__torch_function__`` protocol's switches (gpugrad/overrides.py): ``_disabled_torch_function_impl``,
``DisableTorchFunctionSubclass``, ``DisableTorchFunction`` and the questions about them."""
# ruff: noqa: N999  (the module mirrors torch._C, so its name is PyTorch's)
from __future__ import annotations

from . import _c_nn as _nn
from ._dispatch_keys import DispatchKey, DispatchKeySet, _ExcludeDispatchKeyGuard
from .distributed.work import DistBackendError as _DistBackendError
from .errors import OutOfMemoryError
from .file_reader import PyTorchFileReader
from .ops.linalg import LinAlgError as _LinAlgError
from .overrides import (
    DisableTorchFunction,
    DisableTorchFunctionSubclass,
    _disabled_torch_function_impl,
    _is_torch_function_enabled,
    _is_torch_function_mode_enabled,
    switches,
)
from .tensor import Tensor as _Tensor

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass", "DispatchKey", "DispatchKeySet",
           "OutOfMemoryError", "PyTorchFileReader", "_ExcludeDispatchKeyGuard", "_dispatch_has_kernel_for_dispatch_key",
           "ScriptObject", "_DistBackendError", "_LinAlgError", "_TensorMeta", "_disabled_torch_function_impl", "_get_tracing_state",
           "_is_torch_function_enabled", "_is_torch_function_mode_enabled", "_len_torch_function_stack",
           "_log_api_usage_once", "_nn"]

class ScriptObject:
    """TorchScript's custom-class objects (``torch._C.ScriptObject``), which tracers treat as constants
    beside tensors: gpugrad has no TorchScript, so nothing is one."""


# PyTorch's Tensor has a metaclass of its own; gpugrad's is Python's type, so the name is that class.
_TensorMeta = type(_Tensor)


def _get_tracing_state() -> None:
    """None: gpugrad never traces a function into a TorchScript graph."""


def _log_api_usage_once(event: str) -> None:
    """PyTorch's API-usage telemetry hook: records nothing here (gpugrad has no usage logger); the event
    must be a string, as PyTorch's binding checks."""
    if not isinstance(event, str):
        raise TypeError(f"_log_api_usage_once: expected a string event name, got {type(event).__name__}")


def _len_torch_function_stack() -> int:
    """How many ``TorchFunctionMode``s this thread has entered and not left."""
    return len(switches.stack)


def _dispatch_has_kernel_for_dispatch_key(name: str, key) -> bool:
    """Whether operator ``name`` ("namespace::op") has a kernel for ``key``: gpugrad's custom operators
    (gg.library.custom_op) run their Python for every key; no other operator is registered by name."""
    from .library import _OPS

    return name in _OPS
