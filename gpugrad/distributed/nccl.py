"""The NCCL backend, through CuPy's NCCL bindings (``cupy.cuda.nccl``), for CuPy arrays on GPUs.

Written without a GPU to run it on: everything here that does not touch NCCL itself (the unique id's way
to the ranks, dtype and op tables) is exercised by the tests with a stand-in for ``cupy.cuda.nccl``.

Ranks meet by NCCL's unique id: rank 0 makes it and sends it to the others over a side channel, the MPI
world when the job runs under an MPI launcher, else a TCPStore on MASTER_ADDR:MASTER_PORT. The side
channel also carries the few Python objects that setup checks exchange.
"""
from __future__ import annotations

import pickle
from typing import Any, Callable

from ..errors import ArgumentError
from .work import DistBackendError, ProcessGroup, ReduceOp, Work

__all__ = ["NCCLProcessGroup", "StoreChannel", "exchange_unique_id", "nccl_or_none"]


def nccl_or_none():
    """CuPy's NCCL module when CuPy and NCCL are installed and usable, else None."""
    try:
        from cupy.cuda import nccl
    except Exception:  # ImportError, or CuPy failing to find its CUDA libraries
        return None
    return nccl if getattr(nccl, "available", True) else None


class StoreChannel:
    """Python objects between ranks through a TCPStore (one key per message, numbered)."""

    def __init__(self, store, rank: int, size: int, prefix: str = "gpugrad") -> None:
        self.store, self.rank, self.size, self.prefix = store, rank, size, prefix
        self._seq = 0

    def _key(self, tag: str, who: int) -> str:
        return f"{self.prefix}/{self._seq}/{tag}/{who}"

    def broadcast_object(self, obj: Any, root: int) -> Any:
        self._seq += 1
        key = self._key("bcast", root)
        if self.rank == root:
            self.store.set(key, pickle.dumps(obj))
            return obj
        return pickle.loads(self.store.get(key))

    def allgather_object(self, obj: Any) -> list:
        self._seq += 1
        self.store.set(self._key("gather", self.rank), pickle.dumps(obj))
        return [pickle.loads(self.store.get(self._key("gather", r))) for r in range(self.size)]


def exchange_unique_id(rank: int, make_id: Callable[[], Any], channel) -> Any:
    """Rank 0's fresh NCCL unique id, on every rank (``channel``: anything with ``broadcast_object``)."""
    uid = make_id() if rank == 0 else None
    return channel.broadcast_object(uid, 0)


def _dtype_table(nccl) -> dict:
    table = {}
    for np_name, nccl_name in (("float16", "NCCL_FLOAT16"), ("float32", "NCCL_FLOAT32"), ("float64", "NCCL_FLOAT64"),
                               ("int8", "NCCL_INT8"), ("uint8", "NCCL_UINT8"), ("int32", "NCCL_INT32"),
                               ("int64", "NCCL_INT64"), ("bool", "NCCL_UINT8")):
        if hasattr(nccl, nccl_name):
            table[np_name] = getattr(nccl, nccl_name)
    return table


