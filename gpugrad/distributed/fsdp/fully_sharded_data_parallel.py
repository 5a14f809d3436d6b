"""``torch.distributed.fsdp.fully_sharded_data_parallel``: the module PyTorch defines FSDP1's wrapper in
(accelerate imports it from here to unwrap models). The same object as ``distributed.fsdp``'s, absent and
saying so."""
from . import FullyShardedDataParallel

__all__ = ["FullyShardedDataParallel"]
