"""``torch._dynamo``: the tracer behind torch.compile, which gpugrad does not have (``gg.compile`` returns
the model itself: gpugrad/compiler.py). Libraries reach for its decorators and switches directly; each
here is what it amounts to when nothing is traced: the decorators return their function, the marks on
tensors change nothing, and ``config`` holds PyTorch's settings for code that sets or reads them."""
from __future__ import annotations

from typing import Any

from ..compiler import allow_in_graph, assume_constant_result, disable, is_compiling, list_backends, reset
from . import config, eval_frame, exc, utils
from .eval_frame import OptimizedModule
from .explain import explain

__all__ = ["allow_in_graph", "assume_constant_result", "disable", "is_compiling", "list_backends", "reset", "config", "exc", "utils",
           "eval_frame", "OptimizedModule", "mark_static_address", "mark_dynamic", "maybe_mark_dynamic",
           "mark_static", "explain"]


def mark_static_address(t: Any, guard: bool = True) -> None:
    """A hint to the tracer that ``t``'s memory does not move; nothing is traced, so nothing to do."""


def mark_dynamic(t: Any, index: Any, **kwargs: Any) -> None:
    """A hint that dimension ``index`` of ``t`` varies; nothing is traced, so nothing to do."""


def maybe_mark_dynamic(t: Any, index: Any) -> None:
    """As ``mark_dynamic``: nothing to do."""


def mark_static(t: Any, index: Any = None) -> None:
    """A hint that ``t`` (or one dimension) keeps its size; nothing to do."""
