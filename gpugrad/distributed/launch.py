"""``gpugrad launch``: start one process per rank through the MPI launcher of the installed MPI (``mpiexec``
from the ``mpich`` wheel, or the system's), as torchrun does with its own agent.

Each rank runs ``python -m gpugrad.distributed.run script.py args`` with MASTER_ADDR and MASTER_PORT in its
environment (for NCCL's rendezvous when it does not go over MPI); RANK, WORLD_SIZE and LOCAL_RANK come
from the MPI launcher's variables (see run.py).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

from ..errors import ArgumentError

__all__ = ["build_command", "find_mpiexec", "launch"]


def find_mpiexec() -> str:
    """The MPI launcher next to this Python (a venv with the mpich wheel), else the first on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(here):
        return here
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise RuntimeError("gpugrad launch: no mpiexec found; pip install 'gpugrad[mpi]' (mpi4py and the mpich wheel)")
    return found


def _flavor(mpiexec: str) -> str:
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if "Open MPI" in out or "OpenRTE" in out:
        return "openmpi"
    return "hydra" if "HYDRA" in out.upper() else "unknown"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def build_command(nproc: int, script_args: list[str], hosts: str | None = None, hostfile: str | None = None,
                  master_addr: str | None = None, master_port: int | None = None, module: bool = False,
                  mpiexec: str | None = None, flavor: str | None = None) -> tuple[list[str], dict]:
    """The launcher's argument list and the extra environment for the ranks."""
    if not isinstance(nproc, int) or nproc < 1:
        raise ArgumentError(f"gpugrad launch: --nproc must be a positive integer, got {nproc!r}")
    if not script_args:
        raise ArgumentError("gpugrad launch: name the script to run (gpugrad launch --nproc N script.py [args])")
    mpiexec = mpiexec or find_mpiexec()
    flavor = flavor or _flavor(mpiexec)
    if master_addr is None:
        first = (hosts.split(",")[0].split(":")[0] if hosts else None)
        master_addr = first or "127.0.0.1"
    env = {"MASTER_ADDR": master_addr, "MASTER_PORT": str(master_port or _free_port())}
    cmd = [mpiexec, "-n", str(nproc)]
    if flavor == "openmpi":
        # Containers run as root, and Open MPI refuses root and more ranks than cores unless told.
        cmd += ["--allow-run-as-root", "--oversubscribe"]
        if hosts:
            cmd += ["--host", hosts]
        if hostfile:
            cmd += ["--hostfile", hostfile]
        for k, v in env.items():
            cmd += ["-x", f"{k}={v}"]
    else:  # MPICH's Hydra: root needs no flag; one launcher for all hosts
        if hosts:
            cmd += ["-hosts", hosts]
        if hostfile:
            cmd += ["-f", hostfile]
        for k, v in env.items():
            cmd += ["-genv", k, v]
    cmd += [sys.executable, "-u", "-m", "gpugrad.distributed.run"] + (["-m"] if module else []) + list(script_args)
    return cmd, env


def launch(nproc: int, script_args: list[str], hosts: str | None = None, hostfile: str | None = None,
           master_addr: str | None = None, master_port: int | None = None, module: bool = False,
           extra_env: dict | None = None) -> int:
    """Run the job; returns the launcher's exit status (non-zero when any rank failed)."""
    cmd, env = build_command(nproc, script_args, hosts, hostfile, master_addr, master_port, module)
    full_env = dict(os.environ, **env, **(extra_env or {}))
    # The Open MPI variables that allow root, for launchers that ignore the flags.
    full_env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    full_env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return subprocess.call(cmd, env=full_env)
