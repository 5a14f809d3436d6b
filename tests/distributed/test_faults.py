"""A rank that raises, exits with an error or is killed ends the whole job quickly (never a hang), and the
error names the rank; and the threads a launched rank starts with."""
import subprocess
import sys
import time

import pytest

from ._common import ROOT, env, mpiexec, run_launch, run_ranks


@pytest.mark.parametrize("how", ["raise", "kill", "hang"])
def test_failed_rank_stops_the_job_under_mpiexec(how):
    t0 = time.monotonic()
    out = run_ranks("_fault.py", how, timeout=60)
    assert time.monotonic() - t0 < 50
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "rank 0 was not stopped" not in text
    if how == "raise":
        assert "rank 1 raised ValueError: rank one gives up" in text
    elif how == "hang":
        assert "all_reduce on rank 0 did not complete within 2 s" in text, text
        assert "rank 0 raised DistBackendError" in text
    else:
        assert "Killed" in text or "signal 9" in text, text


@pytest.mark.parametrize("how,message", [
    ("exit", "rank 1 exited with status 3"),
    ("kill", "rank 1 died without a Python error"),
])
def test_launch_names_the_failed_rank(how, message):
    out = run_launch("--nproc", "2", "tests/distributed/_fault.py", how, timeout=60)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and message in text, text
    assert "rank 0 was not stopped" not in text and "rank 0 died" not in text


def test_launched_ranks_sharing_this_machine_run_one_thread_each():
    mpiexec()
    clean = {k: v for k, v in env().items() if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}
    cmd = [sys.executable, "-m", "gpugrad.cli", "launch", "--nproc", "2", "tests/distributed/_threads.py"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=clean, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    for rank in (0, 1):
        assert f"rank {rank}: OMP_NUM_THREADS=1 threads=1" in out.stdout, out.stdout + out.stderr
    assert "OMP_NUM_THREADS=1 for each rank" in out.stderr
