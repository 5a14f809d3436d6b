"""Run by test_collectives.py under ``mpiexec -n 2``: every collective against a NumPy reduction of what
all ranks hold, sync and async, plus groups, objects and NCCL's unique-id exchange (with a stand-in)."""
import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad.distributed.nccl import StoreChannel, exchange_unique_id

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi" and n == 2


def data(r, shape=(3, 5), dtype=np.float32):
    """Rank r's values, reproducible on every rank (so each rank can compute the reference itself)."""
    return np.random.default_rng(100 + r).standard_normal(shape).astype(dtype)


every = [data(r) for r in range(n)]
refs = {dist.ReduceOp.SUM: np.sum, dist.ReduceOp.AVG: np.mean, dist.ReduceOp.PRODUCT: np.prod,
        dist.ReduceOp.MIN: np.min, dist.ReduceOp.MAX: np.max}
for async_op in (False, True):
    for op, fn in refs.items():
        t = gg.tensor(data(rank))
        w = dist.all_reduce(t, op=op, async_op=async_op)
        if async_op:
            w.wait()
            assert w.is_completed()
        np.testing.assert_allclose(t.numpy(), fn(np.stack(every), axis=0), rtol=1e-6, err_msg=str(op))
    # int64 sum, exact
    t = gg.tensor(np.arange(6, dtype=np.int64) * (rank + 1))
    dist.all_reduce(t, async_op=async_op) if not async_op else dist.all_reduce(t, async_op=True).wait()
    assert (t.numpy() == np.arange(6) * 3).all()

    t = gg.tensor(data(rank))
    w = dist.broadcast(t, src=1, async_op=async_op)
    w and w.wait()
    np.testing.assert_array_equal(t.numpy(), every[1])

    outs = [gg.zeros(3, 5) for _ in range(n)]
    w = dist.all_gather(outs, gg.tensor(data(rank)), async_op=async_op)
    w and w.wait()
    for r in range(n):
        np.testing.assert_array_equal(outs[r].numpy(), every[r])

    for shape in ((n * 3, 5), (n, 3, 5)):
        out = gg.zeros(*shape)
        w = dist.all_gather_into_tensor(out, gg.tensor(data(rank)), async_op=async_op)
        w and w.wait()
        np.testing.assert_array_equal(out.numpy().reshape(n, 3, 5), np.stack(every))

    big = [data(r, (n * 2, 4)) for r in range(n)]
    for op, fn in ((dist.ReduceOp.SUM, np.sum), (dist.ReduceOp.AVG, np.mean), (dist.ReduceOp.MAX, np.max)):
        out = gg.zeros(2, 4)
        w = dist.reduce_scatter_tensor(out, gg.tensor(big[rank]), op=op, async_op=async_op)
        w and w.wait()
        np.testing.assert_allclose(out.numpy(), fn(np.stack(big), axis=0)[2 * rank : 2 * rank + 2], rtol=1e-6)

    t = gg.tensor(data(rank))
    w = dist.reduce(t, dst=0, op=dist.ReduceOp.MAX, async_op=async_op)
    w and w.wait()
    np.testing.assert_array_equal(t.numpy(), np.max(np.stack(every), axis=0) if rank == 0 else every[rank])

    glist = [gg.zeros(3, 5) for _ in range(n)] if rank == 1 else None
    w = dist.gather(gg.tensor(data(rank)), glist, dst=1, async_op=async_op)
    w and w.wait()
    if rank == 1:
        for r in range(n):
            np.testing.assert_array_equal(glist[r].numpy(), every[r])

    t = gg.zeros(3, 5)
    slist = [gg.tensor(data(10 + r)) for r in range(n)] if rank == 0 else None
    w = dist.scatter(t, slist, src=0, async_op=async_op)
    w and w.wait()
    np.testing.assert_array_equal(t.numpy(), data(10 + rank))

    w = dist.barrier(async_op=async_op)
    w and w.wait()

