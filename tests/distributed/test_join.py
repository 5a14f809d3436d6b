"""torch.distributed.algorithms.join over 2 ranks with uneven inputs (the checks live in _join.py)."""
from ._common import run_ranks


def test_join_shadows_the_collectives_of_ranks_with_more_inputs():
    out = run_ranks("_join.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: join OK" in out.stdout and "rank 1: join OK" in out.stdout
