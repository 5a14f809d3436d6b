"""``torch.autograd._profiler_enabled`` and ``_disable_profiler``: whether a profiler records on this
thread, and stopping it from outside (Lightning's PyTorchProfiler closes one left open this way)."""
from __future__ import annotations

from . import watch

__all__ = ["_disable_profiler", "_profiler_enabled"]


def _profiler_enabled() -> bool:
    """Whether a profiler (``autograd.profiler.profile`` or ``gg.profiler.profile``) records on this thread."""
    return watch.state.profiler is not None


def _disable_profiler():
    """Stop the profiler recording on this thread (the one it interrupted, if any, records again) and
    return it with the events it holds; PyTorch returns its profiler result. Raises when none records."""
    recorder = watch.state.profiler
    if recorder is None:
        raise RuntimeError("_disable_profiler: can't disable profiler when it's not running")
    recorder._listen(False)
    return recorder
