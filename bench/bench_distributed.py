"""Distributed benchmarks over 2 ranks on this machine (it relaunches itself under mpiexec):

1. all-reduce bandwidth, 1 KB to 64 MB: ``gpugrad.distributed.all_reduce`` on a Tensor against mpi4py's own
   ``Allreduce`` (in place) on the same buffer, interleaved, medians; ratio = mpi4py time / ours (>= 0.9
   is the target).
2. DDP's overlap for one step of the MLP 784-1024-1024-10 (batch 64 per rank, SGD): backward alone (T_b),
   the all-reduce of DDP's buckets alone (T_c), and backward under DDP (T_ddp, up to averaged gradients);
   hidden share = (T_b + T_c - T_ddp) / T_c, the part of communication that backward covered. Also the
   window: how much backward is left once the first bucket's all-reduce has started.

    python bench/bench_distributed.py [--nproc 2] [--repeat 15]

3. ``--nccl-check`` (on a machine with a GPU, CuPy and NCCL; one process, no MPI needed): the NCCL
   backend in a world of one rank, rendezvous over a TCPStore on 127.0.0.1: every collective on CUDA
   tensors against NumPy, async Work, and two DDP steps on "cuda" against the same steps without DDP.
   Exit status 0 when all of it holds; prints one line per check.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _relaunch(nproc: int) -> int:
    """This script as ``gpugrad launch`` runs it (the ranks' environment included: OMP_NUM_THREADS=1 when
    they share this machine and the caller did not set it)."""
    from gpugrad.distributed.launch import launch

    return launch(nproc, [os.path.abspath(__file__), *sys.argv[1:]], extra_env={"GPUGRAD_BENCH_RANK": "1"})


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
        t = gg.zeros(size // 4)  # zeros stay finite however often they are summed (ones overflow after ~128 calls)
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


def nccl_check() -> int:
    import socket

    import numpy

    import gpugrad as gg
    import gpugrad.distributed as dist
    from gpugrad import nn, optim

    with socket.socket() as s_:
        s_.bind(("127.0.0.1", 0))
        port = s_.getsockname()[1]
    t0 = time.perf_counter()
    dist.init_process_group("nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1, timeout=60)
    print(f"init nccl: {time.perf_counter() - t0:.2f} s, backend {dist.get_backend()}", flush=True)
    x = numpy.random.default_rng(0).standard_normal((5, 7)).astype(numpy.float32)
    failures = 0

    def check(name, got, want):
        nonlocal failures
        ok = numpy.allclose(got, want, rtol=1e-6, atol=0)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}", flush=True)

    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN, dist.ReduceOp.PRODUCT):
        t = gg.tensor(x, device="cuda")
        dist.all_reduce(t, op=op)
        check(f"all_reduce {op.name}", t.cpu().numpy(), x)
    t = gg.tensor(x, device="cuda")
    w = dist.all_reduce(t, async_op=True)
    w.wait()
    check("all_reduce async_op + wait", t.cpu().numpy(), x)
    t = gg.tensor(x, device="cuda")
    dist.broadcast(t, src=0)
    check("broadcast", t.cpu().numpy(), x)
    out = gg.zeros(5, 7, device="cuda")
    dist.all_gather_into_tensor(out, gg.tensor(x, device="cuda"))
    check("all_gather_into_tensor", out.cpu().numpy(), x)
    lst = [gg.zeros(5, 7, device="cuda")]
    dist.all_gather(lst, gg.tensor(x, device="cuda"))
    check("all_gather", lst[0].cpu().numpy(), x)
    out = gg.zeros(5, 7, device="cuda")
    dist.reduce_scatter_tensor(out, gg.tensor(x, device="cuda"))
    check("reduce_scatter_tensor", out.cpu().numpy(), x)
    t = gg.tensor(x, device="cuda")
    dist.reduce(t, dst=0)
    check("reduce", t.cpu().numpy(), x)
    g = [gg.zeros(5, 7, device="cuda")]
    dist.gather(gg.tensor(x, device="cuda"), g, dst=0)
    check("gather", g[0].cpu().numpy(), x)
    t = gg.zeros(5, 7, device="cuda")
    dist.scatter(t, [gg.tensor(x, device="cuda")], src=0)
    check("scatter", t.cpu().numpy(), x)
    dist.barrier()
    print("ok   barrier", flush=True)

    from gpugrad.nn.parallel import DistributedDataParallel as DDP

    def mlp():
        gg.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to("cuda")

    xb, yb = gg.randn(32, 64, device="cuda"), gg.randint(0, 10, (32,)).to("cuda")
    ddp, ref = DDP(mlp(), bucket_cap_mb=0.01), mlp()
    for model in (ddp, ref):
        opt = optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(2):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    for (n, a), b in zip(ddp.module.named_parameters(), ref.parameters()):
        check(f"DDP on cuda, parameter {n}", a.detach().cpu().numpy(), b.detach().cpu().numpy())
    dist.destroy_process_group()
    print("nccl check:", "all passed" if not failures else f"{failures} FAILED", flush=True)
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--nccl-check", action="store_true", help="the NCCL backend on one GPU (see the docstring)")
    args = parser.parse_args()
    if args.nccl_check:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        return nccl_check()
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
