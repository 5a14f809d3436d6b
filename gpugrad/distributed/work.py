"""ReduceOp and the Work handle that every collective returns with ``async_op=True``."""
from __future__ import annotations

import time
from enum import Enum
from typing import Any, Callable

__all__ = ["DistBackendError", "ReduceOp", "Work", "CompletedWork"]


class DistBackendError(RuntimeError):
    """A collective failed or did not finish in time (PyTorch's ``torch.distributed.DistBackendError``)."""


class ReduceOp(Enum):
    """The reductions of ``all_reduce``, ``reduce`` and ``reduce_scatter_tensor`` (PyTorch's names)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    # Bitwise, on integer and bool tensors only (on bool they are the logical and/or/xor).
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"ReduceOp.{self.name}"


# PyTorch's members are instances of the nested enum ``ReduceOp.RedOpType`` (and of ReduceOp itself); here the
# one Enum plays both parts, so type hints and isinstance checks written against either name hold.
ReduceOp.RedOpType = ReduceOp


class Work:
    """A collective in flight: ``wait()`` blocks until it is done (raising if it does not finish within the
    process group's timeout), ``is_completed()`` asks without blocking.

    ``test`` says whether the engine is done and moves it on (MPI only progresses inside MPI calls, so the
    asking itself is what lets a nonblocking collective advance); ``finish`` runs once, after completion,
    for the work the engine does not do (AVG's division, copying out of a staging buffer).
    """

    def __init__(self, op: str, rank: int, test: Callable[[], bool], finish: Callable[[], None] | None = None,
                 timeout: float = 1800.0, on_timeout: Callable[[], None] | None = None, result: Any = None) -> None:
        self._op = op
        self._rank = rank
        self._test = test
        self._finish = finish
        self._timeout = timeout
        self._on_timeout = on_timeout
        self._done = False
        self._result = result
        self._source: Callable[[], int] | int | None = None  # a receive's sender (a group rank), once done

    def is_completed(self) -> bool:
        if not self._done and self._test():
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the collective is done. ``timeout`` (seconds, or a ``datetime.timedelta``) defaults
        to the process group's."""
        if self._done:
            return True
        limit = self._timeout if timeout is None else _seconds(timeout)
        deadline = time.monotonic() + limit
        test = self._test
        # Spin on the engine's test (it is what drives MPI's progress, as MPI_Wait itself spins), looking at
        # the clock only now and then.
        while True:
            for _ in range(256):
                if test():
                    self._complete()
                    return True
            if time.monotonic() > deadline:
                if self._on_timeout is not None:
                    self._on_timeout()
                raise DistBackendError(
                    f"gpugrad.distributed: {self._op} on rank {self._rank} did not complete within {limit:g} s: "
                    "another rank has died, hangs, or did not call the same collective"
                )

    def result(self) -> Any:
        self.wait()
        return self._result

    def _source_rank(self) -> int:
        """The group rank a completed receive came from (PyTorch's ``Work._source_rank()``)."""
        self.wait()
        if self._source is None:
            raise RuntimeError(f"gpugrad.distributed: _source_rank() is defined for a receive only, not for {self._op}")
        return self._source() if callable(self._source) else self._source

    def __repr__(self) -> str:
        return f"Work({self._op}, completed={self._done})"


class CompletedWork(Work):
    """A Work that was done when it was made (a collective over one rank, say)."""

    def __init__(self, op: str = "noop", rank: int = 0, result: Any = None) -> None:
        super().__init__(op, rank, lambda: True, result=result)
        self._done = True


def _seconds(timeout) -> float:
    if hasattr(timeout, "total_seconds"):
        return float(timeout.total_seconds())
    return float(timeout)


class ProcessGroup:
    """What every process group is (``torch.distributed.ProcessGroup``): the MPI and NCCL groups that
    ``init_process_group`` and ``new_group`` make are its subclasses."""
