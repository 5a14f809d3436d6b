"""DistributedDataParallel over 2 ranks equals one process with the doubled batch (MLP and the digits CNN,
SGD with momentum and Adam), no_sync, unused parameters, mismatched models (checks in _ddp.py); on a GPU
too, through the MPI backend."""
import pytest

from ._common import run_launch, run_ranks


def test_ddp_equals_one_process_with_the_whole_batch():
    out = run_ranks("_ddp.py", timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: ddp OK on cpu" in out.stdout and "rank 1: ddp OK on cpu" in out.stdout


@pytest.mark.cuda
def test_ddp_on_one_gpu_through_mpi_equals_one_process(monkeypatch):
    """Issue 18's GPU check with one GPU: two MPI ranks on it, CuPy arrays staged through the host (the pip
    MPI builds are not CUDA-aware). Launched as users launch (gpugrad launch: root's flags for Open MPI)."""
    monkeypatch.setenv("GPUGRAD_TEST_DEVICE", "cuda")
    out = run_launch("--nproc", "2", "tests/distributed/_ddp.py", timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: ddp OK on cuda" in out.stdout and "rank 1: ddp OK on cuda" in out.stdout
