"""``torch.distributed.fsdp``: fully sharded data parallelism, which gpugrad does not have yet. The names
exist for code that checks for them (opacus' ``isinstance(module, FSDPModule)``, peft's tests importing
``FullyShardedDataParallel`` at module level: no gpugrad module is either, since nothing can make one);
``fully_shard`` and ``FullyShardedDataParallel(module)`` say that it is absent. ``MixedPrecisionPolicy`` is the plain
record of dtypes PyTorch's is (frozen), so that code building one imports and runs up to ``fully_shard``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CPUOffloadPolicy", "FSDPModule", "FullyShardedDataParallel", "MixedPrecisionPolicy", "OffloadPolicy",
           "fully_shard"]

_ABSENT = "gpugrad has no FSDP (fully sharded data parallelism) yet; DistributedDataParallel replicates a model"


class FSDPModule:
    """The class ``fully_shard`` mixes into a module it shards in PyTorch. gpugrad shards none, so no module
    is an instance; making one directly is refused."""

    def __new__(cls, *args: Any, **kwargs: Any):
        raise NotImplementedError(f"FSDPModule: {_ABSENT}")


class FullyShardedDataParallel:
    """FSDP1's wrapper module in PyTorch. gpugrad shards none, so wrapping a module is refused and no module is
    an instance."""

    def __new__(cls, *args: Any, **kwargs: Any):
        raise NotImplementedError(f"FullyShardedDataParallel: {_ABSENT}")


@dataclass(frozen=True)
class MixedPrecisionPolicy:
    """FSDP2's mixed precision settings: the dtypes of the unsharded parameters, of gradient reduction and of
    the forward outputs, and whether forward inputs are cast."""
    param_dtype: Any = None
    reduce_dtype: Any = None
    output_dtype: Any = None
    cast_forward_inputs: bool = True


def fully_shard(module, **kwargs: Any):
    raise NotImplementedError(f"fully_shard: {_ABSENT}")


@dataclass
class OffloadPolicy:
    """FSDP2's offload setting: the base, which offloads nothing."""


@dataclass
class CPUOffloadPolicy(OffloadPolicy):
    """FSDP2's setting that keeps sharded parameters on the CPU (pinned when ``pin_memory``)."""
    pin_memory: bool = True
