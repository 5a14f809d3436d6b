"""``torch.distributed.tensor``: tensors sharded over a DeviceMesh, which gpugrad does not have yet. The
names exist for code that checks for them (the Trainer's ``isinstance(p, DTensor)``: no gpugrad tensor
is one); making one says that it is absent."""
from __future__ import annotations

from typing import Any

from ...tensor import Tensor

__all__ = ["DTensor", "distribute_tensor"]

_ABSENT = "gpugrad has no DTensor (sharded tensors over a DeviceMesh) yet"


class DTensor(Tensor):
    def __new__(cls, *args: Any, **kwargs: Any):
        raise NotImplementedError(f"DTensor: {_ABSENT}")


def distribute_tensor(*args: Any, **kwargs: Any) -> DTensor:
    raise NotImplementedError(f"distribute_tensor: {_ABSENT}")
