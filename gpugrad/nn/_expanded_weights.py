"""PyTorch's ExpandedWeights (``torch.nn.utils._per_sample_grad.call_for_per_sample_grads``): per-sample
gradients of a module's parameters, in one forward and one backward over the batch.

While ``call_for_per_sample_grads``' wrapper runs the module, each trainable parameter is replaced by an
``ExpandedWeight``: a Tensor with the parameter's values, marked with the batch size. The functions that know
it (F.linear, F.conv1d/2d/3d, F.embedding, F.layer_norm, F.group_norm, F.instance_norm, as PyTorch's set)
compute their usual output from a per-sample copy of the weight (a leaf of shape (batch, *weight.shape), the
weight expanded), written in batched ops (bmm, a grouped convolution, broadcast affine): backward's gradient
for that copy is the per-sample gradients, which a hook adds to the parameter's ``grad_sample`` (times the
batch size when the loss is a mean). The parameter's ``.grad`` is left alone, as in PyTorch. Any other op
given an ExpandedWeight refuses it (RuntimeError, as PyTorch's): Function.apply checks while the wrapper runs
(autograd/watch.py's ``expanded``), and costs nothing otherwise.
"""
from __future__ import annotations

from ..overrides import _disabled_torch_function_impl
from ..tensor import Tensor

__all__ = ["ExpandedWeight"]


class ExpandedWeight(Tensor):
    """A parameter standing in for itself with its batch size (``batch_size``), the loss reduction
    (``loss_reduction``) and whether the batch dim is first (``batch_first``)."""

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)

    __slots__ = ("orig_weight", "batch_size", "loss_reduction", "batch_first")
    _expanded_weight = True  # what Function.apply looks for while call_for_per_sample_grads runs

    def __new__(cls, orig_weight: Tensor, batch_size: int, loss_reduction: str, batch_first: bool = True):
        t = cls._make(orig_weight._array, orig_weight._backend)
        t._version_ref = orig_weight._version_ref
        t.requires_grad_(True)
        t.orig_weight, t.batch_size, t.loss_reduction, t.batch_first = orig_weight, batch_size, loss_reduction, batch_first
        return t

    def __init__(self, *args, **kwargs) -> None:
        pass

    def per_sample(self) -> Tensor:
        """A leaf of shape (batch_size, *shape) holding the weight per sample; its gradient goes to the original
        parameter's ``grad_sample``."""
        w = self.orig_weight
        copy = w.detach().unsqueeze(0).expand(self.batch_size, *w.shape).requires_grad_(True)
        scale = self.batch_size if self.loss_reduction == "mean" else 1

        def to_grad_sample(grad):
            g = grad * scale if scale != 1 else grad
            existing = getattr(w, "grad_sample", None)
            w.grad_sample = g.detach() if existing is None else existing + g.detach()
            return grad

        copy.register_hook(to_grad_sample)
        return copy


def _ew_of(*ts):
    for t in ts:
        if t.__class__ is ExpandedWeight:
            return t
    return None


def _batch_first(x: Tensor, ew: ExpandedWeight) -> Tensor:
    return x if ew.batch_first else x.movedim(1, 0)


def _check_batch(op: str, x: Tensor, ew: ExpandedWeight) -> None:
    dim = 0 if ew.batch_first else 1
    if x.ndim <= dim or x.shape[dim] != ew.batch_size:
        raise RuntimeError(f"Expanded Weights ({op}): expected the input's batch dim {dim} to be the batch size "
                           f"{ew.batch_size}, got input of shape {tuple(x.shape)}")


def _affine(y: Tensor, weight, bias, channel_dim: int, ew: ExpandedWeight) -> Tensor:
    """y * weight + bias with the per-sample weight and bias placed along ``channel_dims`` of y (batch first):
    weight's dims start at ``channel_dim`` of y."""
    for p in (weight, bias):
        if p is None:
            continue
        if p.__class__ is ExpandedWeight:
            v = p.per_sample()
        else:
            v = p.unsqueeze(0).expand(y.shape[0], *p.shape)
        shape = (y.shape[0],) + (1,) * (channel_dim - 1) + tuple(p.shape) + (1,) * (y.ndim - channel_dim - p.ndim)
        v = v.reshape(shape)
        y = y * v if p is weight else y + v
    return y


