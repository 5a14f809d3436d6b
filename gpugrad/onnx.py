"""``torch.onnx``'s entry points, so that scripts importing it run: gpugrad does not export ONNX graphs."""
from __future__ import annotations


def export(*args, **kwargs) -> None:
    """Not supported: gpugrad records no exportable graph. Raises NotImplementedError."""
    raise NotImplementedError(
        "gpugrad.onnx.export: ONNX export is not supported by gpugrad; save the weights with "
        "gg.save(model.state_dict(), path) (safetensors, which PyTorch reads) and export from PyTorch"
    )


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is running: never, in gpugrad."""
    return False
