"""NumPy's calls split over the threads (gpugrad/threads.py) against the same call on one thread.

Each line is one 2048x2048 float32 call, split / one call, min and median over interleaved rounds, the
outputs of the last few rounds kept alive so that each call writes fresh memory as in a training step.
gpugrad splits exp, log and sqrt (``Backend.ufunc``), row sums (``Backend.sum``), arithmetic on two
arrays of one shape (``Backend.arithmetic``) and a leaf's ``.grad`` copy (``Backend.copy``). "copy of a
broadcast view" and "sum over axis 0" are candidates it does not split (a broadcast operand's gradient):
they are built here from ``threads.split``, the axis-0 sum as 16 fixed blocks of rows whose partial sums
are added in order. The line after them is what one split costs with nothing to do (a pool thread's
wake-up)::

    python bench/split_calls.py [--rounds 40] [--cold]

``--cold`` evicts the caches (64 MiB written) before every call: the state of a benchmark step that runs
right after another library's (bench/targets.py), where the inputs come from memory, not the L3. With
PyTorch installed, the last line is how long PyTorch's OpenMP workers keep a core busy after one parallel
op: in an interleaved comparison that core is the one a split of gpugrad's next step needs.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import numpy as np

from gpugrad import threads


def split_view_copy(x: np.ndarray) -> np.ndarray:
    """A copy of the strided view ``x`` by rows on the threads."""
    out = np.empty(x.shape, x.dtype)

    def chunk(lo: int, hi: int) -> None:
        np.copyto(out[lo:hi], x[lo:hi])

    if not threads.split(chunk, out.shape[0], out.size):
        chunk(0, out.shape[0])
    return out


def blocked_sum0(x: np.ndarray, blocks: int = 16) -> np.ndarray:
    """``x.sum(axis=0)`` as ``blocks`` fixed blocks of rows summed on the threads, then added in order (the
    same bits on any thread count; not NumPy's one call's bits)."""
    n = x.shape[0]
    bounds = [n * i // blocks for i in range(blocks + 1)]
    parts = np.empty((blocks,) + x.shape[1:], x.dtype)

    def partial(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            x[bounds[k]:bounds[k + 1]].sum(axis=0, out=parts[k])

    if not threads.split(partial, blocks, x.size):
        partial(0, blocks)
    out = parts[0].copy()
    for k in range(1, blocks):
        out += parts[k]
    return out


def torch_spin_ms() -> float | None:
    """CPU time (ms) PyTorch's other threads use in the 20 ms after one parallel op (median of 5), or None
    without PyTorch."""
    try:
        import torch
    except ImportError:
        return None

    def cpu_ns() -> dict:
        out = {}
        for path in glob.glob("/proc/self/task/*/schedstat"):
            with open(path) as f:
                out[path.split("/")[4]] = int(f.read().split()[0])
        return out

    me = str(__import__("threading").get_native_id())
    x = torch.ones(2048, 2048)
    used = []
    for _ in range(5):
        x + x
        before = cpu_ns()
        time.sleep(0.02)
        after = cpu_ns()
        used.append(sum(v - before.get(k, 0) for k, v in after.items() if k != me) / 1e6)
    return float(np.median(used))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--cold", action="store_true", help="evict the caches before every call")
    args = p.parse_args(argv)
    rounds = args.rounds
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.uniform(1, 2, (2048, 2048)).astype(np.float32)
    row = rng.standard_normal(2048, dtype=np.float32)
    column_view = np.broadcast_to(row.reshape(2048, 1), (2048, 2048))
    cases = {
        "exp": (lambda: np.exp(a), lambda: threads.ufunc(np.exp, (a,))),
        "log": (lambda: np.log(b), lambda: threads.ufunc(np.log, (b,))),
        "x + row": (lambda: a + row, lambda: threads.ufunc(np.add, (a, row))),
        "sum(dim=1)": (lambda: a.sum(axis=1), lambda: threads.sum_rows(a, (1,), False, None)),
        "mul": (lambda: a * b, lambda: threads.ufunc(np.multiply, (a, b))),
        "div": (lambda: a / b, lambda: threads.ufunc(np.true_divide, (a, b))),
        "copy": (lambda: np.array(a, copy=True), lambda: threads.copy(a)),
        "copy of a broadcast view": (lambda: np.array(column_view, copy=True), lambda: split_view_copy(column_view)),
        "sum over axis 0": (lambda: a.sum(axis=0), lambda: blocked_sum0(a)),
    }
    evict = np.ones(16 << 20, np.float32) if args.cold else None
    print(f"threads {threads.get_num_threads()}, load average {tuple(round(x, 2) for x in os.getloadavg())}"
          f"{', caches evicted before each call' if args.cold else ''}")
    for name, (one, split) in cases.items():
        times, kept = ([], []), []
        for r in range(rounds):
            for i, fn in ((0, one), (1, split)) if r % 2 else ((1, split), (0, one)):
                if evict is not None:
                    evict += 1.0
                t0 = time.perf_counter()
                kept.append(fn())
                times[i].append(time.perf_counter() - t0)
                del kept[:-3]
        if kept[-1] is None:
            print(f"{name}: not split (one thread, or below threads.PARALLEL_MIN_ELEMENTS)")
            continue
        (one_min, one_med), (split_min, split_med) = ((min(t), float(np.median(t))) for t in times)
        print(f"{name:24s} one call {one_min * 1e3:.3f} ms (median {one_med * 1e3:.3f}), split {split_min * 1e3:.3f} ms "
              f"(median {split_med * 1e3:.3f}): {split_min / one_min:.2f}x")
    idle = float("inf")
    for _ in range(rounds * 5):
        t0 = time.perf_counter()
        threads.split(lambda lo, hi: None, 8, threads.PARALLEL_MIN_ELEMENTS)
        idle = min(idle, time.perf_counter() - t0)
    print(f"a split with nothing to do: {idle * 1e6:.1f} us")
    spin = torch_spin_ms()
    if spin is not None:
        print(f"PyTorch's OpenMP workers after one parallel op: {spin:.1f} ms of CPU in the next 20 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
