"""``torch.distributed.tensor``: tensors sharded over a DeviceMesh, which gpugrad does not have yet. The
names exist for code that checks for them (the Trainer's ``isinstance(p, DTensor)``: no gpugrad tensor
is one); making one says that it is absent. The placements (Shard, Replicate, Partial) are the plain
records PyTorch's are."""
from __future__ import annotations

from typing import Any

from ...overrides import _disabled_torch_function_impl
from ...tensor import Tensor
from . import placement_types  # noqa: F401  (torch.distributed.tensor.placement_types)
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "Partial", "Placement", "Replicate", "Shard", "distribute_tensor"]

_ABSENT = "gpugrad has no DTensor (sharded tensors over a DeviceMesh) yet"


class DTensor(Tensor):

    __torch_function__ = _disabled_torch_function_impl  # a plain Tensor to the protocol (gpugrad/overrides.py)
    def __new__(cls, *args: Any, **kwargs: Any):
        raise NotImplementedError(f"DTensor: {_ABSENT}")


def distribute_tensor(*args: Any, **kwargs: Any) -> DTensor:
    raise NotImplementedError(f"distribute_tensor: {_ABSENT}")
