"""``emit_nvtx`` and ``emit_itt`` of ``torch.autograd.profiler``: PyTorch's context managers that mark every
op as a range for an outside profiler (Nsight's NVTX, VTune's ITT). gpugrad emits no such per-op ranges:
entering one that is enabled raises, saying what to use instead; disabled, it does nothing (as PyTorch's)."""
from __future__ import annotations

from typing import Any

__all__ = ["emit_itt", "emit_nvtx", "load_nvprof"]


class _EmitRanges:
    _tool = ""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes

    def __enter__(self) -> _EmitRanges:
        if self.enabled:
            raise NotImplementedError(
                f"{type(self).__name__}: gpugrad does not mark each op as a {self._tool} range; mark regions "
                "with gg.cuda.nvtx.range_push/range_pop or record op times with gg.profiler.profile")
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class emit_nvtx(_EmitRanges):
    """Every op as an NVTX range (PyTorch's); refused when enabled."""

    _tool = "NVTX"


class emit_itt(_EmitRanges):
    """Every op as an Intel ITT range (PyTorch's); refused when enabled."""

    _tool = "ITT"


def load_nvprof(path: str) -> Any:
    """PyTorch reads an nvprof trace into an EventList; gpugrad's profiler never writes one."""
    raise NotImplementedError("load_nvprof: gpugrad reads no nvprof traces; use gg.profiler.profile's events")
