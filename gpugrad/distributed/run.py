"""One rank of a job started by ``gpugrad launch``: ``python -m gpugrad.distributed.run script.py args`` (or
``-m module args``) under the MPI launcher.

It sets the environment torchrun gives a rank (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE), from the
MPI launcher's own variables, and runs the script as ``__main__``. A script that raises or exits with a
non-zero status ends the whole job at once with a message naming its rank, instead of leaving the other
ranks waiting in a collective.
"""
from __future__ import annotations

import os
import runpy
import signal
import sys
import traceback

# Where the MPI launchers put a rank's place in the job: MPICH's Hydra, then Open MPI.
_SOURCES = {
    "RANK": ("PMI_RANK", "OMPI_COMM_WORLD_RANK"),
    "WORLD_SIZE": ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"),
    "LOCAL_RANK": ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"),
    "LOCAL_WORLD_SIZE": ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"),
}


def set_rank_environment(environ=os.environ) -> None:
    """RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE from the MPI launcher's variables, where unset."""
    for name, sources in _SOURCES.items():
        if environ.get(name):
            continue
        for src in sources:
            if environ.get(src):
                environ[name] = environ[src]
                break
    environ.setdefault("LOCAL_RANK", environ.get("RANK", "0"))


def _note(rank: str, status: str) -> bool:
    """Leave this rank's status where ``gpugrad launch`` looks after a failure (on the launching machine):
    a rank still "running" at the end was killed from outside, by a signal no Python code sees; its pid
    is how the launcher's own report of the dead process is matched to a rank."""
    folder = os.environ.get("GPUGRAD_LAUNCH_DIR")
    if folder and os.path.isdir(folder):
        with open(os.path.join(folder, f"rank{rank}"), "w") as f:
            f.write(status)
        return True
    return False


def _terminated(signum, frame) -> None:
    _note(os.environ.get("RANK", "?"), "stopped by the launcher")
    os._exit(128 + signum)


def _stop_job(rank: str, message: str, code: int) -> None:
    # `gpugrad launch` reports a noted failure itself once the job has ended: a line printed here may be
    # lost when the abort below tears the job down before the MPI launcher forwards it.
    if not _note(rank, message):
        print(f"gpugrad launch: rank {rank} {message}; stopping all ranks", file=sys.stderr, flush=True)
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.COMM_WORLD.Abort(code)
    os._exit(code)  # the launcher sees the failed rank and ends the others


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m gpugrad.distributed.run (script.py | -m module) [args...]", file=sys.stderr)
        sys.exit(2)
    set_rank_environment()
    rank = os.environ.get("RANK", "?")
    _note(rank, f"running {os.getpid()}")
    signal.signal(signal.SIGTERM, _terminated)  # the launcher ending the others after one rank failed
    as_module = argv[0] == "-m"
    target = argv[1] if as_module else argv[0]
    sys.argv = argv[1:] if as_module else argv
    try:
        if as_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code not in (None, 0):
            _stop_job(rank, f"exited with status {code}", code if isinstance(code, int) else 1)
        _note(rank, "done")
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure of the script must end the job
        traceback.print_exc()
        _stop_job(rank, f"raised {type(exc).__name__}: {exc}", 1)
    _note(rank, "done")


if __name__ == "__main__":
    main()
