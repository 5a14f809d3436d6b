"""torch.distributed.nn: collectives that are differentiable, as contrastive losses across ranks use them
(``torch.distributed.nn.all_gather`` of the embeddings, say). Each is an autograd Function over the
collective of collectives.py: the gradient of a sum over ranks is the sum of the ranks' gradients."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from . import collectives
from .process_group import get_rank, get_world_size
from .work import ReduceOp

__all__ = ["all_reduce", "all_gather"]  # (AllReduce and AllGather are their autograd Functions)


class AllReduce(Function):
    @staticmethod
    def forward(ctx, tensor: Tensor, op, group):
        ctx.op, ctx.group = op, group
        out = tensor.clone()
        collectives.all_reduce(out, op=op, group=group)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        if ctx.op not in (ReduceOp.SUM, ReduceOp.AVG):
            raise RuntimeError(f"distributed.nn.all_reduce: only SUM and AVG have gradients, got {ctx.op}")
        return AllReduce.apply(grad, ctx.op, ctx.group), None, None


def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None) -> Tensor:
    """``tensor`` reduced over the group, as a new tensor (the input is unchanged); differentiable for SUM
    and AVG: each rank's gradient is the reduction of every rank's."""
    return AllReduce.apply(tensor, op, group)


class AllGather(Function):
    @staticmethod
    def forward(ctx, tensor: Tensor, group):
        ctx.group = group
        parts = [tensor.new_empty(tuple(tensor.shape)) for _ in range(get_world_size(group))]
        collectives.all_gather(parts, tensor.contiguous(), group=group)
        return tuple(parts)

    @staticmethod
    def backward(ctx, *grads: Tensor):
        # Rank r's input reached every rank as output r: its gradient is the sum over ranks of their
        # gradients for output r (a reduce-scatter, here an all-reduce of all of them, then this rank's).
        from ..ops import stack

        summed = AllReduce.apply(stack(list(grads)), ReduceOp.SUM, ctx.group)
        return summed[get_rank(ctx.group)], None


def all_gather(tensor: Tensor, group=None) -> tuple:
    """Every rank's ``tensor``, one per rank in rank order, differentiable: a rank's input gets the sum of
    the gradients every rank gives its copy."""
    return AllGather.apply(tensor, group)
