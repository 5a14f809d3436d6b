"""SyncBatchNorm: batch normalisation whose training statistics span every rank of a process group.

In training under an initialised process group of more than one rank, the per-channel mean and variance
are those of the union of all ranks' batches. They are built from per-rank sums passed through a
differentiable all-reduce (forward: sum over the ranks; backward: the same sum of the gradients), then the
ordinary Tensor ops, so the gradient through the global statistics is right by construction, to every
order. Otherwise (eval, no process group, a world of one) it is exactly BatchNorm.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..ops.batch_norm import _composite, _update_running
from ..ops.shape import cat
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


class _AllReduceSum(Function):
    """Sum of ``x`` over the ranks of ``group`` (a new array; ``x`` is left alone). Every rank's output
    depends on every rank's input, so the gradient for this rank's input is the sum of all ranks'
    output gradients: the same collective again, applied through this Function so that it too is
    differentiable."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, x, group):
        import gpugrad.distributed as dist  # at call time: importing nn must not load the MPI/NCCL backends

        ctx.group = group
        out = Tensor._make(x.copy(), ctx.backend)
        dist.all_reduce(out, dist.ReduceOp.SUM, group=group)
        return out._array

    @staticmethod
    def backward(ctx, gy):
        return _AllReduceSum.apply(gy, ctx.group), None


def _all_reduce_sum(x: Tensor, group) -> Tensor:
    return _AllReduceSum.apply(x, group)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, ...) inputs with statistics shared by the ranks of ``process_group``
    (the world when None), as ``torch.nn.SyncBatchNorm``.

    Training under an initialised process group of several ranks normalises with the mean and biased
    variance of all ranks' batches together, moves the running statistics towards that mean and the
    unbiased variance, and sends gradients through the shared statistics to every rank. In eval, without
    a process group, or in a world of one it is BatchNorm. Every rank of the group must call it together
    (forward and backward), with the same number of channels.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2:  # PyTorch's check and message (a ValueError there too)
            raise ShapeError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] == 0:
            raise ShapeError("SyncBatchNorm number of input channels should be non-zero")
        factor, counting, bn_training, running_mean, running_var = self._running_stats()
        if bn_training and self.training and self._needs_sync():
            out = self._synced(input, running_mean, running_var, factor, self.process_group)
        else:
            out = F.batch_norm(input, running_mean, running_var, self.weight, self.bias, bn_training, factor, self.eps)
        if counting:  # as BatchNorm: a batch that was rejected does not count
            self.num_batches_tracked.add_(1)
        return out

    def _needs_sync(self) -> bool:
        """Whether there are other ranks to share statistics with (a non-member's world size is -1)."""
        import gpugrad.distributed as dist  # at call time, as DistributedDataParallel does

        return dist.is_initialized() and dist.get_world_size(self.process_group) > 1

    def _synced(self, input: Tensor, running_mean, running_var, factor: float, group) -> Tensor:
        """Training with the statistics of every rank's batch (``group`` None: the world)."""
        c = input.shape[1]
        for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", self.weight),
                        ("bias", self.bias)):
            if t is not None and tuple(t.shape) != (c,):
                raise ShapeError(f"SyncBatchNorm: {name} must have shape ({c},) for input of shape "
                                 f"{tuple(input.shape)}, got {tuple(t.shape)}")
        dims = (0,) + tuple(range(2, input.ndim))
        shape = (1, c) + (1,) * (input.ndim - 2)
        # One collective for the sums and the element count (a rank's batch may be empty or of another size),
        # a second for the centred squares: two passes keep the variance free of E[x^2] - E[x]^2 cancellation.
        local = input.numel() // c
        count_here = input.new_full((1,), float(local))
        totals = _all_reduce_sum(cat([input.sum(dim=dims), count_here]), group)
        count = totals[c]
        mean = totals[:c] / count
        centred = input - mean.reshape(shape)
        var = _all_reduce_sum((centred * centred).sum(dim=dims), group) / count
        with no_grad():
            if running_mean is not None:
                _update_running(running_mean, mean.detach(), factor)
            if running_var is not None:
                _update_running(running_var, var.detach() * (count / (count - 1)), factor)
        return _composite(input, mean, var, self.weight, self.bias, self.eps)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every BatchNorm layer in ``module`` (itself included) by a SyncBatchNorm that shares its
        parameters and buffers and keeps its training flag; returns ``module``, or the new layer when
        ``module`` is itself a BatchNorm layer."""
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                with no_grad():  # the same Parameter objects: requires_grad and optimizer state go along
                    converted.weight = module.weight
                    converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
            if hasattr(module, "qconfig"):
                converted.qconfig = module.qconfig
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted

