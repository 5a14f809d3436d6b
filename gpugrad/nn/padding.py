"""Padding layers (torch.nn.ReflectionPad2d and friends): F.pad with a mode and a fixed padding."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
    "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
]


class _PadNd(Module):
    """Pads the last ``dims`` dims by ``padding``: one int for every side, or (left, right, top, bottom,
    front, back) as far as the dims go. Subclasses fix ``mode`` (F.pad's) and ``dims``."""

    mode = "constant"
    dims = 1

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.dims} ints, got {padding}")
        self.padding = padding
        self.value = float(value)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"



class ReflectionPad1d(_PadNd):
    """Mirror the input at its edges (the edge itself not repeated)."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror the input at its edges (the edge itself not repeated)."""

    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirror the input at its edges (the edge itself not repeated)."""

    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the input's edge values."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the input's edge values."""

    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the input's edge values."""

    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Wrap the input around."""

    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    """Wrap the input around."""

    mode, dims = "circular", 2


class CircularPad3d(_PadNd):
    """Wrap the input around."""

    mode, dims = "circular", 3


class ZeroPad1d(_PadNd):
    """Pad with zeros."""

    mode, dims = "constant", 1


class ZeroPad2d(_PadNd):
    """Pad with zeros."""

    mode, dims = "constant", 2


class ZeroPad3d(_PadNd):
    """Pad with zeros."""

    mode, dims = "constant", 3


class ConstantPad1d(_ConstantPadNd):
    """Pad with a constant ``value``."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad with a constant ``value``."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad with a constant ``value``."""

    dims = 3
