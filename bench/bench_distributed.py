"""Distributed benchmarks over 2 ranks on this machine (it relaunches itself under mpiexec):

1. all-reduce bandwidth, 1 KB to 64 MB: ``gpugrad.distributed.all_reduce`` on a Tensor against mpi4py's own
   ``Allreduce`` (in place) on the same buffer, interleaved, medians; ratio = mpi4py time / ours (>= 0.9
   is the target).
2. DDP's overlap for one step of the MLP 784-1024-1024-10 (batch 64 per rank, SGD): backward alone (T_b),
   the all-reduce of DDP's buckets alone (T_c), and backward under DDP (T_ddp, up to averaged gradients);
   hidden share = (T_b + T_c - T_ddp) / T_c, the part of communication that backward covered. Also the
   window: how much backward is left once the first bucket's all-reduce has started.

    python bench/bench_distributed.py [--nproc 2] [--repeat 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _relaunch(nproc: int) -> int:
    from gpugrad.distributed.launch import find_mpiexec

    cmd = [find_mpiexec(), "-n", str(nproc), sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
    return subprocess.call(cmd, env=dict(os.environ, GPUGRAD_BENCH_RANK="1"))


def _median(fn, repeat: int, comm) -> float:
    times = []
    for _ in range(repeat):
        comm.Barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    # The slowest rank decides a collective's time.
    return max(comm.allgather(statistics.median(times)))


def bandwidth(dist, gg, comm, MPI, repeat: int) -> None:
    import numpy

    rank = dist.get_rank()
    if rank == 0:
        print(f"{'bytes':>10} {'ours ms':>9} {'mpi4py ms':>10} {'ours GB/s':>10} {'ratio':>6}")
    size = 1024
    while size <= 64 * 1024 * 1024:
        t = gg.ones(size // 4)
        buf = t._array
        ours, theirs = [], []
        for _ in range(3):  # interleaved rounds, so that load on the machine hits both alike
            ours.append(_median(lambda: dist.all_reduce(t), repeat, comm))
            theirs.append(_median(lambda: comm.Allreduce(MPI.IN_PLACE, buf, MPI.SUM), repeat, comm))
        o, m = statistics.median(ours), statistics.median(theirs)
        if rank == 0:
            print(f"{size:>10} {o * 1e3:>9.3f} {m * 1e3:>10.3f} {size / o / 1e9:>10.2f} {m / o:>6.2f}", flush=True)
        size *= 4
        numpy.testing.assert_equal(bool(numpy.isfinite(buf).all()), True)


def overlap(dist, gg, comm, repeat: int) -> None:
    from gpugrad import nn, optim
    from gpugrad.distributed import ReduceOp
    from gpugrad.nn.parallel import DistributedDataParallel as DDP

    F = nn.functional
    gg.manual_seed(0)

    def mlp():
        return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))

    x, y = gg.randn(64, 784), gg.randint(0, 10, (64,))
    plain, wrapped = mlp(), DDP(mlp())
    opts = {id(plain): optim.SGD(plain.parameters(), lr=1e-3), id(wrapped): optim.SGD(wrapped.parameters(), lr=1e-3)}
    # The same buckets, all-reduced on their own: DDP's communication with nothing to hide behind.
    buckets = [gg.zeros(b.size) for b in wrapped._buckets]
    launched = []
    launch = wrapped._launch

    def timed_launch(bucket):
        launched.append(time.perf_counter())
        launch(bucket)

    wrapped._launch = timed_launch

    def step(model):
        def go():
            opt = opts[id(model)]
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            launched.clear()
            t0 = time.perf_counter()
            loss.backward()
            t1 = time.perf_counter()
            opt.step()
            go.window = (t1 - launched[0]) if launched else 0.0  # backward left after the first bucket started
            return t1 - t0
        return go

    def comm_only():
        t0 = time.perf_counter()
        for w in [dist.all_reduce(b, op=ReduceOp.AVG, async_op=True) for b in buckets]:
            w.wait()
        return time.perf_counter() - t0

    ddp_step = step(wrapped)
    for fn in (step(plain), ddp_step):  # warm-up: the optimizers' flat buffers exist from here on
        fn()
    rows = {"backward": [], "all-reduce": [], "ddp backward": [], "window": []}
    for _ in range(repeat):
        for name, fn in (("backward", step(plain)), ("all-reduce", comm_only), ("ddp backward", ddp_step)):
            comm.Barrier()
            rows[name].append(fn())
        rows["window"].append(ddp_step.window)
    med = {k: max(comm.allgather(statistics.median(v))) for k, v in rows.items()}
    hidden = (med["backward"] + med["all-reduce"] - med["ddp backward"]) / med["all-reduce"]
    in_place = sum(not b.copied for b in wrapped._buckets)
    if dist.get_rank() == 0:
        sizes = ", ".join(f"{b.size * 4 / 2**20:.1f} MB" for b in wrapped._buckets)
        print(f"MLP 784-1024-1024-10 step, batch 64/rank, {dist.get_world_size()} ranks, buckets [{sizes}] "
              f"({in_place} reduced in place in the optimizer's flat gradient buffer):\n"
              f"  backward {med['backward'] * 1e3:.2f} ms, all-reduce of the buckets alone {med['all-reduce'] * 1e3:.2f} ms, "
              f"backward under DDP {med['ddp backward'] * 1e3:.2f} ms; backward left after the first bucket starts "
              f"{med['window'] * 1e3:.2f} ms\n"
              f"  communication hidden: {max(0.0, min(1.0, hidden)) * 100:.0f}% (raw {hidden:+.2f})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    if not os.environ.get("GPUGRAD_BENCH_RANK") and not os.environ.get("PMI_RANK"):
        return _relaunch(args.nproc)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import gpugrad as gg
    import gpugrad.distributed as dist
    from mpi4py import MPI

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    bandwidth(dist, gg, comm, MPI, args.repeat)
    overlap(dist, gg, comm, args.repeat)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
