"""Run by test_p2p.py under ``mpiexec -n 2``: point-to-point (send/recv, isend/irecv, batch_isend_irecv,
objects), all_to_all(_single), reduce_scatter, the coalesced collectives, gather/scatter of objects,
group_src/group_dst, monitored_barrier, each checked on both ranks against values every rank can compute."""
import time

import numpy as np

import gpugrad as gg
import gpugrad.distributed as dist

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
peer = 1 - rank
assert n == 2
assert dist.get_process_group_ranks(None) == [0, 1]


def data(r, shape=(3, 4), dtype=np.float32):
    return np.random.default_rng(200 + r).standard_normal(shape).astype(dtype)


def raises(call, kind, text):
    try:
        call()
    except kind as exc:
        assert text in str(exc), (text, str(exc))
        return exc
    raise AssertionError(f"no {kind.__name__} ({text})")


# ---- send / recv: by rank, from any rank (the sender's rank returned), with tags, into a non-contiguous view
if rank == 0:
    dist.send(gg.tensor(data(0)), dst=1)
    dist.send(gg.tensor(data(1)), 1, tag=7)
    t = gg.zeros(4, 3)
    assert dist.recv(t.t(), src=1) == 1  # a view: received through a staging copy, then written in place
    np.testing.assert_array_equal(t.numpy(), data(2).T)
else:
    t = gg.zeros(3, 4)
    v = t._version
    assert dist.recv(t, src=0) == 0 and t._version == v + 1
    np.testing.assert_array_equal(t.numpy(), data(0))
    assert dist.recv(t, tag=7) == 0  # src=None: any rank
    np.testing.assert_array_equal(t.numpy(), data(1))
    dist.send(gg.tensor(data(2)), group_dst=0)

# ---- isend / irecv both ways at once, and to this rank itself (which isend/irecv allow)
out = gg.zeros(3, 4, dtype=gg.int64)
r = dist.irecv(out, src=peer)
s = dist.isend(gg.tensor(np.arange(12).reshape(3, 4) * (rank + 1)), dst=peer)
s.wait()
r.wait()
assert r.is_completed() and r._source_rank() == peer
assert (out.numpy() == np.arange(12).reshape(3, 4) * (peer + 1)).all()
me = gg.zeros(5)
r = dist.irecv(me, src=rank, tag=3)
dist.isend(gg.arange(5, dtype=gg.float32), dst=rank, tag=3).wait()
r.wait()
assert me.tolist() == [0, 1, 2, 3, 4]

# ---- a message of the wrong size is refused, naming the sizes
if rank == 0:
    dist.send(gg.ones(3), dst=1)
    dist.send(gg.ones(5), dst=1)
else:
    raises(lambda: dist.recv(gg.zeros(5), src=0), dist.DistBackendError, "rank 0 sent 12 bytes but the tensor ((5,), float32) holds 20")
    raises(lambda: dist.recv(gg.zeros(3), src=0), dist.DistBackendError, "rank 0 sent more than the tensor ((3,), float32) holds (12 bytes)")

# ---- batch_isend_irecv: a ring, receive listed first (the order must not matter)
recv_t = gg.zeros(2)
ops = [dist.P2POp(dist.irecv, recv_t, peer), dist.P2POp(dist.isend, gg.tensor([2.0 * rank, 2.0 * rank + 1]), peer)]
for w in dist.batch_isend_irecv(ops):
    w.wait()
assert recv_t.tolist() == [2.0 * peer, 2.0 * peer + 1]
assert "irecv" in repr(ops[0]) and ops[0].peer == peer and ops[0].group_peer == peer

# ---- objects, point to point
if rank == 1:
    dist.send_object_list([{"a": 1}, "two", None], dst=0)
    dist.send_object_list([1, 2], dst=0)
    dist.send_object_list(["back"], group_dst=0)
else:
    objs = [None, None, None]
    assert dist.recv_object_list(objs) == 1 and objs == [{"a": 1}, "two", None]
    objs = [None] * 3
    raises(lambda: dist.recv_object_list(objs, src=1), ValueError, "rank 1 sent 2 objects but object_list has 3")
    assert objs == [None] * 3  # left as it was
    one = [None]
    assert dist.recv_object_list(one, group_src=1) == 1 and one == ["back"]

