"""Modules of ``torch.onnx`` whose functions only an ONNX export calls (``symbolic_opset11.unsqueeze(g, ...)``):
importable, each function refusing to run since gpugrad exports nothing."""
from __future__ import annotations

import types


class ExportOnlyModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)

        def refuse(*args, **kwargs):
            raise NotImplementedError(f"{self.__name__}.{name}: ONNX export is not supported by gpugrad")

        refuse.__name__ = name
        return refuse


_opsets: dict[int, ExportOnlyModule] = {}


def symbolic_opset(version: int) -> ExportOnlyModule:
    """``torch.onnx.symbolic_opset<version>``, made once."""
    if version not in _opsets:
        _opsets[version] = ExportOnlyModule(f"gpugrad.onnx.symbolic_opset{version}")
    return _opsets[version]
