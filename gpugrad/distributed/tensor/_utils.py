"""``torch.distributed.tensor._utils``: the shape arithmetic of DTensors over a DeviceMesh. gpugrad has no
DeviceMesh yet, so there is no mesh to compute over; the name exists because transformers imports it at
import time, and calling it says that it is absent."""
from __future__ import annotations

from typing import Any

_ABSENT = "gpugrad has no DTensor (sharded tensors over a DeviceMesh) yet"


def compute_local_shape_and_global_offset(global_shape: Any, mesh: Any, placements: Any, *args: Any, **kwargs: Any):
    raise NotImplementedError(f"compute_local_shape_and_global_offset: {_ABSENT}")
