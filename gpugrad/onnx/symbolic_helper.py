"""``torch.onnx.symbolic_helper``: the decorator symbolic functions are written with. With no ONNX export in
gpugrad a symbolic function is never called, so ``parse_args`` keeps it as written; every other helper
refuses to run."""
from __future__ import annotations

from collections.abc import Callable

from ._export_only import ExportOnlyModule


def parse_args(*arg_descriptors: str) -> Callable[[Callable], Callable]:
    """``@parse_args("v", "i", ...)``: how an export would convert a symbolic function's graph values."""
    def decorate(fn: Callable) -> Callable:
        fn._onnx_arg_descriptors = arg_descriptors
        return fn

    return decorate


def __getattr__(name: str):
    return getattr(ExportOnlyModule(__name__), name)
