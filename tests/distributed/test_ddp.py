"""DistributedDataParallel over 2 ranks equals one process with the doubled batch (MLP and the digits CNN,
SGD with momentum and Adam), no_sync, unused parameters, mismatched models (checks in _ddp.py)."""
from ._common import run_ranks


def test_ddp_equals_one_process_with_the_whole_batch():
    out = run_ranks("_ddp.py", timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: ddp OK" in out.stdout and "rank 1: ddp OK" in out.stdout
