"""Every collective against a NumPy reduction over 2 ranks (the checks live in _collectives.py)."""
from ._common import run_ranks


def test_collectives_over_two_ranks():
    out = run_ranks("_collectives.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: collectives OK" in out.stdout and "rank 1: collectives OK" in out.stdout


def test_differentiable_collectives_over_two_ranks():
    out = run_ranks("_nn_autograd.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "rank 0: distributed.nn OK" in out.stdout and "rank 1: distributed.nn OK" in out.stdout
