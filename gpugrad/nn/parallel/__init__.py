"""``torch.nn.parallel``: DataParallel over a single device (the module itself, as PyTorch runs it without
several GPUs). Replication across several GPUs is not in gpugrad: data-parallel training across
processes and GPUs is DistributedDataParallel's job (distributed.py, over gpugrad.distributed)."""
from __future__ import annotations

from ...errors import ArgumentError
from ..module import Module

from .distributed import DistributedDataParallel
from .scatter_gather import gather, scatter

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "gather", "scatter"]


def _single_device(op: str, device_ids) -> None:
    ids = list(device_ids) if device_ids is not None else []
    if len(ids) > 1:
        raise ArgumentError(
            f"{op}: gpugrad runs a module on one device; got device_ids={ids}. Replicating a module across "
            "several GPUs is not supported"
        )


class DataParallel(Module):
    """Runs ``module`` as it is: one device (``device_ids`` of length 0 or 1), as PyTorch's DataParallel
    does when there is a single GPU or none. ``model.module`` is the wrapped module."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        _single_device("DataParallel", device_ids)
        self.module = module
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0, module_kwargs=None):
    """``module(*inputs)`` on one device (see DataParallel)."""
    _single_device("data_parallel", device_ids)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))
