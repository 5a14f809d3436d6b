"""A batched matmul, forward + backward, the digits CNN training step (batch 64, Adam), and two ops that run
as gpugrad's parallel loops (gelu at 2048x2048, layer_norm at 8192x768, forward + backward), on a quiet
machine and with another process busy on one core, beside PyTorch (issue "Kernels at the machine's
limit", item 3: a loaded machine must degrade gracefully).

A GEMM on two BLAS threads waits for both: with a core taken by another process, it waits for that core
(bench/NOTES.md, eleventh session, has what a split of the batch over gpugrad's own threads did). GEMMs
under 16M multiply-adds run on one BLAS thread (gpugrad/threads.py, thirteenth session): the first bmm
shape and all of the CNN's. Each line: medians of interleaved calls, quiet, then loaded (a spinning child
process), and how much each library slowed down::

    python bench/bmm_under_load.py [--rounds 40] [bmm digits gelu layer_norm]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import numpy as np

SHAPES = [(64, 128, 64, 128), (16, 256, 256, 256), (8, 512, 512, 512)]  # batch, m, k, n


def steps(B: int, m: int, k: int, n: int):
    import torch

    import gpugrad as gg

    rng = np.random.default_rng(0)
    a, b, up = (rng.standard_normal(s, dtype=np.float32) for s in ((B, m, k), (B, k, n), (B, m, n)))
    ours = [gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True), gg.tensor(up)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True), torch.tensor(up)]

    def step(lib, x, y, g):
        x.grad = y.grad = None
        lib.bmm(x, y).backward(g)

    return {"gpugrad": lambda: step(gg, *ours), "pytorch": lambda: step(torch, *theirs)}


def cnn_steps():
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    import bench_training

    return {"gpugrad": bench_training.gpugrad_step("cnn-digits"),
            "pytorch": bench_training.pytorch_step(torch, "cnn-digits")}


def parallel_loop_steps(name: str):
    """gelu (2048x2048) or layer_norm (8192x768) forward + backward: Numba parallel loops in gpugrad (TBB's
    threads where installed, else OpenMP's: gpugrad/threads.py), at::parallel_for in PyTorch."""
    import torch
    import torch.nn.functional as TF

    import gpugrad as gg
    import gpugrad.nn.functional as F

    shape = (2048, 2048) if name == "gelu" else (8192, 768)
    rng = np.random.default_rng(0)
    x, up = (rng.standard_normal(shape, dtype=np.float32) for _ in range(2))

    def side(lib, functional):
        xs, g = lib.tensor(x, requires_grad=True), lib.tensor(up)
        op = functional.gelu if name == "gelu" else (lambda t: functional.layer_norm(t, (shape[1],)))

        def step():
            xs.grad = None
            op(xs).backward(g)
        return step

    return {"gpugrad": side(gg, F), "pytorch": side(torch, TF)}


def medians(fns: dict, rounds: int) -> dict:
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for r in range(rounds):
        for name in (list(fns) if r % 2 else list(fns)[::-1]):
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("only", nargs="*", help="the cases whose label starts with one of these words (bmm, digits, gelu, "
                                          "layer_norm); all by default")
    args = p.parse_args()
    rounds = args.rounds
    cases = [(f"bmm {B}x({m}x{k} @ {k}x{n}) forward+backward", lambda B=B, m=m, k=k, n=n: steps(B, m, k, n))
             for B, m, k, n in SHAPES]
    cases.append(("digits CNN training step, batch 64", cnn_steps))
    cases += [("gelu 2048x2048 forward+backward", lambda: parallel_loop_steps("gelu")),
              ("layer_norm 8192x768 forward+backward", lambda: parallel_loop_steps("layer_norm"))]
    for label, make in cases:
        if args.only and not any(label.startswith(word) for word in args.only):
            continue
        fns = make()
        quiet = medians(fns, rounds)
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.2)
            loaded = medians(fns, rounds)
        finally:
            busy.kill()
            busy.wait()
        g, t = quiet["gpugrad"], quiet["pytorch"]
        gl, tl = loaded["gpugrad"], loaded["pytorch"]
        print(f"{label}: quiet gpugrad "
              f"{g * 1e3:.2f} ms, pytorch {t * 1e3:.2f} ms ({g / t:.2f}x); loaded gpugrad {gl * 1e3:.2f} ms, "
              f"pytorch {tl * 1e3:.2f} ms ({gl / tl:.2f}x); slowed by load: gpugrad {gl / g:.2f}x, pytorch {tl / t:.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
