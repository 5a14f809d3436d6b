"""Unfold and Fold: sliding local blocks to columns and back (torch.nn.Unfold, torch.nn.Fold)."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__: list[str] = ["Fold", "Unfold"]


class Unfold(Module):
    """Sliding local blocks of a (N, C, H, W) input as columns (N, C*kh*kw, L), as F.unfold::

        nn.Unfold(kernel_size=(2, 3))(gg.randn(2, 5, 3, 4)).shape    # (2, 30, 4)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns of sliding blocks (N, C*kh*kw, L) summed back into (N, C, *output_size), as F.fold (the
    adjoint of Unfold; overlapping entries add)::

        nn.Fold(output_size=(4, 5), kernel_size=(2, 2))(gg.randn(1, 12, 12)).shape    # (1, 3, 4, 5)
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
