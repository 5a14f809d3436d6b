"""Collectives on Tensors (torch.distributed's names, arguments and in-place semantics).

Each one checks its arguments, hands the Tensors' backend arrays to the group's backend and returns a
Work when ``async_op=True`` (None otherwise, after waiting). ``src``/``dst`` are ranks of the world, as in
PyTorch, translated to the group's own ranks here; ``group_src``/``group_dst`` name a rank of the group
itself (one or the other, not both). Outputs that the backend does not write directly (lists of tensors)
are filled only when the collective has completed, so a failed one leaves them as they were.
"""
from __future__ import annotations

import datetime
import operator
from typing import Any

from ..dtypes import INEXACT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..tensor import Tensor
from . import process_group as _group
from .process_group import GroupMember, _pg
from .work import ReduceOp, Work

__all__ = [
    "all_gather", "all_gather_coalesced", "all_gather_into_tensor", "all_gather_object", "all_reduce",
    "all_reduce_coalesced", "all_to_all", "all_to_all_single", "barrier", "broadcast", "broadcast_object_list",
    "gather", "gather_object", "monitored_barrier", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter",
    "scatter_object_list",
]


_SUM = ReduceOp.SUM
_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)


def _check_tensor(op: str, name: str, t) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def _check_op(op_name: str, op, t: Tensor) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise ArgumentError(f"{op_name}: op must be a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX, BAND, BOR, BXOR), "
                            f"got {op!r}")
    if op is ReduceOp.AVG and t._array.dtype.kind not in INEXACT_KINDS:
        raise DTypeError(f"{op_name}: ReduceOp.AVG needs a floating-point tensor, got {t._array.dtype}")
    if op in _BITWISE and t._array.dtype.kind not in "biu":
        raise DTypeError(f"{op_name}: cannot use {op!r} with non-integral dtype {t._array.dtype}")
    return op


def _group_rank(op: str, pg, rank: int, what: str) -> int:
    if rank not in pg.ranks:
        raise ArgumentError(f"{op}: {what}={rank} is not a rank of the group (its ranks: {pg.ranks})")
    return pg.ranks.index(rank)


def _root(op: str, pg, rank: int | None, group_rank: int | None, what: str, default: int | None = 0) -> int:
    """The group rank that ``what`` (a global rank) or ``group_what`` (a group rank) names (PyTorch's
    _canonicalize_group_rank); neither given: global rank ``default`` (None: one must be given)."""
    if group_rank is not None:
        if rank is not None:
            raise ArgumentError(f"{op}: pass {what} (a global rank) or group_{what} (a rank of the group), not both")
        try:
            index = operator.index(group_rank)
        except TypeError:
            index = -1
        if isinstance(group_rank, bool) or not 0 <= index < pg.size:
            raise ArgumentError(f"{op}: group_{what}={group_rank!r} is not a rank of the group (0..{pg.size - 1})")
        return index
    if rank is None:
        if default is None:
            raise ArgumentError(f"{op}: {what} (a global rank) or group_{what} (a rank of the group) must be given")
        rank = default
    return _group_rank(op, pg, rank, what)


