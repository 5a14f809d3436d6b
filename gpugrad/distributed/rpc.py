"""``torch.distributed.rpc``: gpugrad has no RPC framework (remote calls, RRefs, distributed autograd),
so this module is what PyTorch's is in a build without RPC support: ``is_available()`` is False and
none of its API is defined. Libraries import it unconditionally and check ``is_available()`` or
``hasattr(rpc, "api")`` before using it."""
from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """False: gpugrad has no RPC framework."""
    return False
