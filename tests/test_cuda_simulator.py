"""Runs every CUDA kernel and the "cuda" device path in Numba's CUDA simulator, in a pytest process of
its own: NUMBA_ENABLE_CUDASIM must be set before numba is first imported, which this process has done.

The tests it runs are the ones marked ``cudasim`` (tests/kernels: each kernel against its reference on
small odd sizes; tests/cuda: placement, transfers, device mismatch, launches, the fused optimizer;
tests/reliability/test_devices_cudasim.py: device-mismatch misuse cases that must change nothing; tests/ops:
ops on the "cuda" device against the CPU).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_RUN = pytest.StashKey()  # (Popen, log path) of the background run tests/conftest.py started


SIMULATOR_TEST = "test_cuda_simulator.py::test_cuda_kernels_and_device_path_in_the_simulator"
SIMULATOR_COMMAND = [
    sys.executable, "-m", "pytest", "-q", "-m", "cudasim", "-p", "no:cacheprovider",
    "tests/kernels", "tests/cuda", "tests/reliability/test_devices_cudasim.py", "tests/ops",
    "tests/optim/test_cuda_device.py", "tests/optim/test_capturable.py", "tests/nn/test_dropout_capture.py",
    "tests/optim/test_sparse_gradients_cuda.py",
]


def start_simulator_run(log_path: Path) -> subprocess.Popen:
    """Start the simulator's pytest run in the background, its output to ``log_path``. tests/conftest.py
    starts it as soon as this test is collected, so the run (about five minutes, one core) overlaps the
    rest of the suite on the other core; the test below waits for it."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", GPUGRAD_SIMULATE_CUDA="1")
    with open(log_path, "w") as log:
        return subprocess.Popen(SIMULATOR_COMMAND, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="already inside the simulator run")
def test_cuda_kernels_and_device_path_in_the_simulator(request, tmp_path):
    pytest.importorskip("numba.cuda", reason="numba-cuda is not installed (pip install -e '.[test]')")
    started = request.config.stash.get(SIMULATOR_RUN, None)
    proc, log_path = started if started is not None else (None, tmp_path / "simulator.log")
    if proc is None:
        proc = start_simulator_run(log_path)
    try:
        proc.wait(timeout=1500)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log_path.read_text()
    tail = "\n".join(output.splitlines()[-40:])
    assert proc.returncode == 0, f"simulator run failed ({' '.join(SIMULATOR_COMMAND)}):\n{tail}"
    assert " passed" in tail and "no tests ran" not in tail, tail


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", reason="already inside the simulator run")
def test_gpu_mlp_step_script_runs_and_counts_launches_in_the_simulator(tmp_path):
    """bench/gpu_mlp_step.py runs on rare GPU sessions (from gpu_check.sh); a small run here keeps it
    working and checks its launch counts: per layer one forward and one backward kernel, one for the
    loss, one optimizer step."""
    import json

    pytest.importorskip("numba.cuda", reason="numba-cuda is not installed (pip install -e '.[test]')")
    profile = tmp_path / "profile.txt"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", GPUGRAD_SIMULATE_CUDA="1", GPU_MLP_SMALL="1",
               GPU_MLP_PROFILE=str(profile))
    proc = subprocess.run([sys.executable, "bench/gpu_mlp_step.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "gpugrad_error" not in result, result
    assert result["gpugrad_launch_path"] == "simulator" and result["gpugrad_ms"] > 0
    assert result["gpugrad_launches_per_step"] == 8  # 3 layers forward, loss, 3 layers backward, Adam
    assert result["gpugrad_launches_in_backward"] == 3  # one per Linear layer, beside its two GEMMs
    assert result["gpugrad_host_ms"] > 0
    assert "run_backward" in profile.read_text()  # the engine shows up in the host-time profile