def _check_list(op: str, name: str, tensors) -> list:
    """``tensors`` as a list of Tensors."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: {name} must be a list of Tensors, got {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        _check_tensor(op, f"{name}[{i}]", t)
    return list(tensors)


def _check_alike(op: str, tensors: list, names: list) -> None:
    """One dtype and one device for all of ``tensors`` (named by ``names``), as every backend needs."""
    if not tensors:
        return
    first, first_name = tensors[0], names[0]
    for t, name in zip(tensors[1:], names[1:]):
        if t._array.dtype != first._array.dtype:
            raise DTypeError(f"{op}: {name} has dtype {t._array.dtype} but {first_name} has {first._array.dtype}")
        if t.device != first.device:
            raise DeviceError(f"{op}: {name} is on {t.device} but {first_name} is on {first.device}")


def _contiguous(t: Tensor):
    a = t._array
    return a if a.flags.c_contiguous else t._backend.xp.ascontiguousarray(a)


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


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Rank ``src``'s (default 0) ``tensor`` into every rank's ``tensor`` (same shape and dtype everywhere)."""
    _check_tensor("broadcast", "tensor", tensor)
    pg = _group_or_skip(group, "broadcast")
    if pg is None:
        return None
    root = _root("broadcast", pg, src, group_src, "src")
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


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Reduce ``tensor`` over the group into rank ``dst``'s (default 0) ``tensor`` (the others' are left as
    they are)."""
    _check_tensor("reduce", "tensor", tensor)
    pg = _group_or_skip(group, "reduce")
    if pg is None:
        return None
    root = _root("reduce", pg, dst, group_dst, "dst")
    work = pg.reduce(tensor._array, root, _check_op("reduce", op, tensor))
    return _done(work, async_op, (tensor,) if pg.rank == root else ())


def gather(tensor: Tensor, gather_list: list | None = None, dst: int | None = None, group=None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (default 0; it alone passes a list)."""
    _check_tensor("gather", "tensor", tensor)
    pg = _group_or_skip(group, "gather")
    if pg is None:
        return None
    root = _root("gather", pg, dst, group_dst, "dst")
    if pg.rank == root:
        if not isinstance(gather_list, (list, tuple)) or len(gather_list) != pg.size:
            raise ArgumentError(f"gather: rank {pg.ranks[root]} (dst) must pass gather_list, a list of {pg.size} "
                                "tensors")
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


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int | None = None, group=None,
            async_op: bool = False, group_src: int | None = None) -> Work | None:
    """``scatter_list[r]`` on rank ``src`` (default 0) into rank r's ``tensor``."""
    _check_tensor("scatter", "tensor", tensor)
    pg = _group_or_skip(group, "scatter")
    if pg is None:
        return None
    root = _root("scatter", pg, src, group_src, "src")
    send = None
    if pg.rank == root:
        if not isinstance(scatter_list, (list, tuple)) or len(scatter_list) != pg.size:
            raise ArgumentError(f"scatter: rank {pg.ranks[root]} (src) must pass scatter_list, a list of {pg.size} "
                                "tensors")
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


