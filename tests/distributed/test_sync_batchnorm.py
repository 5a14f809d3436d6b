"""SyncBatchNorm over 2 ranks equals BatchNorm over the whole batch in one process (checks in _sync_batchnorm.py)."""
from ._common import run_ranks


def test_sync_batchnorm_over_two_ranks_equals_one_process_with_the_whole_batch():
    out = run_ranks("_sync_batchnorm.py", timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: sync_batchnorm OK" in out.stdout and "rank 1: sync_batchnorm OK" in out.stdout