# ---- all_to_all_single: even split, then uneven splits (rank r sends r + 1 rows to rank 0, 2 to rank 1)
inp = gg.tensor((np.arange(4 * 3) + 100 * rank).reshape(4, 3).astype(np.float32))
outp = gg.zeros(4, 3)
dist.all_to_all_single(outp, inp)
rows = [(np.arange(12) + 100 * r).reshape(4, 3) for r in range(n)]
np.testing.assert_array_equal(outp.numpy(), np.concatenate([rows[0][2 * rank : 2 * rank + 2], rows[1][2 * rank : 2 * rank + 2]]))
sizes = [[1, 2], [2, 2]]  # sizes[r][q]: rows rank r sends to rank q
inp = gg.tensor(np.arange(sum(sizes[rank])) + 10.0 * rank)
outp = gg.full((sizes[0][rank] + sizes[1][rank],), -1.0, dtype=gg.float64)
w = dist.all_to_all_single(outp, inp, [sizes[0][rank], sizes[1][rank]], sizes[rank], async_op=True)
w.wait()
want = [np.arange(sum(sizes[r]))[sum(sizes[r][:rank]) : sum(sizes[r][: rank + 1])] + 10.0 * r for r in range(n)]
np.testing.assert_array_equal(outp.numpy(), np.concatenate(want))

# ---- all_to_all: lists of tensors of different sizes
ins = [gg.full((rank + 1, q + 1), float(10 * rank + q)) for q in range(n)]
outs = [gg.zeros(r + 1, rank + 1) for r in range(n)]
dist.all_to_all(outs, ins)
for r in range(n):
    assert (outs[r].numpy() == 10 * r + rank).all()

# ---- reduce_scatter (list form), sync and async, SUM and AVG
every = [[data(10 * r + q, (2, 3)) for q in range(n)] for r in range(n)]
for op, fn, async_op in ((dist.ReduceOp.SUM, np.sum, False), (dist.ReduceOp.AVG, np.mean, True)):
    o = gg.zeros(2, 3)
    w = dist.reduce_scatter(o, [gg.tensor(x) for x in every[rank]], op=op, async_op=async_op)
    w and w.wait()
    np.testing.assert_allclose(o.numpy(), fn(np.stack([every[r][rank] for r in range(n)]), axis=0), rtol=1e-6)

# ---- the coalesced collectives
ts = [gg.tensor(data(rank, (2, 2))), gg.tensor(data(rank, (3,)))]
w = dist.all_reduce_coalesced(ts, async_op=True)
w.wait()
np.testing.assert_allclose(ts[0].numpy(), data(0, (2, 2)) + data(1, (2, 2)), rtol=1e-6)
np.testing.assert_allclose(ts[1].numpy(), data(0, (3,)) + data(1, (3,)), rtol=1e-6)
outs = [[gg.zeros(2), gg.zeros(1, 3)] for _ in range(n)]
dist.all_gather_coalesced(outs, [gg.full((2,), float(rank)), gg.full((1, 3), rank + 0.5)])
for r in range(n):
    assert outs[r][0].tolist() == [r, r] and outs[r][1].tolist() == [[r + 0.5] * 3]

# ---- gather_object / scatter_object_list, by global and by group rank
got = [None, None] if rank == 1 else None
dist.gather_object({"from": rank}, got, dst=1)
assert rank == 0 or got == [{"from": 0}, {"from": 1}]
got = [None, None] if rank == 0 else None
dist.gather_object(rank * 11, got)  # dst defaults to 0
assert rank == 1 or got == [0, 11]
slot = [None]
dist.scatter_object_list(slot, [("to", 0), ("to", 1)] if rank == 1 else None, group_src=1)
assert slot == [("to", rank)]

# ---- group_src / group_dst, and groups this rank is not in
both = dist.new_group([1, 0])
assert dist.get_process_group_ranks(both) == [0, 1]  # new_group orders the ranks, as PyTorch's
t = gg.tensor(data(rank))
dist.broadcast(t, group=both, group_src=1)
np.testing.assert_array_equal(t.numpy(), data(1))
g0, g1 = dist.new_group([0]), dist.new_group([1])
mine, other = (g0, g1) if rank == 0 else (g1, g0)
assert dist.get_process_group_ranks(mine) == [rank]
t = gg.tensor(data(rank))
dist.reduce(t, group=mine, group_dst=0)  # group rank 0 of a group of one: this rank
np.testing.assert_array_equal(t.numpy(), data(rank))
assert dist.isend(gg.ones(1), dst=0, group=other) is None  # not a member: nothing happens
assert dist.recv(gg.ones(1), src=0, group=other) == -1

# ---- monitored_barrier: passes; then rank 1 is late and rank 0 names it
dist.monitored_barrier(timeout=10)
if rank == 1:
    time.sleep(0.6)
    raises(lambda: dist.monitored_barrier(timeout=0.3), dist.DistBackendError, "rank 1 was not released by rank 0")
else:
    t0 = time.monotonic()
    raises(lambda: dist.monitored_barrier(timeout=0.3, wait_all_ranks=True), dist.DistBackendError,
           "Rank 1 failed to pass monitoredBarrier in 300 ms")
    assert time.monotonic() - t0 < 2
dist.monitored_barrier()  # the late token of the failed call does not release this one
dist.barrier()
dist.destroy_process_group()
print(f"rank {rank}: p2p OK", flush=True)
