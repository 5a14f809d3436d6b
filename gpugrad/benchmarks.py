"""``gpugrad bench``: run the benchmark suite (bench/ in the source tree) and print one table.

The suite is pytest-benchmark files, one or two per family; each benchmark belongs to a group of
like-for-like variants (``overhead:add``, ``launch:relu:1``, ``kernel:optim.adam:1e7``, ``optim:Adam``,
``train:mlp-64-128-10``, ...) and carries its work (bytes moved, flops). The runner runs the suite (or the named families) in a
subprocess with ``--benchmark-json``, then prints one table: each variant's median time, its ratio to
the group's baseline (PyTorch, or the reference implementation for fused kernels), and the fraction of
the machine's limits, measured in the same run (``limits:memory``: a large copy; ``limits:compute``: a
large float32 GEMM), that it reaches. On ``--device cuda`` each row also carries its device time from CUDA
events (bench/conftest.py), shown beside the wall time; rates and the limits then use the device times::

    gpugrad bench                          # everything, on the CPU (a few minutes)
    gpugrad bench optim training --json out.json --plot ratios.png
    gpugrad bench --smoke                  # tiny sizes, seconds: checks that the suite runs
    gpugrad bench kernels --device cuda    # GPU variants; skipped cleanly when no GPU is usable

Also ``python -m gpugrad.benchmarks ...``. From Python: ``main(["optim", "--json", "out.json"])``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Family -> its file(s) in bench/. The limits are measured in every run, first (before the machine warms
# up and while the load is as it was when the run started): the roofline fractions need them.
GROUPS: dict[str, str | tuple[str, ...]] = {
    "limits": "bench_limits.py",
    "overhead": "bench_overhead.py",
    "kernels": ("bench_fused_kernels.py", "bench_kernels.py"),
    "optim": "bench_optim.py",
    "training": "bench_training.py",
    "recurrent": "bench_recurrent.py",
}
ORDER = ("limits", "overhead", "launch", "kernel", "optim", "train", "recurrent")


def _files(group: str) -> list[str]:
    files = GROUPS[group]
    return [files] if isinstance(files, str) else list(files)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``gpugrad bench`` options, added to ``parser`` (the CLI's sub-parser or a fresh one)."""
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"families to run: {', '.join(GROUPS)} (default: all); limits always run")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda runs the GPU variants (skipped cleanly when no GPU is usable)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and one round each: checks the suite runs")
    parser.add_argument("--json", metavar="FILE", default="gpugrad-bench.json",
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--plot", metavar="FILE.png", help="bar chart of the ratios to each group's baseline (needs matplotlib)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text", help="table format")
    parser.add_argument("-k", dest="filter", metavar="EXPR", help="pytest -k expression to select benchmarks")
    parser.add_argument("--max-time", type=float, default=0.5, help="seconds pytest-benchmark spends per benchmark")
    parser.add_argument("--bench-dir", metavar="DIR", help="the suite's folder (default: bench/ beside the package)")
    parser.add_argument("--verbose", action="store_true", help="stream pytest's output while the suite runs")
    return parser


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(argparse.ArgumentParser(prog="gpugrad bench", description=__doc__.split("\n\n")[0]))


def find_bench_dir(explicit: str | None = None) -> Path:
    """bench/ of the source tree gpugrad was imported from (an editable install or a checkout)."""
    candidates = [Path(explicit)] if explicit else [Path(__file__).resolve().parent.parent / "bench", Path.cwd() / "bench"]
    for c in candidates:
        if (c / "conftest.py").is_file() and (c / GROUPS["limits"]).is_file():
            return c.resolve()
    raise FileNotFoundError(
        f"the benchmark suite was not found in {', '.join(str(c) for c in candidates)}: it lives in bench/ of "
        "gpugrad's source tree; install with `pip install -e .` from a checkout or pass --bench-dir"
    )


def _select(groups: Sequence[str]) -> list[str]:
    unknown = [g for g in groups if g not in GROUPS and g != "all"]
    if unknown:
        raise ValueError(f"unknown benchmark group(s) {', '.join(map(repr, unknown))}: choose from {', '.join(GROUPS)} or all")
    if not groups or "all" in groups:
        return [f for g in GROUPS for f in _files(g)]
    files = _files("limits") + [f for g in groups if g != "limits" for f in _files(g)]
    return list(dict.fromkeys(files))


def run_suite(files: Sequence[str], *, bench_dir: Path, device: str = "cpu", smoke: bool = False,
              max_time: float = 0.5, filter: str | None = None, verbose: bool = False) -> dict:
    """Run the named bench files with pytest-benchmark in a subprocess; returns its JSON report."""
    # A session of its own: called from a pytest-xdist worker (the test suite's smoke run), the worker's
    # variables would tell pytest-benchmark it runs distributed, which disables it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.update(GPUGRAD_BENCH_DEVICE=device, GPUGRAD_BENCH_SMALL="1" if smoke else "0")
    with tempfile.TemporaryDirectory(prefix="gpugrad-bench-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pytest", *[str(bench_dir / f) for f in files], "-q", "-rs",
               "--benchmark-only", f"--benchmark-json={report}", "--benchmark-sort=name"]
        if smoke:
            cmd += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.000001", "--benchmark-warmup=off"]
        else:
            cmd += ["--benchmark-min-rounds=5", f"--benchmark-max-time={max_time}"]
        if filter:  # the limits always run: every fraction of the roof needs them
            cmd += ["-k", f"({filter}) or bench_limits"]
        proc = subprocess.Popen(cmd, cwd=bench_dir.parent, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if verbose:
                sys.stderr.write(line)
        rc = proc.wait()
        # rc 1: some benchmarks failed; the others' figures still stand and are reported, with the failures.
        if rc not in (0, 1) or not report.is_file():
            tail = "".join(lines[-60:])
            raise RuntimeError(f"the benchmark run failed (pytest exit status {rc}): {' '.join(cmd)}\n{tail}")
        data = json.loads(report.read_text())
    data["pytest_rc"] = rc
    data["pytest_summary"] = [ln.rstrip() for ln in lines if ln.startswith(("SKIPPED", "FAILED", "ERROR"))]
    data["pytest_summary"] += [lines[-1].strip()] if lines else []
    if rc:
        data["pytest_failures"] = _failure_text(lines)
    return data


def _failure_text(lines: list[str]) -> str:
    """pytest's FAILURES/ERRORS sections, without pytest-benchmark's tables that follow them."""
    out, keep = [], False
    for ln in lines:
        if ln.startswith("=") and ("FAILURES" in ln or "ERRORS" in ln):
            keep = True
        elif ln.startswith("-") and "benchmark" in ln:
            keep = False
        if keep:
            out.append(ln)
    return "".join(out[-400:])


def _family(group: str) -> str:
    return group.split(":", 1)[0]


def summarize(report: dict) -> dict:
    """Rows (group, variant, median, ratio to the baseline, rate, fraction of the roof) and the limits."""
    benches = report.get("benchmarks", [])
    limits: dict[str, Any] = {}
    for b in benches:  # each limit is the best of the variants that measure it
        info = b.get("extra_info", {})
        med = info.get("device_s") or b["stats"]["median"]  # device time on cuda, where measured
        if info.get("limit") == "bandwidth":
            rate, key = info["bytes"] / med / 1e9, "bandwidth_GBps"
        elif info.get("limit") == "gemm":
            rate, key = info["flops"] / med / 1e9, "gemm_GFLOPs"
        else:
            continue
        if rate > limits.get(key, 0.0):
            limits[key], limits[key.split("_")[0] + "_by"] = rate, info.get("impl")
    by_group: dict[str, list[dict]] = {}
    for b in benches:
        info = b.get("extra_info", {})
        by_group.setdefault(b.get("group") or b["name"], []).append({
            "group": b.get("group") or b["name"], "variant": info.get("impl", b["name"]), "test": b["fullname"],
            "median_s": b["stats"]["median"], "rounds": b["stats"]["rounds"], "baseline_rank": info.get("baseline", 0),
            "bytes": info.get("bytes"), "flops": info.get("flops"), "roof": info.get("roof"),
            "device_s": info.get("device_s"),
        })
    rows = []
    key = {f: i for i, f in enumerate(ORDER)}
    for group in sorted(by_group, key=lambda g: (key.get(_family(g), len(ORDER)), g)):
        members = by_group[group]
        ranked = [r for r in members if r["baseline_rank"] > 0]
        base = min(ranked, key=lambda r: r["baseline_rank"]) if ranked else None
        members.sort(key=lambda r: (r is not base, r["median_s"]))
        for r in members:
            r["baseline"] = base["variant"] if base else None
            r["ratio"] = r["median_s"] / base["median_s"] if base else None
            # On cuda the same ratio of device times (CUDA events; see bench/conftest.py), where both have one.
            r["device_ratio"] = (r["device_s"] / base["device_s"]
                                 if base and r["device_s"] and base.get("device_s") else None)
            r["rate"] = r["fraction"] = None
            t = r["device_s"] or r["median_s"]  # rates are the device's where its time was measured
            if r["roof"] == "memory" and r["bytes"]:
                r["rate"] = r["bytes"] / t / 1e9
                r["rate_unit"] = "GB/s"
                if limits.get("bandwidth_GBps"):
                    r["fraction"] = r["rate"] / limits["bandwidth_GBps"]
            elif r["roof"] == "compute" and r["flops"]:
                r["rate"] = r["flops"] / t / 1e9
                r["rate_unit"] = "GFLOP/s"
                if limits.get("gemm_GFLOPs"):
                    r["fraction"] = r["rate"] / limits["gemm_GFLOPs"]
            rows.append(r)
    return {"limits": limits, "rows": rows}


def _time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"  # pragma: no cover


def format_table(summary: dict, fmt: str = "text") -> str:
    """One table of every row; ``fmt`` "text" (aligned columns) or "markdown"."""
    head = ["group", "variant", "median", "vs baseline", "rate", "of roof"]
    # On cuda: the device time (CUDA events) beside the wall time; "rate" and "of roof" then use it.
    device = any(r.get("device_s") for r in summary["rows"])
    if device:
        head[3:3] = ["device", "device vs baseline"]
    body = []
    for r in summary["rows"]:
        ratio = "" if r["ratio"] is None else ("baseline" if r["variant"] == r["baseline"] else f"{r['ratio']:.2f}x {r['baseline']}")
        rate = "" if r["rate"] is None else f"{r['rate']:.3g} {r['rate_unit']}"
        frac = "" if r["fraction"] is None else f"{100 * r['fraction']:.0f}%"
        row = [r["group"], r["variant"], _time(r["median_s"]), ratio, rate, frac]
        if device:
            dratio = "" if r.get("device_ratio") is None else (
                "baseline" if r["variant"] == r["baseline"] else f"{r['device_ratio']:.2f}x")
            row[3:3] = [_time(r["device_s"]) if r.get("device_s") else "", dratio]
        body.append(row)
    lim = summary["limits"]
    foot = ("limits: copy {} GB/s ({}), GEMM {} GFLOP/s ({}); \"of roof\": memory-bound rows against the copy, "
            "compute-bound rows against the GEMM").format(
        f"{lim['bandwidth_GBps']:.3g}" if lim.get("bandwidth_GBps") else "?", lim.get("bandwidth_by"),
        f"{lim['gemm_GFLOPs']:.3g}" if lim.get("gemm_GFLOPs") else "?", lim.get("gemm_by"))
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines + ["", foot])
    widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(head)]
    right = set(range(2, len(head)))

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out, prev = [line(head), line(["-" * w for w in widths])], None
    for row in body:
        if prev is not None and _family(row[0]) != _family(prev):
            out.append("")
        out.append(line(row))
        prev = row[0]
    return "\n".join(out + ["", foot])


