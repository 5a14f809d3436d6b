"""The MPI backend: collectives through mpi4py's nonblocking calls (Iallreduce, Ibcast, ...) on host
arrays. CuPy arrays and non-contiguous arrays are staged through a contiguous host copy (the pip MPI
wheels are not CUDA-aware); the copy back happens when the Work completes."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from .work import DistBackendError, ReduceOp, Work

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


class MPIProcessGroup:
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
                     ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
        self._sum, self._in_place = MPI.SUM, MPI.IN_PLACE
        self._allreduce, self._iallreduce = comm.Allreduce, comm.Iallreduce
        # Open MPI's nonblocking collectives (libnbc) run 1.4-1.6x slower than its blocking ones (measured,
        # 1 KB to 16 MB, Open MPI 4.1); MPICH's are as fast. So a synchronous all-reduce on Open MPI takes
        # the blocking call, without the group's timeout (a rank that dies or raises still ends the job).
        self._blocking_sync = "Open MPI" in MPI.Get_library_version()

    def _work(self, name: str, reqs: list, finish: Callable[[], None] | None) -> Work:
        Testall = self.MPI.Request.Testall
        if len(reqs) == 1:
            req = reqs[0]
            test = req.Test
        else:
            def test() -> bool:
                return Testall(reqs)
        return Work(name, self.ranks[self.rank], test, finish, self.timeout)

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
        mop = self._sum if op is _SUM else self._ops[op]
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
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self._ops[op])
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
        req = self.comm.Ireduce_scatter_block(sbuf, rbuf, self._ops[op])
        return self._work("reduce_scatter", [req], _chain(self._avg(op, rbuf), back))

    def reduce(self, arr: Any, root: int, op: ReduceOp) -> Work:
        buf, back = _stage(arr)
        if self.rank == root:
            req = self.comm.Ireduce(self.MPI.IN_PLACE, buf, self._ops[op], root=root)
            return self._work("reduce", [req], _chain(self._avg(op, buf), back))
        req = self.comm.Ireduce(buf, None, self._ops[op], root=root)
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

    # ---- Python objects (blocking; used for setup checks, not in the training loop) --------------------
    def allgather_object(self, obj: Any) -> list:
        return self.comm.allgather(obj)

    def broadcast_object(self, obj: Any, root: int) -> Any:
        return self.comm.bcast(obj, root=root)

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
