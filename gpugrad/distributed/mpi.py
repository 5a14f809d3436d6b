"""The MPI backend: collectives through mpi4py's nonblocking calls (Iallreduce, Ibcast, ...) on host
arrays. CuPy arrays and non-contiguous arrays are staged through a contiguous host copy (the pip MPI
wheels are not CUDA-aware); the copy back happens when the Work completes.

Point-to-point messages carry the user's tag (0 by default); the topmost tags of the communicator are kept
for the library's own messages (pickled Python objects, monitored_barrier's tokens), so that those never
match a user's receive."""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy

from .work import DistBackendError, ProcessGroup, ReduceOp, Work

__all__ = ["MPIProcessGroup", "mpi_or_none"]

_SUM, _AVG = ReduceOp.SUM, ReduceOp.AVG  # reading a member from the Enum class costs 85 ns a time


def mpi_or_none():
    """mpi4py's MPI module, or None when mpi4py (or the MPI library under it) is not installed."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError, OSError):  # mpi4py without a usable MPI library is no backend either
        return None
    return MPI


def _stage(arr: Any, need_values: bool = True) -> tuple[numpy.ndarray, Callable[[], None] | None]:
    """A contiguous NumPy array with ``arr``'s values, and how to copy results back (None: it is ``arr``)."""
    if isinstance(arr, numpy.ndarray):
        if arr.flags.c_contiguous:
            return arr, None
        host = numpy.ascontiguousarray(arr)

        def back() -> None:
            arr[...] = host
        return host, back
    # A CuPy array: to the host and back (the pip MPI builds are not CUDA-aware).
    host = numpy.ascontiguousarray(arr.get()) if need_values else numpy.empty(arr.shape, dtype=arr.dtype)

    def back_device() -> None:  # pragma: no cover - needs CuPy
        import cupy

        arr[...] = cupy.asarray(host)
    return host, back_device


def _chain(*fns: Callable[[], None] | None) -> Callable[[], None] | None:
    fns = [f for f in fns if f is not None]
    if not fns:
        return None

    def run() -> None:
        for f in fns:
            f()
    return run


