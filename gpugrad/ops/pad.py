"""Constant padding as an op (the reflect and replicate modes are compositions in nn.functional)."""
from __future__ import annotations

from ..autograd.function import Op
from ..tensor import Tensor


class Pad(Op):
    """Constant padding by ((before, after), ...) per dim, all non-negative; the backward slices."""

    @staticmethod
    def forward(ctx, x, widths=(), value=0.0):
        ctx.slices = tuple(slice(b, b + s) for (b, _), s in zip(widths, x.shape))
        return ctx.backend.pad(x, widths, value)

    @staticmethod
    def backward(ctx, gy):
        return gy[ctx.slices]


def pad_constant(x: Tensor, widths, value=0.0) -> Tensor:
    """x padded with ``value``: ``widths`` holds one (before, after) pair per dim, non-negative."""
    widths = tuple((int(b), int(a)) for b, a in widths)
    if all(b == 0 and a == 0 for b, a in widths):
        return x
    return Pad.apply(x, widths=widths, value=value)