class NCCLProcessGroup(ProcessGroup):
    """One NCCL communicator over CuPy arrays; collectives run on the group's own stream, ordered after the
    work already queued on the current stream; ``Work.wait()`` orders the current stream after them."""

    backend = "nccl"

    def __init__(self, rank: int, size: int, ranks: list[int], timeout: float, channel, nccl=None, cupy=None,
                 device: int | None = None) -> None:
        self.nccl = nccl or nccl_or_none()
        if self.nccl is None:
            raise RuntimeError("init_process_group(backend='nccl'): CuPy with NCCL is not installed "
                               "(pip install 'gpugrad[cuda12]', which brings cupy and nvidia-nccl)")
        if cupy is None:
            import cupy
        self._cupy = cupy
        if device is not None:
            # One GPU per rank: the communicator belongs to the device current when it is made.
            cupy.cuda.Device(device).use()
        self.rank, self.size, self.ranks, self.timeout, self.channel = rank, size, ranks, timeout, channel
        uid = exchange_unique_id(rank, self.nccl.get_unique_id, channel)
        self.comm = self.nccl.NcclCommunicator(size, uid, rank)
        self._dtypes = _dtype_table(self.nccl)
        n = self.nccl
        self._ops = {ReduceOp.SUM: n.NCCL_SUM, ReduceOp.AVG: n.NCCL_SUM, ReduceOp.PRODUCT: n.NCCL_PROD,
                     ReduceOp.MIN: n.NCCL_MIN, ReduceOp.MAX: n.NCCL_MAX}
        self.stream = cupy.cuda.Stream(non_blocking=True)

    def _op(self, op: ReduceOp) -> int:
        try:
            return self._ops[op]
        except KeyError:  # the bitwise ops: NCCL has none (PyTorch's NCCL group raises ValueError alike)
            raise ArgumentError(f"gpugrad.distributed (nccl): cannot use {op!r} with NCCL") from None

    def _dtype(self, arr) -> int:
        try:
            return self._dtypes[arr.dtype.name]
        except KeyError:
            raise DistBackendError(f"gpugrad.distributed (nccl): dtype {arr.dtype} is not supported by NCCL") from None

    def _launch(self, name: str, arrays: list, body: Callable[[int], None], finish=None) -> Work:
        for a in arrays:
            if a is not None and not a.flags.c_contiguous:
                raise DistBackendError(f"gpugrad.distributed.{name} (nccl): tensors must be contiguous")
        cupy = self._cupy
        ready = cupy.cuda.Event()
        ready.record(cupy.cuda.get_current_stream())
        self.stream.wait_event(ready)
        with self.stream:
            body(self.stream.ptr)
            if finish is not None:
                finish()
        done = cupy.cuda.Event(disable_timing=True)
        done.record(self.stream)

        def order_after() -> None:
            cupy.cuda.get_current_stream().wait_event(done)
        work = Work(name, self.ranks[self.rank], lambda: done.done, order_after, self.timeout, self.comm.abort)
        work._keep = arrays  # the buffers live until the collective that reads them has run
        return work

    def _avg(self, op: ReduceOp, arr) -> Callable[[], None] | None:
        if op is not ReduceOp.AVG:
            return None
        n = self.size

        def divide() -> None:
            arr[...] /= n
        return divide

    def allreduce(self, arr, op: ReduceOp) -> Work:
        def body(s):
            self.comm.allReduce(arr.data.ptr, arr.data.ptr, arr.size, self._dtype(arr), self._op(op), s)
        return self._launch("all_reduce", [arr], body, self._avg(op, arr))

    def broadcast(self, arr, root: int) -> Work:
        def body(s):
            self.comm.broadcast(arr.data.ptr, arr.data.ptr, arr.size, self._dtype(arr), root, s)
        return self._launch("broadcast", [arr], body)

    def allgather(self, send, recv) -> Work:
        def body(s):
            self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._dtype(send), s)
        return self._launch("all_gather", [send, recv], body)

    def reduce_scatter(self, send, recv, op: ReduceOp) -> Work:
        def body(s):
            self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, self._dtype(recv), self._op(op), s)
        return self._launch("reduce_scatter", [send, recv], body, self._avg(op, recv))

    def reduce(self, arr, root: int, op: ReduceOp) -> Work:
        def body(s):
            self.comm.reduce(arr.data.ptr, arr.data.ptr, arr.size, self._dtype(arr), self._op(op), root, s)
        return self._launch("reduce", [arr], body, self._avg(op, arr) if self.rank == root else None)

    def gather(self, send, recv, root: int) -> Work:
        n = send.size

        def body(s):
            nccl = self.nccl
            nccl.groupStart()
            if self.rank == root:
                for r in range(self.size):
                    self.comm.recv(recv.data.ptr + r * send.nbytes, n, self._dtype(send), r, s)
            self.comm.send(send.data.ptr, n, self._dtype(send), root, s)
            nccl.groupEnd()
        return self._launch("gather", [send, recv], body)

    def scatter(self, send, recv, root: int) -> Work:
        n = recv.size

        def body(s):
            nccl = self.nccl
            nccl.groupStart()
            if self.rank == root:
                for r in range(self.size):
                    self.comm.send(send.data.ptr + r * recv.nbytes, n, self._dtype(recv), r, s)
            self.comm.recv(recv.data.ptr, n, self._dtype(recv), root, s)
            nccl.groupEnd()
        return self._launch("scatter", [send, recv], body)

    def barrier(self) -> Work:
        one = self._cupy.zeros(1, dtype=self._cupy.float32)
        return self.allreduce(one, ReduceOp.SUM)

    def monitored_barrier(self, timeout: float, wait_all_ranks: bool) -> None:
        # NCCL cannot say which rank is missing: a plain barrier, bounded by ``timeout``.
        self.barrier().wait(timeout)

    def alltoallv(self, send, scounts: list[int], sdispls: list[int], recv, rcounts: list[int],
                  rdispls: list[int]) -> Work:
        item = send.itemsize

        def body(s):
            nccl, dtype = self.nccl, self._dtype(send)
            nccl.groupStart()
            for r in range(self.size):
                self.comm.send(send.data.ptr + sdispls[r] * item, scounts[r], dtype, r, s)
                self.comm.recv(recv.data.ptr + rdispls[r] * item, rcounts[r], dtype, r, s)
            nccl.groupEnd()
        return self._launch("all_to_all", [send, recv], body)

    # ---- point to point (NCCL ignores tags, as PyTorch's NCCL backend does) --------------------------------
    def send(self, arr, dst: int, tag: int = 0, name: str = "send") -> Work:
        def body(s):
            self.comm.send(arr.data.ptr, arr.size, self._dtype(arr), dst, s)
        return self._launch(name, [arr], body)

    def recv(self, arr, src: int | None, tag: int = 0, name: str = "recv") -> Work:
        if src is None:
            raise NotImplementedError(f"gpugrad.distributed.{name} (nccl): receiving from any source (src=None) "
                                      "is not supported by NCCL; pass src")

        def body(s):
            self.comm.recv(arr.data.ptr, arr.size, self._dtype(arr), src, s)
        work = self._launch(name, [arr], body)
        work._source = src
        return work

    def batch_p2p(self, ops: list) -> list[Work]:
        """All of ``ops`` (("send" or "recv", array, peer, tag) each) in one NCCL group, so that their order
        cannot deadlock; one Work for the batch, as PyTorch's NCCL backend returns."""
        def body(s):
            nccl = self.nccl
            dtypes = [self._dtype(a) for _, a, _, _ in ops]
            nccl.groupStart()
            for (kind, a, peer, _), dtype in zip(ops, dtypes):
                if kind == "send":
                    self.comm.send(a.data.ptr, a.size, dtype, peer, s)
                else:
                    self.comm.recv(a.data.ptr, a.size, dtype, peer, s)
            nccl.groupEnd()
        return [self._launch("batch_isend_irecv", [a for _, a, _, _ in ops], body)]

    def allgather_object(self, obj: Any) -> list:
        return self.channel.allgather_object(obj)

    def broadcast_object(self, obj: Any, root: int) -> Any:
        return self.channel.broadcast_object(obj, root)

    def gather_object(self, obj: Any, root: int) -> list | None:
        every = self.channel.allgather_object(obj)  # the side channel has no gather; objects are small
        return every if self.rank == root else None

    def scatter_object(self, objs: list | None, root: int) -> Any:
        return self.channel.broadcast_object(objs, root)[self.rank]

    def send_object(self, obj: Any, dst: int) -> None:
        """The pickled object as bytes on the GPU, its length first (as PyTorch's NCCL backend sends them)."""
        import numpy

        cupy = self._cupy
        data = numpy.frombuffer(pickle.dumps(obj), dtype=numpy.uint8)
        self.send(cupy.asarray(numpy.array([data.size], dtype=numpy.int64)), dst, name="send_object_list").wait()
        self.send(cupy.asarray(data), dst, name="send_object_list").wait()

    def recv_object(self, src: int | None) -> tuple[Any, int]:
        if src is None:
            raise NotImplementedError("gpugrad.distributed.recv_object_list (nccl): receiving from any source "
                                      "(src=None) is not supported by NCCL; pass src")
        cupy = self._cupy
        size = cupy.zeros(1, dtype=cupy.int64)
        self.recv(size, src, name="recv_object_list").wait()
        data = cupy.empty(int(size.get()[0]), dtype=cupy.uint8)
        self.recv(data, src, name="recv_object_list").wait()
        return pickle.loads(data.get().tobytes()), src

    def subgroup(self, ranks: list[int]):
        # Every rank takes part in making the id (PyTorch: new_group is called by all ranks).
        members = self.ranks
        if members[self.rank] not in ranks:
            self.channel.broadcast_object(None, members.index(ranks[0]))
            return None
        sub_rank = ranks.index(members[self.rank])

        class _Sub:  # the id travels over the parent's channel from the subgroup's first rank
            def __init__(s, parent): s.parent = parent

            def broadcast_object(s, obj, root):
                return s.parent.channel.broadcast_object(obj, members.index(ranks[root]))

            def allgather_object(s, obj):
                return [x for i, x in enumerate(s.parent.channel.allgather_object(obj)) if members[i] in ranks]
        return NCCLProcessGroup(sub_rank, len(ranks), list(ranks), self.timeout, _Sub(self), self.nccl, self._cupy)

    def abort(self, code: int = 1) -> None:
        self.comm.abort()

    def destroy(self) -> None:
        self.comm.destroy()
