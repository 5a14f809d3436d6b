"""Process groups: ``init_process_group`` and the queries around it (torch.distributed's names).

The world group is made once per process. Rank and world size come from the arguments, else from the
environment a launcher sets (RANK, WORLD_SIZE, as torchrun and ``gpugrad launch`` do), else from the MPI
launcher itself; all that are given must agree.
"""
from __future__ import annotations

import datetime
import os
import sys
import traceback
from typing import Any

from ..errors import ArgumentError
from .mpi import MPIProcessGroup, mpi_or_none
from .nccl import NCCLProcessGroup, StoreChannel, nccl_or_none

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "destroy_process_group", "get_backend", "get_process_group_ranks",
    "get_rank", "get_world_size", "group", "init_process_group", "is_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched", "new_group", "default_pg_timeout",
]

default_pg_timeout = datetime.timedelta(minutes=30)


class Backend:
    """The backend names (PyTorch's); "gloo", PyTorch's CPU backend, is served here by MPI."""

    GLOO = "gloo"
    MPI = "mpi"
    NCCL = "nccl"
    # The backend a device type's tensors use by default (code that picks a backend from a device reads it).
    default_device_backend_map = {"cpu": GLOO, "cuda": NCCL}


class _NonMember:
    """What ``new_group`` gives a rank that is not in the new group (PyTorch's GroupMember.NON_GROUP_MEMBER)."""

    def __repr__(self) -> str:
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    WORLD = None  # the default group, as PyTorch's group=None
    NON_GROUP_MEMBER = _NonMember()


group = GroupMember

ProcessGroup = (MPIProcessGroup, NCCLProcessGroup)

_world: Any = None
_excepthook = None


def is_available() -> bool:
    """Whether gpugrad.distributed can run here: some backend is installed."""
    return is_mpi_available() or is_nccl_available()


def is_mpi_available() -> bool:
    return mpi_or_none() is not None


def is_nccl_available() -> bool:
    return nccl_or_none() is not None


def is_gloo_available() -> bool:
    """False: the Gloo library is not part of gpugrad. ``init_process_group("gloo")`` is still accepted and
    served by MPI (ranks started by mpiexec), but code asking for Gloo itself (its TCP rendezvous between
    processes a launcher other than MPI started) must not be told it is there."""
    return False


def is_initialized() -> bool:
    return _world is not None


