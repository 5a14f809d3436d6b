"""torch.distributed.constants: the process groups' default timeouts."""
from __future__ import annotations

import datetime

from .process_group import default_pg_timeout

__all__ = ["default_pg_nccl_timeout", "default_pg_timeout"]

# PyTorch's NCCL groups have their own default; gpugrad's NCCL groups take the same 30 minutes as every other.
default_pg_nccl_timeout: datetime.timedelta | None = default_pg_timeout
