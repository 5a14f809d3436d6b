"""Matrix products."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._operands import reflected


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.a_shape, ctx.b_shape
        if len(a_shape) == 2 and len(b_shape) == 2 and not is_grad_enabled():
            # Plain backward of a matrix product: the two GEMMs on arrays, no op applications.
            backend, g = ctx.backend, gy.data
            ga = None if b is None else Tensor._make(g @ b.data.T, backend)
            gb = None if a is None else Tensor._make(a.data.T @ g, backend)
            return ga, gb
        if len(a_shape) == 1 and len(b_shape) == 1:  # dot product
            return (gy * b if b is not None else None), (gy * a if a is not None else None)
        # Promote vectors to matrices as matmul does, so both gradients are ordinary matrix products.
        if len(a_shape) == 1:
            gy = gy.unsqueeze(-2)
        if len(b_shape) == 1:
            gy = gy.unsqueeze(-1)
        ga = gb = None
        if b is not None:
            b2 = b.unsqueeze(-1) if len(b_shape) == 1 else b
            ga = (gy @ b2.mT).sum_to_size(a_shape if len(a_shape) > 1 else (1,) + a_shape)
            if len(a_shape) == 1:
                ga = ga.reshape(a_shape)
        if a is not None:
            a2 = a.unsqueeze(0) if len(a_shape) == 1 else a
            gb = (a2.mT @ gy).sum_to_size(b_shape if len(b_shape) > 1 else b_shape + (1,))
            if len(b_shape) == 1:
                gb = gb.reshape(b_shape)
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch rules: vectors are promoted, batch dims broadcast.

    d/dA (A @ B) applied to G is G @ B^T; d/dB is A^T @ G.
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied ({k_a} != {k_b})")
    if a.data.dtype != b.data.dtype:
        raise DTypeError(f"matmul: expected both arguments to have the same dtype, got {a.dtype} and {b.dtype}")
    return MatMul.apply(a, b)


def mT(x: Tensor) -> Tensor:
    """The last two dims swapped (a batch of matrix transposes)."""
    if x.ndim < 2:
        raise ShapeError(f"mT: expects a tensor with >= 2 dimensions, got shape {tuple(x.shape)}")
    return x.transpose(-2, -1)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expects 1-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (matmul, dot)
DIFFERENTIABLE = FUNCTIONS
METHODS = {"matmul": matmul, "dot": dot, "mT": property(mT), "__matmul__": matmul, "__rmatmul__": reflected(matmul)}
