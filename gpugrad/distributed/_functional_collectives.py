"""``torch.distributed._functional_collectives``: collectives that return a new tensor instead of writing
into one, and the point where one waits for such a tensor. gpugrad's collectives complete before they
return (CPU MPI; NCCL on the current stream), so a tensor they made is already there: ``wait_tensor`` has
nothing to wait for. transformers imports both names at import time wherever
``torch.distributed.is_available()`` (expert parallelism)."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from . import collectives

__all__ = ["all_to_all_single", "all_to_all_single_autograd", "wait_tensor"]


def wait_tensor(tensor: Tensor) -> Tensor:
    """Wait until the collective that made ``tensor`` has finished, and return it. Nothing is ever pending in
    gpugrad, so this is ``tensor`` itself (PyTorch returns an alias of it, the same data with gradient passing
    through unchanged)."""
    if not isinstance(tensor, Tensor):
        raise RuntimeError(f"wait_tensor(): expected a Tensor, got {type(tensor).__name__}")  # noqa: TRY004 (as PyTorch)
    return tensor


class AllToAllSingle(Function):
    @staticmethod
    def forward(ctx, tensor: Tensor, output_split_sizes, input_split_sizes, group):
        ctx.splits, ctx.group = (output_split_sizes, input_split_sizes), group
        rows = sum(output_split_sizes) if output_split_sizes is not None else tensor.shape[0]
        out = tensor.new_empty((rows, *tuple(tensor.shape[1:])))
        collectives.all_to_all_single(out, tensor.contiguous(), output_split_sizes, input_split_sizes, group=group)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        # What went from rank r's rows to rank s comes back along the same path: the exchange with the
        # splits swapped sends each part of the gradient to the rank whose input it came from.
        out_splits, in_splits = ctx.splits
        return AllToAllSingle.apply(grad, in_splits, out_splits, ctx.group), None, None, None


def all_to_all_single(self: Tensor, output_split_sizes, input_split_sizes, group=None, tag: str = "") -> Tensor:
    """``self`` split along dim 0 (evenly, or by ``input_split_sizes``), part r sent to rank r, and what every
    rank sent here concatenated rank by rank (``output_split_sizes`` rows from each), as a new tensor.
    Differentiable: the gradient travels back by the exchange with the splits swapped. ``group`` is a
    process group (None: the default one); ``tag`` is accepted for PyTorch's signature and unused, as in
    PyTorch."""
    if not isinstance(self, Tensor):
        raise TypeError(f"all_to_all_single: expected a Tensor, got {type(self).__name__}")
    osz = None if output_split_sizes is None else [int(s) for s in output_split_sizes]
    isz = None if input_split_sizes is None else [int(s) for s in input_split_sizes]
    return AllToAllSingle.apply(self, osz, isz, group)


all_to_all_single_autograd = all_to_all_single
