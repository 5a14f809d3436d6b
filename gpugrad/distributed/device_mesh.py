"""``torch.distributed.device_mesh``: a grid of ranks with one process group per axis, which gpugrad
does not have yet. The names exist for code that imports them or names them in annotations (diffusers'
context parallelism); making a mesh says that it is absent."""
from __future__ import annotations

from typing import Any

__all__ = ["DeviceMesh", "init_device_mesh"]

_ABSENT = ("gpugrad has no DeviceMesh yet: use init_process_group and new_group for each axis's ranks, "
           "and DistributedDataParallel over them")


class DeviceMesh:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"DeviceMesh: {_ABSENT}")


def init_device_mesh(*args: Any, **kwargs: Any) -> DeviceMesh:
    raise NotImplementedError(f"init_device_mesh: {_ABSENT}")