# The bitwise reductions, on integers and on bools (where MPI has only its logical ops), sync and async,
# and through reduce and reduce_scatter_tensor.
ints = [np.array([0b1100, 0b1010, 7, 0], dtype=np.int32) + r for r in range(n)]
bools = [np.array([True, True, False, False]) if r == 0 else np.array([True, False, True, False]) for r in range(n)]
bitwise = {dist.ReduceOp.BAND: np.bitwise_and, dist.ReduceOp.BOR: np.bitwise_or, dist.ReduceOp.BXOR: np.bitwise_xor}
for op, fn in bitwise.items():
    for every_rank in (ints, bools):
        want = fn.reduce(np.stack(every_rank), axis=0)
        for async_op in (False, True):
            t = gg.tensor(every_rank[rank])
            w = dist.all_reduce(t, op=op, async_op=async_op)
            w and w.wait()
            assert t.dtype == gg.tensor(every_rank[rank]).dtype
            np.testing.assert_array_equal(t.numpy(), want, err_msg=str(op))
        t = gg.tensor(every_rank[rank])
        dist.reduce(t, dst=1, op=op)
        np.testing.assert_array_equal(t.numpy(), want if rank == 1 else every_rank[rank], err_msg=str(op))
        out = gg.tensor(every_rank[rank][:2].copy())
        dist.reduce_scatter_tensor(out, gg.tensor(every_rank[rank]), op=op)
        np.testing.assert_array_equal(out.numpy(), want[2 * rank : 2 * rank + 2], err_msg=str(op))

# Non-contiguous tensors go through a staging copy and come back in place.
base = gg.tensor(data(rank, (4, 6)))
view = base.t()
dist.all_reduce(view)
np.testing.assert_allclose(base.numpy(), data(0, (4, 6)) + data(1, (4, 6)), rtol=1e-6)

# Argument errors name the call.
for call, kind in (
    (lambda: dist.all_reduce(gg.tensor([1, 2]), op=dist.ReduceOp.AVG), "AVG"),
    (lambda: dist.all_reduce(gg.tensor([1.0, 2.0]), op=dist.ReduceOp.BXOR), "BXOR with non-integral dtype"),
    (lambda: dist.all_gather([gg.zeros(2)], gg.zeros(2)), "list of 2"),
    (lambda: dist.all_gather_into_tensor(gg.zeros(3), gg.zeros(2)), "shape"),
    (lambda: dist.broadcast(gg.zeros(2), src=5), "src=5"),
):
    try:
        call()
    except (ValueError, TypeError, RuntimeError) as exc:
        assert kind in str(exc), (kind, str(exc))
    else:
        raise AssertionError(f"no error for {kind}")

# Objects.
objs = [None] * n
dist.all_gather_object(objs, {"rank": rank})
assert objs == [{"rank": 0}, {"rank": 1}]
lst = [rank, "x"] if rank == 0 else [None, None]
dist.broadcast_object_list(lst, src=0)
assert lst == [0, "x"]

# Groups: a group of one rank each, and the world again.
g0 = dist.new_group([0])
g1 = dist.new_group([1])
mine = g0 if rank == 0 else g1
other = g1 if rank == 0 else g0
assert dist.get_world_size(mine) == 1 and dist.get_rank(mine) == 0 and dist.get_rank(other) == -1
t = gg.tensor(data(rank))
dist.all_reduce(t, group=mine)
np.testing.assert_array_equal(t.numpy(), every[rank])
assert dist.all_reduce(t, group=other) is None  # not a member: nothing happens, as PyTorch
both = dist.new_group([0, 1])
t = gg.tensor(data(rank))
dist.broadcast(t, src=1, group=both)
np.testing.assert_array_equal(t.numpy(), every[1])

# NCCL's unique id reaches every rank over MPI and over a TCPStore (a stand-in for nccl.get_unique_id).
from gpugrad.distributed.process_group import _world_pg

uid = exchange_unique_id(rank, lambda: ("fake-nccl-id", 42), _world_pg())
assert uid == ("fake-nccl-id", 42)
store = dist.TCPStore("127.0.0.1", 0, n, is_master=True, timeout=20) if rank == 0 else None
p = _world_pg().broadcast_object(store.port if rank == 0 else None, 0)
store = store or dist.TCPStore("127.0.0.1", p, n, timeout=20)
chan = StoreChannel(store, rank, n)
assert exchange_unique_id(rank, lambda: b"\x01id-over-tcp", chan) == b"\x01id-over-tcp"
assert chan.allgather_object(rank * 10) == [0, 10]

dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {rank}: collectives OK", flush=True)