class MPIProcessGroup(ProcessGroup):
    """One MPI communicator (the world's, or a subgroup's from ``new_group``)."""

    backend = "mpi"

    def __init__(self, comm, ranks: list[int], timeout: float) -> None:
        MPI = mpi_or_none()
        self.MPI = MPI
        self.comm = comm
        self.ranks = ranks  # global ranks, in this group's order
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX,
                     ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
        # MPI defines the bitwise ops on integers only; on bools its logical ops give the same answer.
        self._bool_ops = {ReduceOp.BAND: MPI.LAND, ReduceOp.BOR: MPI.LOR, ReduceOp.BXOR: MPI.LXOR}
        self._sum, self._in_place = MPI.SUM, MPI.IN_PLACE
        self._allreduce, self._iallreduce = comm.Allreduce, comm.Iallreduce
        # Open MPI's nonblocking collectives (libnbc) run 1.4-1.6x slower than its blocking ones (measured,
        # 1 KB to 16 MB, Open MPI 4.1); MPICH's are as fast. So a synchronous all-reduce on Open MPI takes
        # the blocking call, without the group's timeout (a rank that dies or raises still ends the job).
        self._blocking_sync = "Open MPI" in MPI.Get_library_version()
        tag_ub = comm.Get_attr(MPI.TAG_UB) or 32767  # the standard's least upper bound
        self._object_tag = tag_ub  # send_object_list / recv_object_list
        self._monitor_tags = (tag_ub - 1024, 1024)  # monitored_barrier: a fresh tag per call, cycling
        self.max_tag = tag_ub - 1025  # the largest tag a user's send or recv may carry
        self._monitor_seq = 0
        self._stale: list = []

    def _work(self, name: str, reqs: list, finish: Callable[[], None] | None) -> Work:
        Testall = self.MPI.Request.Testall
        if len(reqs) == 1:
            req = reqs[0]
            test = req.Test
        else:
            def test() -> bool:
                return Testall(reqs)
        return Work(name, self.ranks[self.rank], test, finish, self.timeout)

    def _op(self, op: ReduceOp, arr: Any):
        """MPI's operation for ``op`` on ``arr``'s dtype."""
        if op in self._bool_ops and arr.dtype == numpy.bool_:
            return self._bool_ops[op]
        return self._ops[op]

    def _avg(self, op: ReduceOp, arr: Any) -> Callable[[], None] | None:
        if op is not _AVG:
            return None
        n = self.size

        def divide() -> None:
            arr[...] /= n
        return divide

    # ---- the synchronous all-reduce, without a Work: the common call, kept short -------------------------
    def allreduce_sync(self, arr: Any, op: ReduceOp) -> None:
        if type(arr) is not numpy.ndarray or not arr.flags.c_contiguous:
            self.allreduce(arr, op).wait()
            return
        mop = self._sum if op is _SUM else self._op(op, arr)
        if self._blocking_sync:
            self._allreduce(self._in_place, arr, mop)
        else:
            test = self._iallreduce(self._in_place, arr, mop).Test
            for _ in range(64):  # a small message is done within these (a few us): no Work, no clock read
                if test():
                    break
            else:
                Work("all_reduce", self.ranks[self.rank], test, None, self.timeout).wait()
        if op is _AVG:
            arr /= self.size

    # ---- collectives on backend arrays; each returns a Work -------------------------------------------
    def allreduce(self, arr: Any, op: ReduceOp) -> Work:
        buf, back = _stage(arr)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self._op(op, buf))
        return self._work("all_reduce", [req], _chain(self._avg(op, buf), back))

    def broadcast(self, arr: Any, root: int) -> Work:
        buf, back = _stage(arr, need_values=self.rank == root)
        req = self.comm.Ibcast(buf, root=root)
        return self._work("broadcast", [req], back if self.rank != root else None)

    def allgather(self, send: Any, recv: Any) -> Work:
        """``recv`` holds size x send's elements, rank by rank."""
        sbuf, _ = _stage(send)
        rbuf, back = _stage(recv, need_values=False)
        req = self.comm.Iallgather(sbuf, rbuf)
        return self._work("all_gather", [req], back)

    def reduce_scatter(self, send: Any, recv: Any, op: ReduceOp) -> Work:
        sbuf, _ = _stage(send)
        rbuf, back = _stage(recv, need_values=False)
        req = self.comm.Ireduce_scatter_block(sbuf, rbuf, self._op(op, sbuf))
        return self._work("reduce_scatter", [req], _chain(self._avg(op, rbuf), back))

    def reduce(self, arr: Any, root: int, op: ReduceOp) -> Work:
        buf, back = _stage(arr)
        if self.rank == root:
            req = self.comm.Ireduce(self.MPI.IN_PLACE, buf, self._op(op, buf), root=root)
            return self._work("reduce", [req], _chain(self._avg(op, buf), back))
        req = self.comm.Ireduce(buf, None, self._op(op, buf), root=root)
        return self._work("reduce", [req], None)

    def gather(self, send: Any, recv: Any | None, root: int) -> Work:
        sbuf, _ = _stage(send)
        rbuf, back = _stage(recv, need_values=False) if recv is not None else (None, None)
        req = self.comm.Igather(sbuf, rbuf, root=root)
        return self._work("gather", [req], back)

    def scatter(self, send: Any | None, recv: Any, root: int) -> Work:
        sbuf = _stage(send)[0] if send is not None else None
        rbuf, back = _stage(recv, need_values=False)
        req = self.comm.Iscatter(sbuf, rbuf, root=root)
        return self._work("scatter", [req], back)

    def barrier(self) -> Work:
        return self._work("barrier", [self.comm.Ibarrier()], None)

    def alltoallv(self, send: Any, scounts: list[int], sdispls: list[int], recv: Any, rcounts: list[int],
                  rdispls: list[int]) -> Work:
        """Rank r gets ``scounts[r]`` elements of ``send`` from offset ``sdispls[r]`` (elements); this rank's
        ``rcounts[r]`` elements from rank r land at ``rdispls[r]`` of ``recv``."""
        sbuf, _ = _stage(send)
        rbuf, back = _stage(recv, need_values=False)
        req = self.comm.Ialltoallv([sbuf, (scounts, sdispls)], [rbuf, (rcounts, rdispls)])
        return self._work("all_to_all", [req], back)

    # ---- point to point ----------------------------------------------------------------------------------
    def _checked(self, name: str, req, status=None, arr=None) -> Callable[[], bool]:
        """The request's test, with MPI's errors (a message longer than the buffer, say) as DistBackendError."""
        MPI = self.MPI
        ranks, me = self.ranks, self.ranks[self.rank]

        def test() -> bool:
            try:
                return req.Test(status)
            except MPI.Exception as exc:
                if arr is not None and exc.Get_error_class() == MPI.ERR_TRUNCATE:
                    src = status.Get_source()
                    who = f"rank {ranks[src]}" if 0 <= src < len(ranks) else "the sender"
                    raise DistBackendError(
                        f"gpugrad.distributed.{name} on rank {me}: {who} sent more than the tensor "
                        f"({tuple(arr.shape)}, {arr.dtype}) holds ({arr.nbytes} bytes)") from None
                raise DistBackendError(f"gpugrad.distributed.{name} on rank {me}: {exc.Get_error_string()}") from None
        return test

    def send(self, arr: Any, dst: int, tag: int, name: str = "send") -> Work:
        buf, _ = _stage(arr)
        req = self.comm.Isend(buf, dest=dst, tag=tag)
        return Work(name, self.ranks[self.rank], self._checked(name, req), None, self.timeout)

    def recv(self, arr: Any, src: int | None, tag: int, name: str = "recv") -> Work:
        """``src`` None: from any rank; the Work's ``_source_rank()`` says which."""
        MPI = self.MPI
        buf, back = _stage(arr, need_values=False)
        status = MPI.Status()
        req = self.comm.Irecv(buf, source=MPI.ANY_SOURCE if src is None else src, tag=tag)
        ranks, me = self.ranks, self.ranks[self.rank]

        def finish() -> None:
            got = status.Get_count(MPI.BYTE)
            if got != buf.nbytes:  # a shorter message: MPI takes it, torch's backends refuse it
                raise DistBackendError(
                    f"gpugrad.distributed.{name} on rank {me}: rank {ranks[status.Get_source()]} sent {got} bytes "
                    f"but the tensor ({tuple(arr.shape)}, {arr.dtype}) holds {buf.nbytes}")
            if back is not None:
                back()
        work = Work(name, me, self._checked(name, req, status, arr), finish, self.timeout)
        work._source = status.Get_source
        return work

    def batch_p2p(self, ops: list[tuple[str, Any, int, int]]) -> list[Work]:
        """``ops``: ("send" or "recv", array, peer, tag) each; MPI's nonblocking calls never deadlock, so
        each runs on its own, as Gloo's batch does."""
        return [self.send(a, peer, tag, "batch_isend_irecv") if kind == "send" else
                self.recv(a, peer, tag, "batch_isend_irecv") for kind, a, peer, tag in ops]

    def monitored_barrier(self, timeout: float, wait_all_ranks: bool) -> None:
        """Gloo's monitored barrier: every rank reports to the group's rank 0, which releases them all once
        each has arrived, or raises naming the ranks that did not arrive within ``timeout`` seconds."""
        base, span = self._monitor_tags
        self._monitor_seq += 1
        tag = base + self._monitor_seq % span  # a late token from an earlier, failed call never matches
        deadline = time.monotonic() + timeout
        me, ranks = self.ranks[self.rank], self.ranks
        token = numpy.zeros(1, dtype=numpy.uint8)
        if self.rank != 0:
            reqs = [self.comm.Isend(token, dest=0, tag=tag),
                    self.comm.Irecv(numpy.empty(1, numpy.uint8), source=0, tag=tag)]
            if self._poll(reqs, deadline):
                return
            self._cancel(reqs[1:])
            self._stale.append(reqs[0])  # an unmatched token to rank 0: its buffer lives as long as the group
            raise DistBackendError(
                f"monitored_barrier: rank {me} was not released by rank {ranks[0]} within {timeout:g} s: "
                f"another rank did not reach monitored_barrier in time (rank {ranks[0]} reports which)")
        pending = {r: self.comm.Irecv(numpy.empty(1, numpy.uint8), source=r, tag=tag) for r in range(1, self.size)}
        while pending:
            for r in [r for r, req in pending.items() if req.Test()]:
                del pending[r]
            if pending and time.monotonic() > deadline:
                self._cancel(list(pending.values()))
                late = [ranks[r] for r in sorted(pending)]
                ms = int(round(timeout * 1000))
                what = (f"Ranks {', '.join(map(str, late))} failed" if wait_all_ranks and len(late) > 1
                        else f"Rank {late[0]} failed")
                raise DistBackendError(f"monitored_barrier: {what} to pass monitoredBarrier in {ms} ms")
        releases = [self.comm.Isend(token, dest=r, tag=tag) for r in range(1, self.size)]
        if not self._poll(releases, deadline):
            self._stale.extend(releases)
            raise DistBackendError(f"monitored_barrier: rank {me} could not release the other ranks within "
                                   f"{timeout:g} s")

    def _poll(self, reqs: list, deadline: float) -> bool:
        Testall = self.MPI.Request.Testall
        while not Testall(reqs):
            if time.monotonic() > deadline:
                return False
        return True

    @staticmethod
    def _cancel(reqs: list) -> None:
        for req in reqs:
            req.Cancel()
            req.Wait()

    # ---- Python objects (blocking; used for setup checks, not in the training loop) --------------------
    def allgather_object(self, obj: Any) -> list:
        return self.comm.allgather(obj)

    def broadcast_object(self, obj: Any, root: int) -> Any:
        return self.comm.bcast(obj, root=root)

    def gather_object(self, obj: Any, root: int) -> list | None:
        return self.comm.gather(obj, root=root)

    def scatter_object(self, objs: list | None, root: int) -> Any:
        return self.comm.scatter(objs, root=root)

    def send_object(self, obj: Any, dst: int) -> None:
        req = self.comm.isend(obj, dest=dst, tag=self._object_tag)  # pickled, on a tag of the library's own
        Work("send_object_list", self.ranks[self.rank], req.Test, None, self.timeout).wait()

    def recv_object(self, src: int | None) -> tuple[Any, int]:
        """The object a rank sent with ``send_object`` (from any rank where ``src`` is None), and its rank."""
        MPI = self.MPI
        status = MPI.Status()
        got: list = []
        source = MPI.ANY_SOURCE if src is None else src

        def test() -> bool:
            msg = self.comm.improbe(source=source, tag=self._object_tag, status=status)
            if msg is None:
                return False
            got.append(msg.recv())
            return True
        Work("recv_object_list", self.ranks[self.rank], test, None, self.timeout).wait()
        return got[0], status.Get_source()

    def subgroup(self, ranks: list[int]):
        """A group of the given global ranks (collective over this group; None where not a member)."""
        MPI = self.MPI
        local = [self.ranks.index(r) for r in ranks]
        comm = self.comm.Create(self.comm.Get_group().Incl(local))
        if comm == MPI.COMM_NULL:
            return None
        return MPIProcessGroup(comm, list(ranks), self.timeout)

    def abort(self, code: int = 1) -> None:
        self.comm.Abort(code)

    def destroy(self) -> None:
        if self.comm != self.MPI.COMM_WORLD and self.comm != self.MPI.COMM_NULL:
            try:
                self.comm.Free()
            except Exception as exc:  # a communicator freed twice is not worth an error at exit
                raise DistBackendError(f"destroy_process_group: could not free the MPI communicator: {exc}") from exc
