"""Collectives on Tensors (torch.distributed's names, arguments and in-place semantics).

Each one checks its arguments, hands the Tensors' backend arrays to the group's backend and returns a
Work when ``async_op=True`` (None otherwise, after waiting). ``src``/``dst`` are ranks of the world, as in
PyTorch, translated to the group's own ranks here.
"""
from __future__ import annotations

from typing import Any

from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from . import process_group as _group
from .process_group import GroupMember, _pg
from .work import ReduceOp, Work

__all__ = [
    "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "barrier", "broadcast",
    "broadcast_object_list", "gather", "reduce", "reduce_scatter_tensor", "scatter",
]


_SUM = ReduceOp.SUM


def _check_tensor(op: str, name: str, t) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def _check_op(op_name: str, op, t: Tensor) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise ArgumentError(f"{op_name}: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX), got {op!r}")
    if op is ReduceOp.AVG and t._array.dtype.kind not in "fc":
        raise DTypeError(f"{op_name}: ReduceOp.AVG needs a floating-point tensor, got {t._array.dtype}")
    return op


def _group_rank(op: str, pg, rank: int, what: str) -> int:
    if rank not in pg.ranks:
        raise ArgumentError(f"{op}: {what}={rank} is not a rank of the group (its ranks: {pg.ranks})")
    return pg.ranks.index(rank)


def _bumped(*tensors: Tensor) -> None:
    """Collectives write into tensors in place: count it, as in-place ops do."""
    for t in tensors:
        t._version_ref[0] += 1


def _done(work: Work, async_op: bool, written: tuple[Tensor, ...] = ()) -> Work | None:
    _bumped(*written)
    if async_op:
        return work
    work.wait()
    return None


