"""``torch.distributed.fsdp``: fully sharded data parallelism, which gpugrad does not have yet. The names
exist for code that checks for them (opacus' ``isinstance(module, FSDPModule)``: no gpugrad module is one,
since nothing can make one); ``fully_shard`` says that it is absent. ``MixedPrecisionPolicy`` is the plain
record of dtypes PyTorch's is (frozen), so that code building one imports and runs up to ``fully_shard``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FSDPModule", "MixedPrecisionPolicy", "fully_shard"]

_ABSENT = "gpugrad has no FSDP (fully sharded data parallelism) yet; DistributedDataParallel replicates a model"


class FSDPModule:
    """The class ``fully_shard`` mixes into a module it shards in PyTorch. gpugrad shards none, so no module
    is an instance; making one directly is refused."""

    def __new__(cls, *args: Any, **kwargs: Any):
        raise NotImplementedError(f"FSDPModule: {_ABSENT}")


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
