"""torch.cuda.nvtx: named ranges and marks for NVIDIA's profilers (Nsight Systems), through CuPy's NVTX
bindings when a GPU is present; without one there is no profiler to see them, and they do nothing."""
from __future__ import annotations

import contextlib

from .. import backend as _backend

__all__ = ["range_push", "range_pop", "range", "mark"]


def _nvtx():
    if _backend.cuda_unavailable_reason() is not None:
        return None
    from cupy.cuda import nvtx  # pragma: no cover - needs a GPU

    return nvtx  # pragma: no cover


def range_push(msg: str) -> int:
    """Open a named range (nested ranges close in reverse order); the depth, as PyTorch returns it."""
    nvtx = _nvtx()
    if nvtx is not None:  # pragma: no cover - needs a GPU
        nvtx.RangePush(msg)
    return 0


def range_pop() -> int:
    """Close the innermost open range."""
    nvtx = _nvtx()
    if nvtx is not None:  # pragma: no cover - needs a GPU
        nvtx.RangePop()
    return 0


def mark(msg: str) -> None:
    """An instant event named ``msg``."""
    nvtx = _nvtx()
    if nvtx is not None:  # pragma: no cover - needs a GPU
        nvtx.Mark(msg)


@contextlib.contextmanager
def range(msg: str, *args, **kwargs):
    """``with gg.cuda.nvtx.range("forward"):`` a range around the block (``msg.format(*args, **kwargs)``)."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
