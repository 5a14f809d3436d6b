"""Where a training step's time goes: cProfile over many steps of one bench/bench_training.py model.

    python bench/profile_step.py mlp-64-128-10 --steps 300
    python bench/profile_step.py mlp-1024-4096-1000 --steps 10 --framework pytorch --top 15

Prints the per-step time and the top functions by own time (tottime) and by cumulative time, so that
Python overhead (many small calls) and library time (BLAS, Numba kernels: few long calls) separate.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_training as bt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", choices=bt.MODELS)
    p.add_argument("--framework", choices=("gpugrad", "pytorch", "numpy"), default="gpugrad")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    if args.framework == "gpugrad":
        step = bt.gpugrad_step(args.model)
    elif args.framework == "pytorch":
        import torch

        step = bt.pytorch_step(torch, args.model)
    else:
        step = bt.numpy_step(args.model)
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    per = (time.perf_counter() - t0) / args.steps
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.steps):
        step()
    prof.disable()
    print(f"{args.framework} {args.model}: {per * 1e3:.3f} ms per step without the profiler ({args.steps} steps)")
    for key in ("tottime", "cumulative"):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats(key).print_stats(args.top)
        print(f"--- by {key} (times are totals over {args.steps} profiled steps)")
        print(s.getvalue().split("\n", 4)[-1] if key == "tottime" else s.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
