"""Running a script under ``mpiexec -n 2`` from pytest, with a timeout so that nothing hangs."""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def mpiexec() -> str:
    pytest.importorskip("mpi4py.MPI", reason="needs mpi4py and an MPI library (pip install 'gpugrad[mpi]')")
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if found is None:
        pytest.skip("needs mpiexec (pip install 'gpugrad[mpi]')")
    return found


def env() -> dict:
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        e.pop(k, None)
    return e


def run_ranks(script: str, *args: str, n: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [mpiexec(), "-n", str(n), sys.executable, os.path.join(HERE, script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=ROOT)


def run_launch(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    mpiexec()
    cmd = [sys.executable, "-m", "gpugrad.cli", "launch", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), cwd=ROOT)
