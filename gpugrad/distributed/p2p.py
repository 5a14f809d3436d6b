"""Point-to-point messages between two ranks (torch.distributed's names, arguments and semantics):
``send``/``recv`` (blocking), ``isend``/``irecv`` (a Work), ``batch_isend_irecv`` over ``P2POp``s, and
``send_object_list``/``recv_object_list`` for picklable objects.

``dst``/``src``/``peer`` are global ranks, ``group_dst``/``group_src``/``group_peer`` ranks of ``group``
(one or the other). ``recv``/``irecv`` with neither receive from any rank (MPI only; NCCL cannot), and
``recv`` returns the sender's global rank. ``tag`` matches a send with its receive on MPI; NCCL ignores it,
as PyTorch's NCCL backend does.
"""
from __future__ import annotations

from typing import Callable

from ..errors import ArgumentError, DeviceError
from ..tensor import Tensor
from .collectives import _bumped, _check_tensor, _contiguous, _group_or_skip, _root
from .process_group import GroupMember
from .work import Work

__all__ = ["P2POp", "batch_isend_irecv", "irecv", "isend", "recv", "recv_object_list", "send", "send_object_list"]


def _tag(op: str, pg, tag) -> int:
    if isinstance(tag, bool) or not isinstance(tag, int):
        raise TypeError(f"{op}: tag must be an int, got {type(tag).__name__}")
    top = getattr(pg, "max_tag", None)  # MPI keeps its topmost tags for the library's own messages
    if tag < 0 or (top is not None and tag > top):
        raise ArgumentError(f"{op}: tag must be in 0..{top} on the {pg.backend} backend, got {tag}"
                            if top is not None else f"{op}: tag must be non-negative, got {tag}")
    return tag


def _not_self(op: str, pg, peer: int, what: str) -> None:
    if peer == pg.rank:
        raise ArgumentError(f"{op}: Invalid {what} rank: {what} rank {pg.ranks[peer]} is the rank of the current "
                            "process (isend and irecv may pair with themselves; blocking send and recv may not)")


def isend(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``; the Work's ``wait()`` says it has left (do not change
    ``tensor`` before). None where this rank is not in ``group``."""
    _check_tensor("isend", "tensor", tensor)
    pg = _group_or_skip(group, "isend")
    if pg is None:
        return None
    peer = _root("isend", pg, dst, group_dst, "dst", default=None)
    tag = _tag("isend", pg, tag)
    return pg.send(_contiguous(tensor), peer, tag, "isend")


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> Work | None:
    """Start receiving into ``tensor`` from rank ``src`` (None and no ``group_src``: from any rank); it is
    filled once the Work's ``wait()`` returns. None where this rank is not in ``group``."""
    _check_tensor("irecv", "tensor", tensor)
    pg = _group_or_skip(group, "irecv")
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _root("irecv", pg, src, group_src, "src")
    tag = _tag("irecv", pg, tag)
    work = pg.recv(tensor._array, peer, tag, "irecv")
    _bumped(tensor)
    return work


