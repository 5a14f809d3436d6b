"""``torch.distributed._composable.fsdp``: the same objects as ``gg.distributed.fsdp``."""
from ..fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard  # noqa: F401

__all__ = ["FSDPModule", "MixedPrecisionPolicy", "fully_shard"]
