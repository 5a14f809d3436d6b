"""distributed.tensor's placements (Shard, Replicate, Partial, _StridedShard): records with PyTorch's
predicates, equality, printing and chunk arithmetic; the DeviceMesh arithmetic says it is absent;
_functional_collectives.wait_tensor outside any process group."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.distributed.tensor import Partial, Placement, Replicate, Shard
from gpugrad.distributed.tensor.placement_types import _StridedShard


def chunk_sizes_and_offsets(size, n):
    """What np.array_split-like torch.chunk cuts: chunks of ceil(size / n) rows, the last ones short or empty."""
    rows = np.arange(size)
    full = -(-size // n) if size else 0
    parts = [rows[r * full:(r + 1) * full] for r in range(n)]
    return [(len(p), int(p[0]) if len(p) else min(r * full, size)) for r, p in enumerate(parts)]


@pytest.mark.parametrize("size,n", [(10, 4), (2, 4), (7, 3), (0, 3), (9, 3), (1, 1)])
def test_shard_chunk_arithmetic_is_torch_chunks(size, n):
    got = [Shard.local_shard_size_and_offset(size, n, r) for r in range(n)]
    assert got == chunk_sizes_and_offsets(size, n)
    assert sum(s for s, _ in got) == size
    assert Shard._local_shard_size_and_offset(size, n, n - 1) == got[-1]
    with pytest.raises(ValueError, match="not one of"):
        Shard.local_shard_size_and_offset(size, n, n)


def test_placements_predicates_equality_and_printing():
    s, r, p, st = Shard(1), Replicate(), Partial(), _StridedShard(0, split_factor=2)
    assert all(isinstance(x, Placement) for x in (s, r, p, st))
    assert s.is_shard() and s.is_shard(1) and not s.is_shard(0) and not s.is_replicate() and not s.is_partial()
    assert r.is_replicate() and not r.is_shard() and not r.is_partial()
    assert p.is_partial() and p.is_partial("sum") and not p.is_partial("max") and p.reduce_op == "sum"
    assert not st.is_shard() and not isinstance(st, Shard) and (st.dim, st.split_factor) == (0, 2)
    assert Shard(0) == Shard(0) != Shard(1) and Shard(0) != _StridedShard(0, split_factor=1)
    assert Replicate() == Replicate() and Partial("max") != Partial() and Shard(0) != Replicate()
    assert len({Shard(0), Shard(0), Replicate(), Replicate(), Partial("avg")}) == 3
    assert [repr(x) for x in (s, r, p, st)] == ["Shard(dim=1)", "Replicate()", "Partial(sum)", "_StridedShard(dim=0, sf=2)"]
    assert [str(x) for x in (s, r, p, st)] == ["S(1)", "R", "P(sum)", "_S(0, 2)"]
    with pytest.raises(AttributeError):
        s.dim = 0
    with pytest.raises(TypeError):
        Shard("a")


def test_placements_as_torch():
    pytest.importorskip("torch")
    from torch.distributed.tensor import Partial as TP
    from torch.distributed.tensor import Replicate as TR
    from torch.distributed.tensor import Shard as TS
    from torch.distributed.tensor.placement_types import _StridedShard as TSt

    for mine, theirs in [(Shard(-1), TS(-1)), (Replicate(), TR()), (Partial("avg"), TP("avg")),
                         (_StridedShard(1, split_factor=3), TSt(1, split_factor=3))]:
        assert (repr(mine), str(mine)) == (repr(theirs), str(theirs))
        assert (mine.is_shard(), mine.is_replicate(), mine.is_partial()) == (
            theirs.is_shard(), theirs.is_replicate(), theirs.is_partial())
    for size, n in [(10, 4), (2, 4), (0, 3), (13, 5)]:
        assert [Shard.local_shard_size_and_offset(size, n, r) for r in range(n)] == [
            tuple(TS.local_shard_size_and_offset(size, n, r)) for r in range(n)]


def test_mesh_arithmetic_says_it_is_absent():
    from gpugrad.distributed.tensor._utils import compute_local_shape_and_global_offset

    with pytest.raises(NotImplementedError, match="no DTensor"):
        compute_local_shape_and_global_offset((4, 4), None, (Shard(0),))


def test_wait_tensor_returns_the_finished_tensor_and_refuses_others():
    from gpugrad.distributed._functional_collectives import wait_tensor

    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = wait_tensor(x)
    assert y is x
    with pytest.raises(RuntimeError, match="expected a Tensor"):
        wait_tensor([1.0])
