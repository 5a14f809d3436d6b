"""``torch.onnx``'s entry points, so that scripts and libraries importing it run: gpugrad does not export
ONNX graphs. What export alone would use (the symbolic functions of ``symbolic_opset<N>``, registered
custom symbolics) is importable and refuses to run, naming the missing export."""
from __future__ import annotations

import enum
from collections.abc import Callable

from . import symbolic_helper
from ._export_only import symbolic_opset

_NOT_SUPPORTED = ("ONNX export is not supported by gpugrad; save the weights with gg.save(model.state_dict(), path) "
                  "(safetensors, which PyTorch reads) and export from PyTorch")


def export(*args, **kwargs) -> None:
    """Not supported: gpugrad records no exportable graph. Raises NotImplementedError."""
    raise NotImplementedError(f"gpugrad.onnx.export: {_NOT_SUPPORTED}")


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is running: never, in gpugrad."""
    return False


_custom_symbolics: dict[tuple[str, int], Callable] = {}


def register_custom_op_symbolic(symbolic_name: str, symbolic_fn: Callable, opset_version: int) -> None:
    """Keep ``symbolic_fn`` as ``symbolic_name``'s ONNX translation for ``opset_version`` (libraries register
    theirs when imported: torchvision's nms, roi_align); with no export, nothing calls it."""
    namespace, sep, name = symbolic_name.partition("::")
    if not sep or not namespace or not name:
        raise ValueError(f"register_custom_op_symbolic: expected 'namespace::name', got {symbolic_name!r}")
    _custom_symbolics[(symbolic_name, int(opset_version))] = symbolic_fn


def unregister_custom_op_symbolic(symbolic_name: str, opset_version: int) -> None:
    _custom_symbolics.pop((symbolic_name, int(opset_version)), None)


class TensorProtoDataType(enum.IntEnum):
    """ONNX's element types, by the numbers of its TensorProto (what ``Cast``'s ``to`` attribute names)."""

    UNDEFINED = 0
    FLOAT = 1
    UINT8 = 2
    INT8 = 3
    UINT16 = 4
    INT16 = 5
    INT32 = 6
    INT64 = 7
    STRING = 8
    BOOL = 9
    FLOAT16 = 10
    DOUBLE = 11
    UINT32 = 12
    UINT64 = 13
    COMPLEX64 = 14
    COMPLEX128 = 15
    BFLOAT16 = 16


def __getattr__(name: str):
    if name.startswith("symbolic_opset") and name[len("symbolic_opset"):].isdigit():
        return symbolic_opset(int(name[len("symbolic_opset"):]))
    raise AttributeError(f"module 'gpugrad.onnx' has no attribute {name!r}")


__all__ = ["TensorProtoDataType", "export", "is_in_onnx_export", "register_custom_op_symbolic", "symbolic_helper",
           "unregister_custom_op_symbolic"]
