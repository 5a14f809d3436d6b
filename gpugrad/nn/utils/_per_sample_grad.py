"""``torch.nn.utils._per_sample_grad.call_for_per_sample_grads``: run a module so that backward leaves each
trainable parameter's per-sample gradients in ``param.grad_sample`` (batch first), with ExpandedWeights
(gpugrad/nn/_expanded_weights.py: F.linear, the convolutions, F.embedding and the layer, group and instance
norms know them; any other op given one raises RuntimeError, as PyTorch's)."""
from __future__ import annotations

import functools

from ...autograd import watch as _watch
from ...tensor import Tensor
from ...utils._pytree import tree_leaves
from .._expanded_weights import ExpandedWeight
from ..module import Module

__all__ = ["call_for_per_sample_grads"]


def call_for_per_sample_grads(module, *, batch_size=None, loss_reduction="sum", batch_first=True):
    """A function that runs ``module`` with its trainable parameters as ExpandedWeights: after backward, each
    has ``grad_sample`` of shape (batch, *param.shape) and no ``.grad``. ``batch_size`` defaults to the batch
    dim of the tensor arguments (dim 0, or dim 1 when ``batch_first=False``), which must agree. With
    ``loss_reduction="mean"`` the per-sample gradients are scaled by the batch size, undoing the mean's
    1/batch. A ``grad_sample`` left from an earlier call is refused: clear it first, as PyTorch asks."""
    if loss_reduction not in ("sum", "mean"):
        raise RuntimeError(f"Expected loss_reduction argument to be sum or mean, got {loss_reduction}")
    if not isinstance(module, Module):
        raise RuntimeError(f"Module passed must be nn.Module, got {type(module).__name__}")
    if not (batch_size is None or isinstance(batch_size, int)):
        raise RuntimeError(f"Batch size passed must be None or an integer, got {type(batch_size).__name__}")
    if batch_size is not None and batch_size < 1:
        raise RuntimeError(f"Batch size must be positive, got {batch_size}")
    for weight in module.parameters():
        if getattr(weight, "grad_sample", None) is not None:
            raise RuntimeError(
                "Current Expanded Weights accumulates the gradients, which will be incorrect for multiple calls "
                f"without clearing gradients. Please clear out the grad_sample parameter of {weight} or post an "
                "issue to pytorch/pytorch to prioritize correct behavior")

    def compute_batch_size(args, kwargs) -> int:
        found = None
        for arg in tree_leaves((args, kwargs)):
            if not isinstance(arg, Tensor):
                continue
            size = arg.shape[0] if batch_first else arg.shape[1]
            if found is not None and found != size:
                raise RuntimeError(
                    f"When computing batch size, found at least one input with batch size {found} and one with "
                    f"batch size {size}. Please specify it explicitly using the batch size kwarg in "
                    "call_for_per_sample_grads")
            found = size
        if found is None:
            raise RuntimeError("Unable to find a tensor in the passed args and kwargs. They may not be pytree-able "
                               "and so ExpandedWeights cannot compute the batch size from the inputs. Please "
                               "specify it explicitly")
        return found

    @functools.wraps(module.forward)
    def wrapper(*args, **kwargs):
        from ...func import functional_call

        size = batch_size if batch_size is not None else compute_batch_size(args, kwargs)
        params = {name: ExpandedWeight(p, size, loss_reduction, batch_first) if p.requires_grad else p
                  for name, p in module.named_parameters()}
        state = _watch.state
        state.expanded += 1
        _watch.refresh()
        try:
            return functional_call(module, params, args, kwargs)
        finally:
            state.expanded -= 1
            _watch.refresh()

    return wrapper
