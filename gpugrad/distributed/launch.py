"""``gpugrad launch``: start one process per rank through the MPI launcher of the installed MPI (``mpiexec``
from the ``mpich`` wheel, or the system's), as torchrun does with its own agent.

Each rank runs ``python -m gpugrad.distributed.run script.py args`` with MASTER_ADDR and MASTER_PORT in its
environment (for NCCL's rendezvous when it does not go over MPI); RANK, WORLD_SIZE and LOCAL_RANK come
from the MPI launcher's variables (see run.py).

As torchrun, it sets OMP_NUM_THREADS=1 for every rank when ranks share a machine and the environment does
not set it: each rank's BLAS and kernels would otherwise start a thread per core, and N ranks on N cores
would run N times as many threads as cores (bench/NOTES.md has what that cost a DDP step).
"""
from __future__ import annotations

import os
import shutil
import socket
import re
import subprocess
import sys
import tempfile

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


def _machines(hosts: str | None, hostfile: str | None) -> int:
    """How many machines the job runs on: the hosts named (host or host:slots), the host file's lines, or
    this one."""
    if hosts:
        return len({h.split(":")[0] for h in hosts.split(",") if h.strip()})
    if hostfile:
        try:
            with open(hostfile) as f:
                return max(1, sum(1 for line in f if line.split("#")[0].strip()))
        except OSError:
            return 1  # the MPI launcher will name the missing file
    return 1


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
    if nproc > _machines(hosts, hostfile) and not os.environ.get("OMP_NUM_THREADS"):
        env["OMP_NUM_THREADS"] = "1"  # ranks share a machine: one thread each, as torchrun sets
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
    if "OMP_NUM_THREADS" in env:
        print("gpugrad launch: OMP_NUM_THREADS=1 for each rank, as ranks share a machine (set OMP_NUM_THREADS to "
              "choose the threads per rank)", file=sys.stderr, flush=True)
    full_env = dict(os.environ, **env, **(extra_env or {}))
    # The Open MPI variables that allow root, for launchers that ignore the flags.
    full_env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    full_env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    with tempfile.TemporaryDirectory(prefix="gpugrad-launch-") as folder:
        full_env["GPUGRAD_LAUNCH_DIR"] = folder
        # The launcher's output passes through line by line; Hydra names a dead process by its pid there.
        proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.PIPE, text=True, bufsize=1)
        pids = set()
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            found = re.search(r"\bPID (\d+) RUNNING AT", line)
            if found:
                pids.add(found.group(1))
        code = proc.wait()
        if code != 0:
            _report_dead_ranks(folder, pids)
    return code


def _report_dead_ranks(folder: str, pids: set[str]) -> None:
    """Name the ranks that failed: those that raised or exited non-zero, from the note each left, and
    those that ended without a word (killed by a signal, the kernel's OOM killer, or a crash in native
    code). The MPI launcher kills the other ranks too, so those the launcher reported by pid are the ones
    that died first."""
    silent, spoke = {}, False
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            note = f.read()
        words = note.split()
        if words[:1] == ["running"]:
            silent[name[len("rank"):]] = words[1] if len(words) > 1 else ""
        elif words[:1] not in (["done"], ["stopped"]):
            spoke = True  # a rank that failed and said so: the others were stopped because of it
            print(f"gpugrad launch: rank {name[len('rank'):]} {note}; the other ranks were stopped",
                  file=sys.stderr, flush=True)
    dead = [r for r, pid in silent.items() if pid in pids] or ([] if spoke else list(silent))
    if dead:
        print(f"gpugrad launch: rank {', '.join(dead)} died without a Python error (killed by a signal, out of "
              "memory, or a crash in native code); the other ranks were stopped", file=sys.stderr, flush=True)