def linear(input: Tensor, weight: Tensor, bias) -> Tensor:
    from ..ops import bmm

    ew = _ew_of(weight, bias)
    _check_batch("linear", input, ew)
    x = _batch_first(input, ew)
    b = x.shape[0]
    x3 = x.reshape(b, -1, x.shape[-1])
    w = weight.per_sample() if weight.__class__ is ExpandedWeight else weight.unsqueeze(0).expand(b, *weight.shape)
    out = bmm(x3, w.transpose(1, 2))
    if bias is not None:
        bb = bias.per_sample() if bias.__class__ is ExpandedWeight else bias.unsqueeze(0).expand(b, *bias.shape)
        out = out + bb.unsqueeze(1)
    out = out.reshape(*x.shape[:-1], weight.shape[0])
    return out if ew.batch_first else out.movedim(0, 1)


def conv(conv_fn, input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int) -> Tensor:
    """A convolution of every sample with its own weight: the batch folded into the channels, as one
    convolution of batch * groups groups."""
    ew = _ew_of(weight, bias)
    if not ew.batch_first:
        raise RuntimeError("Expanded Weights: convolutions take the batch dim first")
    _check_batch("conv", input, ew)
    b = input.shape[0]
    w = weight.per_sample() if weight.__class__ is ExpandedWeight else weight.unsqueeze(0).expand(b, *weight.shape)
    folded = input.reshape(1, b * input.shape[1], *input.shape[2:])
    out = conv_fn(folded, w.reshape(b * weight.shape[0], *weight.shape[1:]), None, stride, padding, dilation,
                  groups * b)
    out = out.reshape(b, weight.shape[0], *out.shape[2:])
    if bias is not None:
        out = _affine(out, None, bias, 1, ew)
    return out


def embedding(input: Tensor, weight: Tensor, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse) -> Tensor:
    from ..factory import arange

    if max_norm is not None or scale_grad_by_freq or sparse:
        raise RuntimeError("Expanded Weights: embedding with max_norm, scale_grad_by_freq or sparse is not supported")
    _check_batch("embedding", input, weight)
    x = _batch_first(input, weight)
    b = x.shape[0]
    w = weight.per_sample()
    if padding_idx is not None:  # no gradient reaches the padding row, as F.embedding's
        from ..factory import ones

        keep = ones(weight.shape[0], 1, dtype=w.dtype, device=w.device)
        keep[padding_idx] = 0.0
        w = w * keep + (w * (1 - keep)).detach()
    rows = arange(b, device=x.device).reshape((b,) + (1,) * (x.ndim - 1))
    out = w[rows, x]
    return out if weight.batch_first else out.movedim(0, 1)


def layer_norm(input: Tensor, normalized_shape, weight, bias, eps: float) -> Tensor:
    from . import functional as F

    ew = _ew_of(weight, bias)
    _check_batch("layer_norm", input, ew)
    x = _batch_first(input, ew)
    y = F.layer_norm(x, normalized_shape, None, None, eps)
    out = _affine(y, weight, bias, x.ndim - len(tuple(normalized_shape)), ew)
    return out if ew.batch_first else out.movedim(0, 1)


def group_norm(input: Tensor, num_groups: int, weight, bias, eps: float) -> Tensor:
    from .functional_normalization import group_norm as plain

    ew = _ew_of(weight, bias)
    _check_batch("group_norm", input, ew)
    return _affine(plain(input, num_groups, None, None, eps), weight, bias, 1, ew)


def instance_norm(input: Tensor, running_mean, running_var, weight, bias, use_input_stats, momentum, eps) -> Tensor:
    from .functional_normalization import instance_norm as plain

    ew = _ew_of(weight, bias)
    _check_batch("instance_norm", input, ew)
    y = plain(input, running_mean, running_var, None, None, use_input_stats, momentum, eps)
    return _affine(y, weight, bias, 1, ew)