def is_torchelastic_launched() -> bool:
    """Whether torchrun (torchelastic) started this process, as PyTorch tells: its TORCHELASTIC_RUN_ID is set
    (``gpugrad launch`` does not set it)."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


def _seconds(timeout) -> float:
    return float(timeout.total_seconds()) if hasattr(timeout, "total_seconds") else float(timeout)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ArgumentError(f"init_process_group: environment variable {name}={value!r} is not an integer") from None


def _agree(what: str, *candidates: tuple[str, int | None]) -> int | None:
    given = [(src, v) for src, v in candidates if v is not None]
    for src, v in given[1:]:
        if v != given[0][1]:
            raise ArgumentError(f"init_process_group: {what} {given[0][1]} from {given[0][0]} disagrees with {v} from {src}")
    return given[0][1] if given else None


def _abort_on_uncaught(pg) -> None:
    """A rank that raises must not leave the others waiting in a collective: report the rank, then abort
    the whole job (MPI_Abort / ncclCommAbort); the launcher ends every rank."""
    global _excepthook
    previous = sys.excepthook
    rank = pg.ranks[pg.rank]

    def hook(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb)
        print(f"gpugrad.distributed: rank {rank} raised {exc_type.__name__}: {exc}; stopping all ranks", file=sys.stderr, flush=True)
        try:
            pg.abort(1)
        finally:
            previous(exc_type, exc, tb)

    _excepthook = previous
    sys.excepthook = hook


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None) -> None:
    """Join the job's default process group. ``backend``: "mpi" (CPU arrays, between machines), "gloo"
    (PyTorch's CPU backend, served here by MPI) or "nccl" (GPUs); None picks nccl when CuPy's NCCL is
    there, else mpi. ``init_method``: None or "env://" (the
    launcher's environment) or "tcp://host:port" (the store for NCCL's rendezvous). ``rank`` and
    ``world_size`` of -1 (PyTorch's defaults) or None: from the environment or the MPI launcher. ``timeout``
    (seconds or a timedelta; None: 30 minutes) bounds every wait for a collective."""
    global _world
    rank = None if rank is None or rank == -1 else rank
    world_size = None if world_size is None or world_size == -1 else world_size
    timeout = default_pg_timeout if timeout is None else timeout
    if _world is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process group twice")
    if backend is None:
        backend = "nccl" if is_nccl_available() else "mpi"
    backend = str(backend).lower()
    if backend not in ("mpi", "nccl", "gloo"):
        raise ArgumentError(f"init_process_group: backend must be 'mpi', 'gloo' or 'nccl', got {backend!r}")
    asked = backend
    if backend == "gloo":  # PyTorch's CPU backend: here MPI serves the CPU collectives
        backend = "mpi"
    seconds = _seconds(timeout)
    MPI = mpi_or_none()
    mpi_rank = mpi_size = None
    if MPI is not None:
        mpi_rank, mpi_size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    if backend == "mpi":
        if MPI is None:
            raise RuntimeError("init_process_group(backend='mpi'): mpi4py is not installed (pip install 'gpugrad[mpi]')")
        # Under MPI the launcher fixes rank and size; arguments and environment may only confirm them.
        try:
            r = _agree("rank", ("MPI", mpi_rank), ("argument rank", rank), ("RANK", _env_int("RANK")))
            n = _agree("world_size", ("MPI", mpi_size), ("argument world_size", world_size),
                       ("WORLD_SIZE", _env_int("WORLD_SIZE")))
        except ArgumentError as exc:
            if asked != "gloo":
                raise
            raise ArgumentError(f"{exc}; gpugrad serves backend 'gloo' with MPI, so start the ranks with "
                                "mpiexec -n N (or gpugrad launch)") from None
        pg = MPIProcessGroup(MPI.COMM_WORLD.Dup(), list(range(n)), seconds)
        pg.backend = asked
        assert pg.rank == r
    else:
        if not is_nccl_available():  # before any rendezvous is set up
            raise RuntimeError("init_process_group(backend='nccl'): CuPy with NCCL is not installed "
                               "(pip install 'gpugrad[cuda12]', which brings cupy and nvidia-nccl)")
        r = _agree("rank", ("argument rank", rank), ("RANK", _env_int("RANK")),
                   ("MPI", mpi_rank if mpi_size and mpi_size > 1 else None))
        n = _agree("world_size", ("argument world_size", world_size), ("WORLD_SIZE", _env_int("WORLD_SIZE")),
                   ("MPI", mpi_size if mpi_size and mpi_size > 1 else None))
        if r is None or n is None:
            raise ArgumentError("init_process_group(backend='nccl'): rank and world_size are unknown: pass them, "
                                "set RANK and WORLD_SIZE (gpugrad launch does), or start under mpiexec")
        device = device_id if device_id is None or isinstance(device_id, int) else getattr(device_id, "index", None)
        if device is None and _env_int("LOCAL_RANK") is not None:
            device = _env_int("LOCAL_RANK")  # one GPU per rank on each machine, as torchrun's convention
        channel = _side_channel(r, n, init_method, store, seconds, mpi_size)
        pg = NCCLProcessGroup(r, n, list(range(n)), seconds, channel, device=device)
    _world = pg
    _abort_on_uncaught(pg)


def _side_channel(rank: int, size: int, init_method, store, seconds: float, mpi_size):
    """How NCCL's unique id reaches the ranks: a given store, the MPI world, else a TCPStore."""
    if store is not None:
        return StoreChannel(store, rank, size)
    if mpi_size == size and (init_method in (None, "env://")):
        return MPIProcessGroup(mpi_or_none().COMM_WORLD.Dup(), list(range(size)), seconds)
    from .store import TCPStore

    host, port = _master(init_method)
    return StoreChannel(TCPStore(host, port, size, is_master=rank == 0, timeout=seconds), rank, size)


def _master(init_method) -> tuple[str, int]:
    if init_method and init_method.startswith("tcp://"):
        host, _, port = init_method[len("tcp://"):].rpartition(":")
        return host, int(port)
    host, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    if not host or not port:
        raise ArgumentError("init_process_group: set MASTER_ADDR and MASTER_PORT, or pass init_method='tcp://host:port'")
    return host, int(port)


def _pg(group, op: str):
    if _world is None:
        # PyTorch raises ValueError here; ArgumentError is both a ValueError and a RuntimeError.
        raise ArgumentError(f"{op}: Default process group has not been initialized, please make sure to call "
                            "init_process_group.")
    return _world if group is None else group


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (the world by default); -1 where it is not a member."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _pg(group, "get_rank").rank


def get_world_size(group=None) -> int:
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _pg(group, "get_world_size").size


def get_backend(group=None) -> str:
    return _pg(group, "get_backend").backend


def get_global_rank(group, group_rank: int) -> int:
    return _pg(group, "get_global_rank").ranks[group_rank]


def get_process_group_ranks(group) -> list[int]:
    """The global ranks of ``group`` (None: the world), in the order of their ranks in the group."""
    if group is GroupMember.NON_GROUP_MEMBER:
        raise ArgumentError("get_process_group_ranks: this rank is not a member of the group (GroupMember.NON_GROUP_MEMBER)")
    return list(_pg(group, "get_process_group_ranks").ranks)


def get_group_rank(group, global_rank: int) -> int:
    pg = _pg(group, "get_group_rank")
    if global_rank not in pg.ranks:
        raise ArgumentError(f"get_group_rank: global rank {global_rank} is not in the group {pg.ranks}")
    return pg.ranks.index(global_rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None):
    """A group of some of the world's ranks. Every rank of the world must call it, as in PyTorch; a rank not
    in ``ranks`` gets ``GroupMember.NON_GROUP_MEMBER``."""
    world = _pg(None, "new_group")
    ranks = list(range(world.size)) if ranks is None else sorted(int(r) for r in ranks)
    bad = [r for r in ranks if not 0 <= r < world.size]
    if bad or len(set(ranks)) != len(ranks) or not ranks:
        raise ArgumentError(f"new_group: ranks must be distinct ranks of the world (0..{world.size - 1}), got {ranks}")
    if backend is not None and str(backend).lower() != world.backend:
        raise ArgumentError(f"new_group: backend {backend!r} differs from the world's {world.backend!r}")
    pg = world.subgroup(ranks)
    if pg is None:
        return GroupMember.NON_GROUP_MEMBER
    if timeout is not None:
        pg.timeout = _seconds(timeout)
    return pg


def destroy_process_group(group=None) -> None:
    """Leave the group (the default group: end distributed mode; init_process_group may be called again)."""
    global _world
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    pg = _pg(group, "destroy_process_group")
    pg.destroy()
    if group is None or pg is _world:
        _world = None
        if _excepthook is not None:
            sys.excepthook = _excepthook


def _world_pg():
    return _world
