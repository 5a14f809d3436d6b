"""NumPy's calls split over the threads (gpugrad/threads.py) against the same call on one thread.

Why only exp, log, sqrt and row sums take the split (``Backend.ufunc``, ``Backend.sum``) and plain
arithmetic does not: each line is one 2048x2048 float32 call, split / one call, min over interleaved
rounds, the outputs of the last few rounds kept alive so that each call writes fresh memory as in a
training step. The last line is what one split costs with nothing to do (a pool thread's wake-up)::

    python bench/split_calls.py [--rounds 40]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from gpugrad import threads


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=40)
    rounds = p.parse_args(argv).rounds
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.uniform(1, 2, (2048, 2048)).astype(np.float32)
    row = rng.standard_normal(2048, dtype=np.float32)
    cases = {
        "exp": (lambda: np.exp(a), lambda: threads.ufunc(np.exp, (a,))),
        "log": (lambda: np.log(b), lambda: threads.ufunc(np.log, (b,))),
        "x + row": (lambda: a + row, lambda: threads.ufunc(np.add, (a, row))),
        "sum(dim=1)": (lambda: a.sum(axis=1), lambda: threads.sum_rows(a, (1,), False, None)),
        "mul": (lambda: a * b, lambda: threads.ufunc(np.multiply, (a, b))),
        "div": (lambda: a / b, lambda: threads.ufunc(np.true_divide, (a, b))),
    }
    print(f"threads {threads.get_num_threads()}, load average {tuple(round(x, 2) for x in __import__('os').getloadavg())}")
    for name, (one, split) in cases.items():
        best, kept = [float("inf"), float("inf")], []
        for r in range(rounds):
            for i, fn in ((0, one), (1, split)) if r % 2 else ((1, split), (0, one)):
                t0 = time.perf_counter()
                kept.append(fn())
                best[i] = min(best[i], time.perf_counter() - t0)
                del kept[:-3]
        if kept[-1] is None:
            print(f"{name}: not split (one thread, or below threads.PARALLEL_MIN_ELEMENTS)")
            continue
        print(f"{name:11s} one call {best[0] * 1e3:.3f} ms, split {best[1] * 1e3:.3f} ms: {best[1] / best[0]:.2f}x")
    idle = float("inf")
    for _ in range(rounds * 5):
        t0 = time.perf_counter()
        threads.split(lambda lo, hi: None, 8, threads.PARALLEL_MIN_ELEMENTS)
        idle = min(idle, time.perf_counter() - t0)
    print(f"a split with nothing to do: {idle * 1e6:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