def _require_matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise RuntimeError(f"--plot needs matplotlib ({exc}): pip install 'gpugrad[plot]' or pip install matplotlib") from None
    return plt


def plot(summary: dict, path: str) -> None:
    """Horizontal bars: each non-baseline variant's time over its group's baseline (log scale; < 1 is faster)."""
    plt = _require_matplotlib()
    rows = [r for r in summary["rows"] if r["ratio"] is not None and r["variant"] != r["baseline"]]
    if not rows:
        raise RuntimeError("--plot: no rows with a baseline to plot")
    families = list(dict.fromkeys(_family(r["group"]) for r in rows))
    colors = {f: f"C{i}" for i, f in enumerate(families)}
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.22 * len(rows)))
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r["ratio"] for r in rows], color=[colors[_family(r["group"])] for r in rows])
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r['group']}  {r['variant']} / {r['baseline']}" for r in rows], fontsize=7)
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("time / baseline time (log; left of 1 is faster than the baseline)")
    ax.set_title("gpugrad bench")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                      "NUMBA_NUM_THREADS", "GPUGRAD_FUSED") if k in os.environ}
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": load, "env": env}


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """Entry point of ``gpugrad bench`` (takes the parsed arguments, or an argv list); returns the exit status."""
    if not isinstance(args, argparse.Namespace):
        args = build_parser().parse_args(list(sys.argv[1:] if args is None else args))
    files = _select(args.groups or [])
    if args.plot:
        _require_matplotlib()  # fail before minutes of benchmarking, not after
    bench_dir = find_bench_dir(getattr(args, "bench_dir", None))
    if args.device == "cuda":
        from . import backend

        reason = backend.cuda_unavailable_reason()
        if reason is not None:
            print(f"gpugrad bench --device cuda: no GPU is usable ({reason}); the GPU benchmarks are skipped")
            return 0
    before = machine_info()
    print(f"gpugrad bench: running {', '.join(files)} on {args.device}{' (smoke sizes)' if args.smoke else ''}; "
          f"load average {before['loadavg']}", file=sys.stderr)
    t0 = time.perf_counter()
    report = run_suite(files, bench_dir=bench_dir, device=args.device, smoke=args.smoke, max_time=args.max_time,
                       filter=args.filter, verbose=args.verbose)
    summary = summarize(report)
    print(format_table(summary, args.format))
    for ln in report.get("pytest_summary", []):
        print(ln)
    machine = dict(before, loadavg_after=machine_info()["loadavg"], seconds=time.perf_counter() - t0,
                   suite=report.get("machine_info", {}).get("gpugrad_bench", {}))
    out = {
        "command": "gpugrad bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
        "device": args.device, "smoke": bool(args.smoke), "files": files, "machine": machine,
        "limits": summary["limits"], "rows": summary["rows"],
        "pytest_benchmark": {k: v for k, v in report.items() if k != "benchmarks"},
    }
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
        print(f"results written to {args.json}")
    if args.plot:
        plot(summary, args.plot)
        print(f"ratios drawn in {args.plot}")
    if report.get("pytest_rc"):
        print(report.get("pytest_failures", ""), file=sys.stderr)
        print("gpugrad bench: some benchmarks failed (above); the table holds the others", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        print(f"gpugrad bench: error: {exc}", file=sys.stderr)
        sys.exit(2)