def send(tensor: Tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until it has left."""
    _check_tensor("send", "tensor", tensor)
    pg = _group_or_skip(group, "send")
    if pg is None:
        return None
    peer = _root("send", pg, dst, group_dst, "dst", default=None)
    _not_self("send", pg, peer, "destination")
    tag = _tag("send", pg, tag)
    pg.send(_contiguous(tensor), peer, tag, "send").wait()
    return None


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (None and no ``group_src``: from any rank) and return the
    sender's global rank; -1 where this rank is not in ``group``."""
    _check_tensor("recv", "tensor", tensor)
    pg = _group_or_skip(group, "recv")
    if pg is None:
        return -1
    peer = None if src is None and group_src is None else _root("recv", pg, src, group_src, "src")
    if peer is not None:
        _not_self("recv", pg, peer, "source")
    tag = _tag("recv", pg, tag)
    work = pg.recv(tensor._array, peer, tag, "recv")
    _bumped(tensor)
    work.wait()
    return pg.ranks[work._source_rank()]


class P2POp:
    """One send or receive for ``batch_isend_irecv``: ``op`` is ``isend`` or ``irecv``, ``peer`` a global
    rank (or ``group_peer`` a rank of ``group``)."""

    def __init__(self, op: Callable, tensor: Tensor, peer: int | None = None, group=None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op is not isend and op is not irecv:
            raise ArgumentError("P2POp: op must be gpugrad.distributed.isend or gpugrad.distributed.irecv, got "
                                f"{getattr(op, '__name__', op)!r}")
        _check_tensor("P2POp", "tensor", tensor)
        self.op, self.tensor, self.tag = op, tensor, tag
        pg = _group_or_skip(group, "P2POp")
        self.group = pg if pg is not None else group
        if pg is None:  # not a member: the batch skips it, as isend/irecv would
            self.peer, self.group_peer = peer, group_peer
        else:
            self.group_peer = _root("P2POp", pg, peer, group_peer, "peer", default=None)
            self.peer = pg.ranks[self.group_peer]

    def __repr__(self) -> str:
        return (f"P2POp({self.op.__name__}, peer={self.peer}, {tuple(self.tensor.shape)}, "
                f"{self.tensor._array.dtype})")


def batch_isend_irecv(p2p_op_list: list) -> list[Work]:
    """Start every send and receive of ``p2p_op_list`` (P2POps of one group) at once, so that their order
    cannot deadlock; returns their Works (on NCCL one Work for the whole batch, as PyTorch's NCCL backend).
    Ops between the same two ranks in the same direction match in list order."""
    name = "batch_isend_irecv"
    if not isinstance(p2p_op_list, list) or not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ArgumentError(f"{name}: p2p_op_list must be a non-empty list of P2POp")
    pg = p2p_op_list[0].group
    if any(p.group is not pg for p in p2p_op_list):
        raise ArgumentError(f"{name}: all ops need to use the same group")
    if pg is GroupMember.NON_GROUP_MEMBER:  # this rank is not in the group: nothing to do, as isend's None
        return []
    tensors = [p.tensor for p in p2p_op_list]
    _check_alike_devices(name, tensors)
    ops = []
    for i, p in enumerate(p2p_op_list):
        tag = _tag(f"{name}: p2p_op_list[{i}]", pg, p.tag)
        if p.op is isend:
            ops.append(("send", _contiguous(p.tensor), p.group_peer, tag))
        else:
            ops.append(("recv", p.tensor._array, p.group_peer, tag))
    works = pg.batch_p2p(ops)
    _bumped(*[p.tensor for p in p2p_op_list if p.op is irecv])
    return works


def _check_alike_devices(op: str, tensors: list) -> None:
    """One device for all (dtypes may differ between the ops of a batch)."""
    for i, t in enumerate(tensors[1:], 1):
        if t.device != tensors[0].device:
            raise DeviceError(f"{op}: p2p_op_list[{i}].tensor is on {t.device} but p2p_op_list[0].tensor is on "
                              f"{tensors[0].device}")


def send_object_list(object_list: list, dst: int | None = None, group=None, device=None, group_dst: int | None = None,
                     use_batch: bool = False) -> None:
    """Send the picklable items of ``object_list`` to rank ``dst``, which receives them with
    ``recv_object_list`` into a list of the same length."""
    name = "send_object_list"
    pg = _group_or_skip(group, name)
    if pg is None:
        return None
    peer = _root(name, pg, dst, group_dst, "dst", default=None)
    _not_self(name, pg, peer, "destination")
    if not isinstance(object_list, (list, tuple)):
        raise TypeError(f"{name}: object_list must be a list, got {type(object_list).__name__}")
    pg.send_object(list(object_list), peer)
    return None


def recv_object_list(object_list: list, src: int | None = None, group=None, device=None, group_src: int | None = None,
                     use_batch: bool = False) -> int:
    """Receive the objects rank ``src`` sent with ``send_object_list`` into ``object_list`` (of the same
    length) and return the sender's global rank; None and no ``group_src``: from any rank (MPI); -1 where
    this rank is not in ``group``."""
    name = "recv_object_list"
    pg = _group_or_skip(group, name)
    if pg is None:
        return -1
    if not isinstance(object_list, list):
        raise TypeError(f"{name}: object_list must be a list, got {type(object_list).__name__}")
    peer = None if src is None and group_src is None else _root(name, pg, src, group_src, "src")
    if peer is not None:
        _not_self(name, pg, peer, "source")
    got, sender = pg.recv_object(peer)
    if len(got) != len(object_list):  # checked before anything is written: object_list is left as it was
        raise ArgumentError(f"{name}: rank {pg.ranks[sender]} sent {len(got)} objects but object_list has "
                            f"{len(object_list)} slots (the two lists must have the same length)")
    object_list[:] = got
    return pg.ranks[sender]