def broadcast_object_list(object_list: list, src: int | None = None, group=None, device=None,
                          group_src: int | None = None) -> None:
    """Rank ``src``'s (default 0) ``object_list`` items into every rank's ``object_list``, in place."""
    pg = _group_or_skip(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _root("broadcast_object_list", pg, src, group_src, "src")
    object_list[:] = pg.broadcast_object(list(object_list), root)


def _offsets(counts: list[int]) -> list[int]:
    out, at = [], 0
    for c in counts:
        out.append(at)
        at += c
    return out


def _splits(op: str, name: str, sizes, rows: int, n: int) -> list[int]:
    """Rows of dim 0 per rank: ``sizes`` checked, or an even split where it is None or empty."""
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise ShapeError(f"{op}: {name}'s dim 0 ({rows}) does not divide evenly by the group's size ({n}); "
                             f"pass {name}_split_sizes")
        return [rows // n] * n
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise ArgumentError(f"{op}: {name}_split_sizes must be a list of integers, got {sizes!r}") from None
    if len(sizes) != n or any(s < 0 for s in sizes) or sum(sizes) != rows:
        raise ShapeError(f"{op}: {name}_split_sizes must be {n} non-negative integers (one per rank of the group) "
                         f"summing to {name}'s dim 0 ({rows}), got {sizes}")
    return sizes


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op: bool = False) -> Work | None:
    """Split ``input`` along dim 0 (evenly, or by ``input_split_sizes``), send part r to rank r, and
    concatenate what each rank sends here into ``output`` (split by ``output_split_sizes``), rank by rank."""
    name = "all_to_all_single"
    _check_tensor(name, "output", output)
    _check_tensor(name, "input", input)
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    _check_alike(name, [output, input], ["output", "input"])
    if input.ndim == 0 or output.ndim == 0:
        raise ShapeError(f"{name}: input and output need a dim 0 to split, got shapes {tuple(input.shape)} and "
                         f"{tuple(output.shape)}")
    row = _prod(input.shape[1:])
    if _prod(output.shape[1:]) != row:
        raise ShapeError(f"{name}: a row of output (shape {tuple(output.shape[1:])}) must hold as many elements as a "
                         f"row of input (shape {tuple(input.shape[1:])})")
    scounts = [c * row for c in _splits(name, "input", input_split_sizes, input.shape[0], pg.size)]
    rcounts = [c * row for c in _splits(name, "output", output_split_sizes, output.shape[0], pg.size)]
    work = pg.alltoallv(_contiguous(input), scounts, _offsets(scounts), output._array, rcounts, _offsets(rcounts))
    return _done(work, async_op, (output,))


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def all_to_all(output_tensor_list: list, input_tensor_list: list, group=None, async_op: bool = False) -> Work | None:
    """``input_tensor_list[r]`` to rank r; what rank r sends here into ``output_tensor_list[r]`` (the sizes
    may differ from rank to rank; each pair of ranks must agree)."""
    name = "all_to_all"
    outs = _check_list(name, "output_tensor_list", output_tensor_list)
    ins = _check_list(name, "input_tensor_list", input_tensor_list)
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    for lst, what in ((outs, "output_tensor_list"), (ins, "input_tensor_list")):
        if len(lst) != pg.size:
            raise ArgumentError(f"{name}: {what} must hold {pg.size} tensors (the group's size), got {len(lst)}")
    _check_alike(name, ins + outs, [f"input_tensor_list[{i}]" for i in range(len(ins))]
                 + [f"output_tensor_list[{i}]" for i in range(len(outs))])
    xp = ins[0]._backend.xp
    send = xp.concatenate([t._array.reshape(-1) for t in ins])
    scounts = [t._array.size for t in ins]
    rcounts = [t._array.size for t in outs]
    rdispls = _offsets(rcounts)
    flat = xp.empty(sum(rcounts), dtype=ins[0]._array.dtype)
    work = pg.alltoallv(send, scounts, _offsets(scounts), flat, rcounts, rdispls)
    work._finish = _then(work._finish, lambda: [_copy(t, flat[d : d + c].reshape(t._array.shape))
                                                for t, c, d in zip(outs, rcounts, rdispls)])
    return _done(work, async_op, tuple(outs))


def reduce_scatter(output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False) -> Work | None:
    """Reduce ``input_list`` (one tensor per rank, each like ``output``) over the group; rank r gets the
    reduction of every rank's ``input_list[r]`` in ``output``."""
    name = "reduce_scatter"
    _check_tensor(name, "output", output)
    ins = _check_list(name, "input_list", input_list)
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    if len(ins) != pg.size:
        raise ArgumentError(f"{name}: input_list must hold {pg.size} tensors (the group's size), got {len(ins)}")
    _check_alike(name, [output] + ins, ["output"] + [f"input_list[{i}]" for i in range(len(ins))])
    for i, t in enumerate(ins):
        _same(name, f"input_list[{i}]", t, output)
    op = _check_op(name, op, output)
    send = output._backend.xp.stack([t._array for t in ins]).reshape(-1)
    return _done(pg.reduce_scatter(send, output._array, op), async_op, (output,))


def all_reduce_coalesced(tensors, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False) -> Work | None:
    """``all_reduce`` of each of ``tensors`` (one dtype and device), as one message."""
    name = "all_reduce_coalesced"
    ts = _check_list(name, "tensors", [tensors] if isinstance(tensors, Tensor) else tensors)
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    if not ts:
        raise ArgumentError(f"{name}: tensors must hold at least one tensor")
    _check_alike(name, ts, [f"tensors[{i}]" for i in range(len(ts))])
    op = _check_op(name, op, ts[0])
    xp = ts[0]._backend.xp
    flat = xp.concatenate([t._array.reshape(-1) for t in ts])
    counts = [t._array.size for t in ts]
    work = pg.allreduce(flat, op)
    work._finish = _then(work._finish, lambda: [_copy(t, flat[d : d + c].reshape(t._array.shape))
                                                for t, c, d in zip(ts, counts, _offsets(counts))])
    return _done(work, async_op, tuple(ts))


def all_gather_coalesced(output_tensor_lists: list, input_tensor_list: list, group=None,
                         async_op: bool = False) -> Work | None:
    """``all_gather`` of each of ``input_tensor_list``, as one message: rank r's ``input_tensor_list[i]``
    into ``output_tensor_lists[r][i]`` on every rank."""
    name = "all_gather_coalesced"
    ins = _check_list(name, "input_tensor_list", input_tensor_list)
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    if not ins:
        raise ArgumentError(f"{name}: input_tensor_list must hold at least one tensor")
    if not isinstance(output_tensor_lists, (list, tuple)) or len(output_tensor_lists) != pg.size:
        is_list = isinstance(output_tensor_lists, (list, tuple))
        got = len(output_tensor_lists) if is_list else type(output_tensor_lists).__name__
        raise ArgumentError(f"{name}: output_tensor_lists must hold {pg.size} lists (one per rank of the group), "
                            f"got {got}")
    outs = []
    for r, lst in enumerate(output_tensor_lists):
        lst = _check_list(name, f"output_tensor_lists[{r}]", lst)
        if len(lst) != len(ins):
            raise ArgumentError(f"{name}: output_tensor_lists[{r}] must hold {len(ins)} tensors (as "
                                f"input_tensor_list), got {len(lst)}")
        for i, t in enumerate(lst):
            _same(name, f"output_tensor_lists[{r}][{i}]", t, ins[i])
        outs.append(lst)
    _check_alike(name, ins + [t for lst in outs for t in lst],
                 [f"input_tensor_list[{i}]" for i in range(len(ins))]
                 + [f"output_tensor_lists[{r}][{i}]" for r in range(len(outs)) for i in range(len(ins))])
    xp = ins[0]._backend.xp
    send = xp.concatenate([t._array.reshape(-1) for t in ins])
    flat = xp.empty((pg.size, send.size), dtype=send.dtype)
    counts = [t._array.size for t in ins]

    def unpack() -> None:
        for r, lst in enumerate(outs):
            for t, c, d in zip(lst, counts, _offsets(counts)):
                _copy(t, flat[r, d : d + c].reshape(t._array.shape))
    work = pg.allgather(send, flat.reshape(-1))
    work._finish = _then(work._finish, unpack)
    return _done(work, async_op, tuple(t for lst in outs for t in lst))


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int | None = None, group=None,
                  group_dst: int | None = None) -> None:
    """Every rank's picklable ``obj`` into ``object_gather_list`` (group-size long) on rank ``dst``
    (default 0), in rank order; the other ranks pass None."""
    name = "gather_object"
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    root = _root(name, pg, dst, group_dst, "dst")
    if pg.rank == root:
        if not isinstance(object_gather_list, list) or len(object_gather_list) != pg.size:
            raise ArgumentError(f"{name}: rank {pg.ranks[root]} (dst) must pass object_gather_list, a list of "
                                f"{pg.size} items (the group's size)")
    elif object_gather_list:
        raise ArgumentError(f"{name}: object_gather_list must be given on the dst rank ({pg.ranks[root]}) only")
    got = pg.gather_object(obj, root)
    if pg.rank == root:
        object_gather_list[:] = got


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list: list | None = None,
                        src: int | None = None, group=None, group_src: int | None = None) -> None:
    """``scatter_object_input_list[r]`` on rank ``src`` (default 0) into rank r's
    ``scatter_object_output_list[0]``."""
    name = "scatter_object_list"
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    root = _root(name, pg, src, group_src, "src")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ArgumentError(f"{name}: scatter_object_output_list must be a list of size at least 1")
    objs = None
    if pg.rank == root:
        if scatter_object_input_list is None or len(scatter_object_input_list) != pg.size:
            raise ArgumentError(f"{name}: rank {pg.ranks[root]} (src) must pass scatter_object_input_list, a list of "
                                f"{pg.size} objects (the group's size)")
        objs = list(scatter_object_input_list)
    scatter_object_output_list[0] = pg.scatter_object(objs, root)


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """A barrier that fails loudly: on the MPI backend the group's first rank raises naming the ranks that
    did not arrive within ``timeout`` (seconds or a timedelta; None: the group's timeout), the others that
    they were not released; on NCCL a plain barrier bounded by ``timeout``."""
    name = "monitored_barrier"
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    if timeout is None:
        seconds = pg.timeout
    elif isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"{name}: timeout must be a datetime.timedelta or seconds, got {type(timeout).__name__}")
    if not seconds > 0:
        raise ArgumentError(f"{name}: timeout must be positive, got {timeout!r}")
    pg.monitored_barrier(seconds, bool(wait_all_ranks))
