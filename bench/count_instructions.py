"""Instructions per op application, counted by callgrind: deterministic where wall-clock time on a shared
machine is not (issue: the op hot path). Each workload runs between a zeroing and a dump of callgrind's
counters (client requests from a two-function C helper built here with gcc), so import and warm-up are
not counted::

    python bench/count_instructions.py            # re-runs itself under valgrind; about two minutes
    python bench/count_instructions.py --repeat 50

Workloads, on 16-element float32 tensors (matmul: 4x4), each op applied ``repeat`` times: the op with
grad off, the op recorded (forward only, inputs requiring grad), and the hot-path issue's chain of 100
ops (add, mul and tanh in turn, then sum) forward alone and forward + backward; NumPy's own add on the
same arrays is the floor. Counts are user-space instructions of the whole process (the interpreter
included), per op application, with Python's cyclic garbage collector paused. Compare two commits under one
import mechanism (both through PYTHONPATH, say): the same commit counts up to 1k more per recorded op from
an editable install than through PYTHONPATH (bench/NOTES.md, fifteenth session).
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import glob
import os
import re
import subprocess
import sys
import tempfile

HELPER_C = r"""
#include <valgrind/callgrind.h>
void zero(void) { CALLGRIND_ZERO_STATS; }
void dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""


def _helper(workdir: str) -> ctypes.CDLL:
    src, lib = os.path.join(workdir, "cg.c"), os.path.join(workdir, "cg.so")
    with open(src, "w") as f:
        f.write(HELPER_C)
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", lib, src], check=True)
    return ctypes.CDLL(lib)


def workloads(repeat: int) -> dict:
    """name -> (function running the workload once, op applications per run)."""
    import numpy as np

    import gpugrad as gg

    from bench_overhead import CHAIN_LENGTH, chain_inputs, chain_step  # the hot-path issue's workload, as timed

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(16).astype(np.float32) for _ in range(3)]
    square = [rng.standard_normal((4, 4)).astype(np.float32) for _ in range(2)]
    a, b, c = (gg.tensor(x, requires_grad=True) for x in arrays)
    m1, m2 = (gg.tensor(x, requires_grad=True) for x in square)
    weight = gg.nn.Parameter(gg.tensor(arrays[2]))  # a module's weight in a user's own layer (RMSNorm's x * w)
    leaves = chain_inputs(gg)
    chain_forward, chain_backward = chain_step(gg, leaves, backward=False), chain_step(gg, leaves)

    ops = {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "tanh": lambda: a.tanh(),
        "sum": lambda: a.sum(),
        "matmul": lambda: m1 @ m2,
        "mul by a number": lambda: a * 2.0,
        "mean": lambda: a.mean(),
        "mul by a parameter": lambda: a * weight,
    }
    out = {}
    for name, op in ops.items():
        def recorded(op=op):
            for _ in range(repeat):
                op()

        def no_grad(op=op):
            with gg.no_grad():
                for _ in range(repeat):
                    op()

        out[f"{name} (grad off)"] = (no_grad, repeat)
        out[f"{name} (recorded)"] = (recorded, repeat)
    chains = max(1, repeat // CHAIN_LENGTH)
    ops_per_chain = CHAIN_LENGTH + 1  # and the sum
    out["chain forward"] = (lambda: [chain_forward() for _ in range(chains)], ops_per_chain * chains)
    out["chain forward+backward"] = (lambda: [chain_backward() for _ in range(chains)], ops_per_chain * chains)
    x, y = arrays[0], arrays[1]
    out["numpy add (floor)"] = (lambda: [np.add(x, y) for _ in range(repeat)], repeat)
    return out


def inner(repeat: int) -> None:
    lib = _helper(tempfile.mkdtemp(prefix="gg-cg-"))
    lib.dump(b"start")  # the first dump carries one-off costs; it has no "|" and is not reported
    runs = workloads(repeat)
    for fn, _ in runs.values():
        fn()  # warm-up: Numba's dispatch, caches, the allocator's arenas
    gc.collect()
    gc.disable()  # a cyclic collection would land in whichever workload it happened to fall in
    # The first zero-to-dump interval carries a one-off cost wherever it falls (seen: 80-110k
    # instructions per op on whichever workload came first): give it a run that is not reported.
    lib.zero()
    next(iter(runs.values()))[0]()
    lib.dump(b"settle")
    for name, (fn, n) in runs.items():
        lib.zero()
        fn()
        lib.dump(f"{name}|{n}".encode())
    gc.enable()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=200, help="op applications per workload")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.inner:
        inner(args.repeat)
        return 0
    for fn, _ in workloads(2).values():
        fn()  # outside valgrind first: Numba compiles (and caches) the kernels here, not under valgrind
    out = tempfile.mkdtemp(prefix="gg-cg-out-")
    cmd = ["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}/cg.%p",
           sys.executable, os.path.abspath(__file__), "--inner", "--repeat", str(args.repeat)]
    subprocess.run(cmd, stderr=subprocess.DEVNULL)  # the exit status is valgrind's; the dumps tell
    rows = []
    for path in glob.glob(f"{out}/cg.*"):
        text = open(path).read()
        trigger = re.search(r"^desc: Trigger: Client Request: (.*)$", text, re.M)
        total = re.search(r"^summary: (\d+)", text, re.M)
        if trigger and total and "|" in trigger.group(1):
            name, n = trigger.group(1).rsplit("|", 1)
            rows.append((name, int(total.group(1)) / int(n)))
    if not rows:
        print("no callgrind dumps came back: is valgrind installed, with valgrind/callgrind.h for gcc?")
        return 1
    for name, per_op in sorted(rows):
        print(f"{name:28s} {per_op / 1e3:8.1f}k instructions per op")
    return 0


if __name__ == "__main__":
    sys.exit(main())
