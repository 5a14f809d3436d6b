"""``torch.distributed.tensor.placement_types``: how a DTensor lies on one dimension of a DeviceMesh (sharded
along a tensor dimension, replicated, or a partial value awaiting a reduction). gpugrad has no DTensor yet;
the placements are the plain, hashable records PyTorch's are, with its predicates and its chunk arithmetic,
so that code that builds them at import time (transformers' tensor-parallel styles) runs."""
from __future__ import annotations

import operator

__all__ = ["Partial", "Placement", "Replicate", "Shard"]


class Placement:
    """The base of the placements: each answers which kind it is."""

    __slots__ = ()

    def is_shard(self, dim: int | None = None) -> bool:
        return False

    def is_replicate(self) -> bool:
        return False

    def is_partial(self, reduce_op: str | None = None) -> bool:
        return False

    def _key(self) -> tuple:
        return ()

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._key()))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}")


class Shard(Placement):
    """Sharded along tensor dimension ``dim``: rank r of the mesh dimension holds chunk r, as ``torch.chunk``
    cuts it."""

    __slots__ = ("dim",)

    def __init__(self, dim: int = 0):
        object.__setattr__(self, "dim", operator.index(dim))

    def is_shard(self, dim: int | None = None) -> bool:
        return dim is None or dim == self.dim

    def _key(self) -> tuple:
        return (self.dim,)

    @staticmethod
    def local_shard_size_and_offset(curr_local_size: int, num_chunks: int, rank: int) -> tuple[int, int]:
        """(rows, first row) of chunk ``rank`` when ``curr_local_size`` rows are cut into ``num_chunks`` chunks
        of ceil(size / num_chunks) rows, the last ones shorter or empty (``torch.chunk``'s cut; an empty chunk
        starts at the end)."""
        size, n, rank = operator.index(curr_local_size), operator.index(num_chunks), operator.index(rank)
        if n <= 0 or not 0 <= rank < n:
            raise ValueError(f"local_shard_size_and_offset: rank {rank} is not one of {n} chunks")
        full = -(-size // n)
        offset = min(rank * full, size)
        return min(size, offset + full) - offset, offset

    _local_shard_size_and_offset = local_shard_size_and_offset

    def __repr__(self) -> str:
        return f"Shard(dim={self.dim})"

    def __str__(self) -> str:
        return f"S({self.dim})"


class _StridedShard(Placement):
    """A shard of a shard: dimension ``dim`` first cut into ``split_factor`` pieces, each of those sharded
    (what FSDP over tensor parallelism makes). Not a ``Shard``: ``is_shard()`` is False, as in PyTorch."""

    __slots__ = ("dim", "split_factor")

    def __init__(self, dim: int, split_factor: int = 1):
        object.__setattr__(self, "dim", operator.index(dim))
        object.__setattr__(self, "split_factor", operator.index(split_factor))

    def _key(self) -> tuple:
        return (self.dim, self.split_factor)

    def __repr__(self) -> str:
        return f"_StridedShard(dim={self.dim}, sf={self.split_factor})"

    def __str__(self) -> str:
        return f"_S({self.dim}, {self.split_factor})"


class Replicate(Placement):
    """Every rank of the mesh dimension holds the whole tensor."""

    __slots__ = ()

    def is_replicate(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "Replicate()"

    def __str__(self) -> str:
        return "R"


class Partial(Placement):
    """Every rank holds a partial value; the tensor is their reduction by ``reduce_op``."""

    __slots__ = ("reduce_op",)
    ALL_REDUCE_OPS = ("sum", "avg", "min", "max", "product")
    LINEAR_REDUCE_OPS = ("sum", "avg")

    def __init__(self, reduce_op: str = "sum"):
        object.__setattr__(self, "reduce_op", reduce_op)

    def is_partial(self, reduce_op: str | None = None) -> bool:
        return reduce_op is None or reduce_op == self.reduce_op

    def _key(self) -> tuple:
        return (self.reduce_op,)

    def __repr__(self) -> str:
        return f"Partial({self.reduce_op})"

    def __str__(self) -> str:
        return f"P({self.reduce_op})"
