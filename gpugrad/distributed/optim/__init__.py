"""``torch.distributed.optim``: ZeroRedundancyOptimizer (optimizer state sharded over the ranks), which
gpugrad does not have yet. The name exists for scripts that import it beside an unsharded path
(karpathy/llm.c uses it only with zero_stage=1); making one says that it is absent."""
from __future__ import annotations

from typing import Any

__all__ = ["ZeroRedundancyOptimizer"]


class ZeroRedundancyOptimizer:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("ZeroRedundancyOptimizer: gpugrad has no sharded optimizer state yet; use the "
                                  "optimizer itself (each rank keeps the whole state) with DistributedDataParallel")
