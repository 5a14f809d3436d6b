"""``torch.nn.utils.fusion``: fold an eval-mode BatchNorm into the convolution or linear layer before it.

With s = bn.weight / sqrt(running_var + eps), BatchNorm after a layer computes
s * (W x + b - running_mean) + bn.bias, which is one layer with weight s W (s scaling each output
channel) and bias s (b - running_mean) + bn.bias.
"""
from __future__ import annotations

import copy
from typing import TypeVar

from ... import factory, ops
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..conv import _ConvNd
from ..linear import Linear
from ..normalization import _BatchNorm
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]

ConvT = TypeVar("ConvT", bound=_ConvNd)
LinearT = TypeVar("LinearT", bound=Linear)


def fuse_conv_bn_eval(conv: ConvT, bn: _BatchNorm, transpose: bool = False) -> ConvT:
    """A new convolution (a deep copy of ``conv``) computing ``bn(conv(x))`` for eval mode; both must be
    in eval mode and ``bn`` must track running statistics. ``transpose`` for a transposed convolution
    (whose weight has the output channels in dim 1)."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias, transpose
    )
    return fused


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Tensor | None, bn_b: Tensor | None,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The (weight, bias) Parameters of the convolution equal to the convolution ``conv_w``, ``conv_b``
    followed by eval-mode BatchNorm; missing ``conv_b``, ``bn_w``, ``bn_b`` count as 0, 1, 0. They keep
    the dtypes of the convolution's tensors and the ``requires_grad`` of ``conv_w`` (and ``conv_b``)."""
    weight_dtype = conv_w.dtype
    bias_dtype = conv_b.dtype if conv_b is not None else weight_dtype
    bias_requires_grad = conv_b.requires_grad if conv_b is not None else False
    with no_grad():
        conv_b = factory.zeros_like(bn_rm) if conv_b is None else conv_b
        bn_w = factory.ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = factory.zeros_like(bn_rm) if bn_b is None else bn_b
        inv_std = ops.rsqrt(bn_rv + bn_eps)
        # The per-channel scale broadcast over the weight: output channels are dim 0, or dim 1 transposed.
        shape = [1, -1] if transpose else [-1, 1]
        shape += [1] * (conv_w.ndim - 2)
        fused_w = (conv_w * (bn_w * inv_std).reshape(shape)).to(dtype=weight_dtype)
        fused_b = ((conv_b - bn_rm) * inv_std * bn_w + bn_b).to(dtype=bias_dtype)
    return Parameter(fused_w, conv_w.requires_grad), Parameter(fused_b, bias_requires_grad)


def fuse_linear_bn_eval(linear: LinearT, bn: _BatchNorm) -> LinearT:
    """A new Linear (a deep copy of ``linear``) computing ``bn(linear(x))`` for eval mode; both must be in
    eval mode, and ``bn.num_features`` must equal ``linear.out_features`` or be 1."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
            f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}"
        )
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    return fused


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                           bn_w: Tensor | None, bn_b: Tensor | None) -> tuple[Parameter, Parameter]:
    """The (weight, bias) Parameters of the Linear equal to ``linear_w``, ``linear_b`` followed by
    eval-mode BatchNorm. PyTorch requires ``bn_w`` and ``bn_b``; here None counts as 1 and 0 (a
    BatchNorm with ``affine=False``), as in ``fuse_conv_bn_weights``."""
    weight_dtype = linear_w.dtype
    bias_dtype = linear_b.dtype if linear_b is not None else weight_dtype
    bias_requires_grad = linear_b.requires_grad if linear_b is not None else False
    with no_grad():
        linear_b = factory.zeros_like(bn_rm) if linear_b is None else linear_b
        bn_w = factory.ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = factory.zeros_like(bn_rm) if bn_b is None else bn_b
        scale = bn_w * ops.rsqrt(bn_rv + bn_eps)
        fused_w = linear_w * scale.unsqueeze(-1).to(dtype=weight_dtype)
        fused_b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=bias_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, bias_requires_grad)
