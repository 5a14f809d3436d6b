"""``torch._C``: PyTorch's compiled core. gpugrad has none; this module holds the few names of it that
Python code reaches for directly, each the same object as its public spelling: the exception classes
PyTorch defines there (``except torch._C._LinAlgError``, as torchdiffeq's implicit solvers write) and
``_get_tracing_state`` (None: no TorchScript trace is ever running) and ``_log_api_usage_once`` (PyTorch's
usage telemetry, which libraries call in their constructors: torchmetrics' Metric; gpugrad has none to feed)."""
# ruff: noqa: N999  (the module mirrors torch._C, so its name is PyTorch's)
from __future__ import annotations

from .distributed.work import DistBackendError as _DistBackendError
from .errors import OutOfMemoryError
from .ops.linalg import LinAlgError as _LinAlgError

__all__ = ["OutOfMemoryError", "_DistBackendError", "_LinAlgError", "_get_tracing_state", "_log_api_usage_once"]


def _get_tracing_state() -> None:
    """None: gpugrad never traces a function into a TorchScript graph."""


def _log_api_usage_once(event: str) -> None:
    """PyTorch's API-usage telemetry hook: records nothing here (gpugrad has no usage logger); the event
    must be a string, as PyTorch's binding checks."""
    if not isinstance(event, str):
        raise TypeError(f"_log_api_usage_once: expected a string event name, got {type(event).__name__}")
