"""``torch.nn.grad``: the gradients of a convolution with respect to its input (``convNd_input``) and its
weight (``convNd_weight``), given the gradient of its output, for N = 1, 2, 3.

Each runs the convolution on a stand-in for the missing operand (zeros of ``input_size`` or ``weight_size``:
the convolution is linear in each, so the gradient does not depend on it) and takes the vector-Jacobian
product with ``grad_output`` through gpugrad's autograd: the result is what ``loss.backward()`` would put in
``.grad``, and stays differentiable in the tensors given when they require grad (as PyTorch's does).
"""
from __future__ import annotations

from collections.abc import Sequence

from .. import factory
from ..autograd import grad as _grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..tensor import Tensor
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _check(op: str, dims: int, size, tensors: dict) -> tuple[int, ...]:
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(t).__name__}")
        if t.ndim != dims + 2:
            raise RuntimeError(f"{op}: expected {name} to be {dims + 2}-D (batch, channels and {dims} spatial dims), "
                               f"got shape {tuple(t.shape)}")
    size = tuple(int(s) for s in size)
    if len(size) != dims + 2:
        raise RuntimeError(f"{op}: expected a size of {dims + 2} dims, got {size}")
    return size


def _stand_in_grad(op: str, dims: int, size: Sequence[int], grad_output: Tensor, conv_args: tuple,
                   input: Tensor | None = None, weight: Tensor | None = None) -> Tensor:
    """The gradient of the convolution in its operand not given (``input`` or ``weight``, of shape
    ``size``): the vjp with ``grad_output`` of the convolution run on a stand-in for it."""
    given_name, given = ("input", input) if weight is None else ("weight", weight)
    size = _check(op, dims, size, {given_name: given, "grad_output": grad_output})
    differentiable = is_grad_enabled() and (given.requires_grad or grad_output.requires_grad)
    with enable_grad():
        stand_in = factory.zeros(size, dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
        out = _CONV[dims](stand_in if input is None else input, stand_in if weight is None else weight, None, *conv_args)
        (result,) = _grad(out, stand_in, grad_output, create_graph=differentiable)
    return result


def conv1d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride=1, padding=0, dilation=1,
                 groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` with respect to its input of shape ``input_size`` (N, C_in, L), for the
    ``weight`` (C_out, C_in / groups, kW) and the output gradient ``grad_output`` (N, C_out, L_out)."""
    return _stand_in_grad("conv1d_input", 1, input_size, grad_output, (stride, padding, dilation, groups), weight=weight)


def conv1d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride=1, padding=0, dilation=1,
                  groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` with respect to its weight of shape ``weight_size`` (C_out, C_in / groups,
    kW), for the ``input`` (N, C_in, L) and the output gradient ``grad_output`` (N, C_out, L_out)."""
    return _stand_in_grad("conv1d_weight", 1, weight_size, grad_output, (stride, padding, dilation, groups), input=input)


def conv2d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride=1, padding=0, dilation=1,
                 groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its input of shape ``input_size`` (N, C_in, H, W), for the
    ``weight`` (C_out, C_in / groups, kH, kW) and the output gradient ``grad_output`` (N, C_out, H_out, W_out)."""
    return _stand_in_grad("conv2d_input", 2, input_size, grad_output, (stride, padding, dilation, groups), weight=weight)


def conv2d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride=1, padding=0, dilation=1,
                  groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its weight of shape ``weight_size`` (C_out, C_in / groups,
    kH, kW), for the ``input`` (N, C_in, H, W) and the output gradient ``grad_output``."""
    return _stand_in_grad("conv2d_weight", 2, weight_size, grad_output, (stride, padding, dilation, groups), input=input)


def conv3d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride=1, padding=0, dilation=1,
                 groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` with respect to its input of shape ``input_size`` (N, C_in, D, H, W), for
    the ``weight`` (C_out, C_in / groups, kD, kH, kW) and the output gradient ``grad_output``."""
    return _stand_in_grad("conv3d_input", 3, input_size, grad_output, (stride, padding, dilation, groups), weight=weight)


def conv3d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride=1, padding=0, dilation=1,
                  groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` with respect to its weight of shape ``weight_size`` (C_out, C_in / groups,
    kD, kH, kW), for the ``input`` (N, C_in, D, H, W) and the output gradient ``grad_output``."""
    return _stand_in_grad("conv3d_weight", 3, weight_size, grad_output, (stride, padding, dilation, groups), input=input)