def _group_or_skip(group, op: str):
    """The process group; None when this rank is not a member (the collective is then a no-op, as PyTorch's)."""
    if group is None:
        world = _group._world
        if world is not None:
            return world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    return _pg(group, op)


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` over the group, in place on every rank."""
    if group is None and op is _SUM and not async_op and isinstance(tensor, Tensor):
        # The call a training loop makes most: as few Python steps as possible before MPI.
        pg = _group._world
        if pg is not None and pg.backend == "mpi":
            pg.allreduce_sync(tensor._array, op)
            tensor._version_ref[0] += 1
            return None
    _check_tensor("all_reduce", "tensor", tensor)
    pg = _group_or_skip(group, "all_reduce")
    if pg is None:
        return None
    if op is not ReduceOp.SUM:
        _check_op("all_reduce", op, tensor)
    if not async_op and pg.backend == "mpi":  # the common call, without a Work object (it adds ~5 us)
        pg.allreduce_sync(tensor._array, op)
        tensor._version_ref[0] += 1
        return None
    return _done(pg.allreduce(tensor._array, op), async_op, (tensor,))


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False) -> Work | None:
    """Rank ``src``'s ``tensor`` into every rank's ``tensor`` (same shape and dtype everywhere)."""
    _check_tensor("broadcast", "tensor", tensor)
    pg = _group_or_skip(group, "broadcast")
    if pg is None:
        return None
    root = _group_rank("broadcast", pg, src, "src")
    return _done(pg.broadcast(tensor._array, root), async_op, (tensor,) if pg.rank != root else ())


def _same(op: str, name: str, t: Tensor, ref: Tensor, shape=None) -> None:
    _check_tensor(op, name, t)
    if t._array.dtype != ref._array.dtype:
        raise DTypeError(f"{op}: {name} has dtype {t._array.dtype} but the input has {ref._array.dtype}")
    want = tuple(ref.shape) if shape is None else tuple(shape)
    if tuple(t.shape) != want:
        raise ShapeError(f"{op}: {name} has shape {tuple(t.shape)}, expected {want}")


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None, async_op: bool = False) -> Work | None:
    """Every rank's ``input_tensor`` into ``output_tensor``, rank by rank: its shape is either
    (world_size * n, ...) (concatenated) or (world_size, n, ...) (stacked)."""
    _check_tensor("all_gather_into_tensor", "input_tensor", input_tensor)
    pg = _group_or_skip(group, "all_gather_into_tensor")
    if pg is None:
        return None
    _check_tensor("all_gather_into_tensor", "output_tensor", output_tensor)
    _check_cat_or_stack("all_gather_into_tensor", "output_tensor", output_tensor, input_tensor, pg.size)
    out = output_tensor._array.reshape(-1) if output_tensor._array.flags.c_contiguous else None
    if out is None:
        raise ShapeError("all_gather_into_tensor: output_tensor must be contiguous")
    return _done(pg.allgather(input_tensor._array, out), async_op, (output_tensor,))


def _check_cat_or_stack(op: str, name: str, big: Tensor, small: Tensor, n: int) -> None:
    if big._array.dtype != small._array.dtype:
        raise DTypeError(f"{op}: {name} has dtype {big._array.dtype} but the other tensor has {small._array.dtype}")
    s = tuple(small.shape)
    cat = (n * s[0],) + s[1:] if s else (n,)
    stack = (n,) + s
    if tuple(big.shape) not in (cat, stack):
        raise ShapeError(f"{op}: {name} must have shape {cat} or {stack} for world size {n}, got {tuple(big.shape)}")


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False) -> Work | None:
    """Every rank's ``tensor`` into ``tensor_list[rank]`` (a list of world_size tensors like ``tensor``)."""
    _check_tensor("all_gather", "tensor", tensor)
    pg = _group_or_skip(group, "all_gather")
    if pg is None:
        return None
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != pg.size:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ArgumentError(f"all_gather: tensor_list must be a list of {pg.size} tensors (the world size), got {got}")
    for i, t in enumerate(tensor_list):
        _same("all_gather", f"tensor_list[{i}]", t, tensor)
    xp = tensor._backend.xp
    flat = xp.empty((pg.size,) + tuple(tensor._array.shape), dtype=tensor._array.dtype)
    work = pg.allgather(tensor._array, flat.reshape(-1))
    work._finish = _then(work._finish, lambda: [_copy(t, flat[i]) for i, t in enumerate(tensor_list)])
    return _done(work, async_op, tuple(tensor_list))


def _copy(t: Tensor, value) -> None:
    t._array[...] = value


def _then(first, second):
    def run() -> None:
        if first is not None:
            first()
        second()
    return run


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
                          async_op: bool = False) -> Work | None:
    """Reduce ``input`` (world_size chunks along dim 0, or stacked) over the group; rank r keeps chunk r in
    ``output``."""
    _check_tensor("reduce_scatter_tensor", "output", output)
    pg = _group_or_skip(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    _check_tensor("reduce_scatter_tensor", "input", input)
    _check_cat_or_stack("reduce_scatter_tensor", "input", input, output, pg.size)
    send = input._array if input._array.flags.c_contiguous else input._backend.xp.ascontiguousarray(input._array)
    work = pg.reduce_scatter(send.reshape(-1), output._array, _check_op("reduce_scatter_tensor", op, output))
    return _done(work, async_op, (output,))


def reduce(tensor: Tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` over the group into rank ``dst``'s ``tensor`` (the others' are left as they are)."""
    _check_tensor("reduce", "tensor", tensor)
    pg = _group_or_skip(group, "reduce")
    if pg is None:
        return None
    root = _group_rank("reduce", pg, dst, "dst")
    work = pg.reduce(tensor._array, root, _check_op("reduce", op, tensor))
    return _done(work, async_op, (tensor,) if pg.rank == root else ())


def gather(tensor: Tensor, gather_list: list | None = None, dst: int = 0, group=None, async_op: bool = False) -> Work | None:
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (which alone passes a list)."""
    _check_tensor("gather", "tensor", tensor)
    pg = _group_or_skip(group, "gather")
    if pg is None:
        return None
    root = _group_rank("gather", pg, dst, "dst")
    if pg.rank == root:
        if not isinstance(gather_list, (list, tuple)) or len(gather_list) != pg.size:
            raise ArgumentError(f"gather: rank {dst} (dst) must pass gather_list, a list of {pg.size} tensors")
        for i, t in enumerate(gather_list):
            _same("gather", f"gather_list[{i}]", t, tensor)
    elif gather_list:
        raise ArgumentError("gather: gather_list must be given on the dst rank only")
    xp = tensor._backend.xp
    flat = xp.empty((pg.size,) + tuple(tensor._array.shape), dtype=tensor._array.dtype) if pg.rank == root else None
    work = pg.gather(tensor._array, None if flat is None else flat.reshape(-1), root)
    if flat is not None:
        work._finish = _then(work._finish, lambda: [_copy(t, flat[i]) for i, t in enumerate(gather_list)])
    return _done(work, async_op, tuple(gather_list) if pg.rank == root else ())


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int = 0, group=None, async_op: bool = False) -> Work | None:
    """``scatter_list[r]`` on rank ``src`` into rank r's ``tensor``."""
    _check_tensor("scatter", "tensor", tensor)
    pg = _group_or_skip(group, "scatter")
    if pg is None:
        return None
    root = _group_rank("scatter", pg, src, "src")
    send = None
    if pg.rank == root:
        if not isinstance(scatter_list, (list, tuple)) or len(scatter_list) != pg.size:
            raise ArgumentError(f"scatter: rank {src} (src) must pass scatter_list, a list of {pg.size} tensors")
        for i, t in enumerate(scatter_list):
            _same("scatter", f"scatter_list[{i}]", t, tensor)
        send = tensor._backend.xp.stack([t._array for t in scatter_list]).reshape(-1)
    elif scatter_list:
        raise ArgumentError("scatter: scatter_list must be given on the src rank only")
    return _done(pg.scatter(send, tensor._array, root), async_op, (tensor,))


def barrier(group=None, async_op: bool = False, device_ids=None) -> Work | None:
    """Wait until every rank of the group has reached this call."""
    pg = _group_or_skip(group, "barrier")
    if pg is None:
        return None
    return _done(pg.barrier(), async_op)


def all_gather_object(object_list: list, obj: Any, group=None) -> None:
    """Every rank's picklable ``obj`` into ``object_list`` (of length world_size), in rank order."""
    pg = _group_or_skip(group, "all_gather_object")
    if pg is None:
        return None
    if len(object_list) != pg.size:
        raise ArgumentError(f"all_gather_object: object_list must have length {pg.size} (the world size), got {len(object_list)}")
    object_list[:] = pg.allgather_object(obj)


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Rank ``src``'s ``object_list`` items into every rank's ``object_list``, in place."""
    pg = _group_or_skip(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _group_rank("broadcast_object_list", pg, src, "src")
    object_list[:] = pg.broadcast_object(list(object_list), root)
