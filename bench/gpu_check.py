#!/usr/bin/env python3
"""One-shot check of gpugrad's fused kernels on an NVIDIA GPU.

For every kernel family (activation, linear epilogues, softmax cross-entropy,
optimizer steps, im2col/col2im and max-pool, the tiled matmul) this checks impl="cuda" against
impl="reference" on fresh random CuPy inputs, then times the fused kernel,
the CuPy reference and the PyTorch equivalent on the same GPU, and reports
achieved bandwidth against a measured device-to-device copy. It also
measures the host cost of launching a tiny kernel from Python.

Usually run by bench/gpu_check.sh. Standalone:

    OUT=results python3 bench/gpu_check.py
    # dry run without a GPU: Numba's CUDA simulator on NumPy arrays, tiny sizes
    GPU_CHECK_SMALL=1 NUMBA_ENABLE_CUDASIM=1 OUT=dry-run python3 bench/gpu_check.py

Environment:
    OUT                   directory for gpu_check.json (default: the current one)
    GPU_CHECK_SMALL=1     tiny sizes, few repetitions
    GPU_CHECK_DEADLINE_S  seconds this script may take; checks not started by
                          then are reported as SKIP (default 300)
    GPU_CHECK_PYTEST_RC, GPU_CHECK_PYTEST_SUMMARY, GPU_CHECK_INSTALL, GPU_CHECK_MLP_JSON
                          set by gpu_check.sh so the table shows them too

Device times are CUDA-event medians taken with the GPU queue backed up
behind a spin kernel, so they measure the kernels rather than Python's
launch cost; "wall" is host time per call in a loop synchronised once at the
end, which is what a training loop sees.

Exit status: 0 when every correctness check passed, 1 when one failed (or the
kernel tests did), 3 when this script itself crashed.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SMALL = os.environ.get("GPU_CHECK_SMALL", "0") == "1"
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"
OUT = Path(os.environ.get("OUT") or ".")
JSON_PATH = OUT / "gpu_check.json"
T_START = time.perf_counter()
DEADLINE_S = float(os.environ.get("GPU_CHECK_DEADLINE_S", "300"))

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
REPS = 3 if SMALL else 20
WARMUP = 1 if SMALL else 3
LAUNCHES = 20 if SMALL else 1000

# Sizes: the real run, or a few elements for the simulator dry run.
ELEMENTWISE_SIZES = [1000, 257] if SMALL else [10_000_000, 1_000_000]
LINEAR_SHAPE = (64, 48) if SMALL else (4096, 4096)
XENT_SHAPE = (32, 37) if SMALL else (8192, 1000)
OPTIM_SIZE = 5000 if SMALL else 10_000_000
MATMUL_SIZES = [40, 64] if SMALL else [512, 1024, 2048]
CONV_SHAPE = (3, 4, 7, 9) if SMALL else (64, 64, 32, 32)  # (N, C, H, W): im2col of 3x3, 2x2 max-pool
COPY_ELEMENTS = 2**20 if SMALL else 2**28  # 1 GiB of float32 in the real run
LAUNCH_SIZES = [1, 1024]

# Fused vs reference in float32. Looser than the unit tests' 2e-5/2e-6
# because 1e7 random samples reach rarer ulp-level disagreements; a real bug
# shows up as O(1) errors or NaN from the poisoned output.
TOL_ELEM = {"rtol": 1e-4, "atol": 1e-5}
TOL_OPTIM = {"rtol": 1e-5, "atol": 1e-6}
TOL_MATMUL = {"rtol": 1e-4, "atol": 1e-4}  # float32 GEMM against float64
TOL_EXACT = {"rtol": 0.0, "atol": 1e-30}  # copies and selections: bit for bit (a zero tolerance divides 0/0)

ROWS: list[dict[str, Any]] = []
META: dict[str, Any] = {}
EXTRA: dict[str, Any] = {}


def time_left() -> float:
    return DEADLINE_S - (time.perf_counter() - T_START)


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T_START:7.1f}s] {msg}", flush=True)


# ====================================================================== setup

def import_kernels() -> tuple[Any, str]:
    """gpugrad.kernels as installed; else the repository's kernels/ package
    directly (it imports nothing from gpugrad), so a broken gpugrad
    __init__ does not hide the kernels' own results."""
    import importlib

    try:
        from gpugrad import kernels

        source = "gpugrad.kernels"
    except Exception as exc:  # noqa: BLE001 - reported in the table
        sys.path.insert(0, str(REPO))
        import kernels  # type: ignore[no-redef]

        source = f"repo kernels/ (import gpugrad.kernels failed: {type(exc).__name__}: {exc})"
    # A stray gpugrad/kernels/ folder (say, a __pycache__ left behind) makes
    # gpugrad.kernels a namespace package whose __init__ never ran; the
    # families still import by name through the editable finder.
    for family in ("activation", "linear", "softmax_xent", "optim", "conv", "pool", "recurrent", "_launch"):
        if not hasattr(kernels, family):
            setattr(kernels, family, importlib.import_module(f"{kernels.__name__}.{family}"))
            source += f" (+{family} imported by name)"
    return kernels, source


SPIN_SRC = r"""
extern "C" __global__ void gpu_check_spin(long long cycles) {
    long long t0 = clock64();
    while (clock64() - t0 < cycles) { }
}
"""


class Device:
    """The array module, clocks and PyTorch bridge: CuPy + CUDA events on a
    GPU, NumPy + perf_counter (and PyTorch on the CPU) under the simulator."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        if SIM:
            self.xp: Any = np
            self.gpu = False
        else:
            import cupy

            self.xp = cupy
            self.gpu = True
        self.torch: Any = None
        self.tdev: Any = None
        try:
            import torch

            if not self.gpu:
                self.torch, self.tdev = torch, torch.device("cpu")
            elif torch.cuda.is_available():
                self.torch, self.tdev = torch, torch.device("cuda", 0)
                # Full float32 GEMMs, as CuPy's default.
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.backends.cudnn.allow_tf32 = False
            else:
                self.notes.append("torch.cuda.is_available() is False: no PyTorch timings")
        except Exception as exc:  # noqa: BLE001
            self.notes.append(f"PyTorch unusable: {type(exc).__name__}: {exc}")
        seed = int(np.random.SeedSequence().entropy % (2**63))
        self.seed = seed
        self.host_rng = np.random.default_rng(seed)
        self.rng = self.xp.random.default_rng(seed) if self.gpu else self.host_rng
        self._spin: Any = None
        self._cycles_per_ms = 0.0
        if self.gpu:
            self._init_spin()

    # ---------------------------------------------------------------- arrays
    def randn(self, shape: tuple[int, ...] | int, dtype: Any = F32) -> Any:
        try:
            return self.rng.standard_normal(size=shape, dtype=dtype)
        except TypeError:
            return self.rng.standard_normal(size=shape).astype(dtype)

    def uniform(self, lo: float, hi: float, shape: Any, dtype: Any = F32) -> Any:
        return self.xp.asarray(self.host_rng.uniform(lo, hi, shape).astype(dtype))

    def integers(self, hi: int, shape: Any) -> Any:
        return self.xp.asarray(self.host_rng.integers(0, hi, shape, dtype=np.int64))

    def nan_filled(self, shape: Any, dtype: Any = F32) -> Any:
        return self.xp.full(shape, np.nan, dtype=dtype)

    def poison_pool(self, specs: list[tuple[Any, Any]]) -> None:
        """Leave NaN-filled blocks of these (shape, dtype)s in CuPy's pool, so
        the launcher's xp.empty outputs start as NaN and an element the
        kernel never writes shows up as a mismatch."""
        if not self.gpu:
            return
        pool = self.xp.get_default_memory_pool()
        pool.free_all_blocks()
        blocks = [self.nan_filled(shape, dtype) for shape, dtype in specs]
        self.sync()
        del blocks

    def sync(self) -> None:
        if self.gpu:
            self.xp.cuda.runtime.deviceSynchronize()

    def host(self, a: Any) -> np.ndarray:
        return self.xp.asnumpy(a) if self.gpu else np.asarray(a)

    def to_torch(self, a: Any) -> Any:
        """An independent torch copy of an xp array on the same device."""
        t = self.torch
        if self.gpu:
            out = t.from_dlpack(a).clone()
        else:
            out = t.from_numpy(np.ascontiguousarray(a)).clone()
        self.sync()
        return out

    def from_torch(self, t: Any) -> Any:
        t = t.detach().contiguous()
        if self.gpu:
            return self.xp.from_dlpack(t)
        return t.numpy()

    # ---------------------------------------------------------------- clocks
    def _init_spin(self) -> None:
        cp = self.xp
        try:
            kernel = cp.RawKernel(SPIN_SRC, "gpu_check_spin")
            kernel((1,), (1,), (np.int64(1000),))
            self.sync()
            cycles = 20_000_000
            start, stop = cp.cuda.Event(), cp.cuda.Event()
            start.record()
            kernel((1,), (1,), (np.int64(cycles),))
            stop.record()
            stop.synchronize()
            ms = cp.cuda.get_elapsed_time(start, stop)
            self._cycles_per_ms = cycles / ms
            self._spin = kernel
        except Exception as exc:  # noqa: BLE001
            self.notes.append(f"no spin kernel ({type(exc).__name__}: {exc}): device times "
                              "include Python launch cost")

    def _backlog(self, stream_ptr: int, ms: float) -> bool:
        """Occupy the GPU for `ms` on this stream so the timed calls queue
        up behind it."""
        if self._spin is None:
            return False
        cp = self.xp
        args = (np.int64(int(ms * self._cycles_per_ms)),)
        if stream_ptr == cp.cuda.get_current_stream().ptr:
            self._spin((1,), (1,), args)
        else:
            with cp.cuda.ExternalStream(stream_ptr):
                self._spin((1,), (1,), args)
        return True

    def bench(self, fn: Callable[[], Any], *, lib: str = "xp", reps: int = REPS,
              warmup: int = WARMUP) -> dict[str, Any]:
        """Median device ms per call (CUDA events, queue backed up) and host
        wall ms per call; on the CPU both are perf_counter medians."""
        for _ in range(warmup):
            fn()
        self.sync()
        if not self.gpu:
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1e3)
            med = statistics.median(times)
            return {"ms": med, "min_ms": min(times), "wall_ms": med, "backlogged": False,
                    "reps": reps}
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        self.sync()
        wall_ms = (time.perf_counter() - t) * 1e3 / reps
        if lib == "torch":
            torch = self.torch
            stream_ptr = int(torch.cuda.current_stream().cuda_stream)
            make_event = functools.partial(torch.cuda.Event, enable_timing=True)

            def elapsed(a: Any, b: Any) -> float:
                return float(a.elapsed_time(b))
        else:
            cp = self.xp
            stream_ptr = int(cp.cuda.get_current_stream().ptr)
            make_event = cp.cuda.Event

            def elapsed(a: Any, b: Any) -> float:
                return float(cp.cuda.get_elapsed_time(a, b))
        # wall_ms bounds the host time per call, so this covers the enqueueing.
        backlogged = self._backlog(stream_ptr, min(250.0, 1.5 * wall_ms * reps + 2.0))
        events = []
        for _ in range(reps):
            start, stop = make_event(), make_event()
            start.record()
            fn()
            stop.record()
            events.append((start, stop))
        self.sync()
        times = [elapsed(a, b) for a, b in events]
        return {"ms": statistics.median(times), "min_ms": min(times), "wall_ms": wall_ms,
                "backlogged": backlogged, "reps": reps}

    def host_per_launch(self, fn: Callable[[], Any], count: int = LAUNCHES) -> dict[str, float]:
        """Host microseconds per call: median of single calls, and the mean
        including one synchronisation after all of them."""
        for _ in range(min(50, count)):
            fn()
        self.sync()
        samples = []
        t_all = time.perf_counter_ns()
        for _ in range(count):
            t = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - t)
        self.sync()
        total = time.perf_counter_ns() - t_all
        return {"median_us": statistics.median(samples) / 1e3, "mean_incl_sync_us": total / count / 1e3}


# ====================================================================== checks

def compare(dev: Device, out: Any, ref: Any, *, rtol: float, atol: Any) -> dict[str, Any]:
    """Errors of `out` against `ref` (computed in float64 on the device).
    ok: same shape, non-finite values in the same places, and every finite
    element within atol + rtol * |ref|."""
    xp = dev.xp
    if tuple(out.shape) != tuple(ref.shape):
        return {"ok": False, "error": f"shape {tuple(out.shape)} != reference {tuple(ref.shape)}"}
    o = xp.asarray(out).astype(F64).reshape(-1)
    r = xp.asarray(ref).astype(F64).reshape(-1)
    if o.size == 0:
        return {"ok": True, "max_abs": 0.0, "rel_norm": 0.0, "worst_ratio": 0.0, "nonfinite": 0}
    fo, fr = xp.isfinite(o), xp.isfinite(r)
    nonfinite = int(((fo != fr) | (~fo & ~fr & (o != r) & ~(xp.isnan(o) & xp.isnan(r)))).sum())
    both = fo & fr
    r0 = xp.where(both, r, 0.0)
    d = xp.where(both, xp.abs(o - r), 0.0)
    atol_a = xp.asarray(atol, dtype=F64).reshape(-1) if not np.isscalar(atol) else atol
    ratio = d / (atol_a + rtol * xp.abs(r0))
    worst = int(ratio.argmax())
    rnorm = float(xp.linalg.norm(r0))
    dnorm = float(xp.linalg.norm(d))
    res = {
        "max_abs": float(d.max()),
        "rel_norm": dnorm / rnorm if rnorm > 0 else dnorm,
        "worst_ratio": float(ratio[worst]),
        "worst_index": worst,
        "worst_value": float(o[worst]),
        "worst_ref": float(r[worst]),
        "nonfinite": nonfinite,
        "rtol": rtol,
        "atol": float(atol) if np.isscalar(atol) else "per-element",
    }
    if nonfinite:
        first = int(xp.argmax(fo != fr)) if bool((fo != fr).any()) else -1
        res["first_nonfinite_index"] = first
        if first >= 0:
            res["first_nonfinite"] = f"{float(o[first])!r} vs ref {float(r[first])!r}"
    res["ok"] = nonfinite == 0 and res["worst_ratio"] <= 1.0
    return res


def summarise_checks(row: dict[str, Any]) -> None:
    checks = row.get("checks", {})
    if checks:
        row["max_err"] = max(c.get("max_abs", math.inf) for c in checks.values())
        row["rel_err"] = max(c.get("rel_norm", math.inf) for c in checks.values())
        failed = [k for k, c in checks.items() if not c.get("ok")]
        if failed:
            row["status"] = "FAIL"
            parts = []
            for k in failed:
                c = checks[k]
                if "error" in c:
                    parts.append(f"{k}: {c['error']}")
                elif c.get("nonfinite"):
                    parts.append(f"{k}: {c['nonfinite']} non-finite/unwritten")
                else:
                    parts.append(f"{k}: err {c['max_abs']:.2e} (x{c['worst_ratio']:.1f} tol)")
            row["note"] = "; ".join(parts + ([row["note"]] if row.get("note") else []))
    torch_checks = row.get("torch_checks", {})
    bad = [k for k, c in torch_checks.items() if not c.get("ok")]
    if bad and row.get("status") == "OK":
        row["status"] = "WARN"
        row["note"] = "; ".join([f"torch differs: {','.join(bad)}"] + ([row["note"]] if row.get("note") else []))


def add_rates(row: dict[str, Any]) -> None:
    copy = EXTRA.get("copy_gbs")
    nbytes = row.get("bytes")
    flops = row.get("flops")
    for key in ("fused", "ref", "torch"):
        ms = row.get(f"{key}_ms")
        if not ms:
            continue
        if nbytes:
            row[f"{key}_gbs"] = nbytes / (ms * 1e-3) / 1e9
        if flops:
            row[f"{key}_tflops"] = flops / (ms * 1e-3) / 1e12
    if nbytes and row.get("fused_gbs") and copy:
        row["pct_copy"] = 100.0 * row["fused_gbs"] / copy


def run_check(name: str, size: str, body: Callable[[dict[str, Any]], None], *,
              needs_s: float = 5.0, counts: bool = True) -> None:
    """Run one check row; any exception makes it FAIL (or WARN for rows that
    are not correctness checks) without stopping the others."""
    row: dict[str, Any] = {"name": name, "size": size, "status": "OK", "note": "",
                           "checks": {}, "torch_checks": {}, "correctness": counts}
    t = time.perf_counter()
    if time_left() < needs_s:
        row["status"] = "SKIP"
        row["note"] = "time budget spent"
    else:
        try:
            body(row)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            row["status"] = "FAIL" if counts else "WARN"
            row["error"] = f"{type(exc).__name__}: {exc}"
            row["traceback"] = traceback.format_exc()
            row["note"] = row["error"] + (f"; {row['note']}" if row.get("note") else "")
            print(row["traceback"], flush=True)
        summarise_checks(row)
        add_rates(row)
    row["seconds"] = time.perf_counter() - t
    ROWS.append(row)
    detail = ", ".join(
        f"{k}={row[k]:.4g}" for k in ("fused_ms", "ref_ms", "torch_ms", "fused_gbs", "max_err")
        if isinstance(row.get(k), float)
    )
    log(f"{row['status']:4} {name} [{size}] {detail} {row['note']}")
    save_json()


def try_torch(row: dict[str, Any], what: str, fn: Callable[[], Any]) -> Any:
    """Run a PyTorch part of a row; a failure there is a note, not a FAIL."""
    if row.get("_torch") is None:
        return None
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        msg = f"torch {what}: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        row["torch_error"] = msg
        add_note(row, msg)
        return None


def add_note(row: dict[str, Any], text: str) -> None:
    row["note"] = f"{row['note']}; {text}" if row.get("note") else text


def timed(row: dict[str, Any], dev: Device, fused: Callable[[], Any], ref: Callable[[], Any] | None,
          torch_fn: Callable[[], Any] | None) -> None:
    r = dev.bench(fused)
    row["fused_ms"], row["fused_wall_ms"] = r["ms"], r["wall_ms"]
    row["backlogged"] = r["backlogged"]
    if ref is not None:
        r = dev.bench(ref)
        row["ref_ms"], row["ref_wall_ms"] = r["ms"], r["wall_ms"]
    if torch_fn is not None:
        r = try_torch(row, "timing", lambda: dev.bench(torch_fn, lib="torch"))
        if r is not None:
            row["torch_ms"], row["torch_wall_ms"] = r["ms"], r["wall_ms"]


def fmt_n(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        e = int(math.log10(n))
        return f"1e{e}" if n == 10**e else f"{n // 1_000_000}M"
    return str(n)


# ====================================================================== sections

def section_copy(dev: Device) -> None:
    def body(row: dict[str, Any]) -> None:
        xp = dev.xp
        a = dev.randn(COPY_ELEMENTS)
        b = xp.empty_like(a)
        nbytes = 2 * a.nbytes
        row["bytes"] = nbytes
        if dev.gpu:
            memcpy = lambda: b._array.copy_from_device_async(a._array, a.nbytes)
            copy_kernel = xp.ElementwiseKernel("T x", "T y", "y = x", "gpu_check_copy")
            kern = lambda: copy_kernel(a, b)
        else:
            memcpy = lambda: np.copyto(b, a)
            kern = memcpy
        r_mem = dev.bench(memcpy)
        r_kern = dev.bench(kern)
        same = bool((b == a).all())
        row["checks"]["copy"] = {"ok": same, "max_abs": 0.0 if same else math.inf,
                                 "rel_norm": 0.0 if same else math.inf,
                                 **({} if same else {"error": "copied array differs"})}
        row["fused_ms"], row["fused_wall_ms"] = r_mem["ms"], r_mem["wall_ms"]
        row["ref_ms"] = r_kern["ms"]
        torch = row.get("_torch")
        if torch is not None:
            def t_copy() -> None:
                ta = torch.from_dlpack(a) if dev.gpu else torch.from_numpy(a)
                tb = torch.empty_like(ta)
                r = dev.bench(lambda: tb.copy_(ta), lib="torch")
                row["torch_ms"] = r["ms"]
            try_torch(row, "copy", t_copy)
        best = min(v for v in (row["fused_ms"], row["ref_ms"], row.get("torch_ms")) if v)
        EXTRA["copy_gbs"] = nbytes / (best * 1e-3) / 1e9
        EXTRA["copy"] = {
            "bytes_moved": nbytes, "memcpy_ms": row["fused_ms"], "kernel_ms": row["ref_ms"],
            "torch_ms": row.get("torch_ms"),
            "memcpy_gbs": nbytes / (row["fused_ms"] * 1e-3) / 1e9,
            "kernel_gbs": nbytes / (row["ref_ms"] * 1e-3) / 1e9,
            "best_gbs": EXTRA["copy_gbs"],
        }
        add_note(row, "fused=memcpy ref=copy kernel; best=100%")

    run_check("copy d2d (r+w)", f"{COPY_ELEMENTS * 4 / 2**30:g}GiB" if not SMALL else
              f"{COPY_ELEMENTS * 4 / 2**20:g}MiB", with_torch(dev, body), counts=False)


def with_torch(dev: Device, body: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def wrapped(row: dict[str, Any]) -> None:
        row["_torch"] = dev.torch
        try:
            body(row)
        finally:
            row.pop("_torch", None)
    return wrapped


def section_poison_selftest(dev: Device) -> None:
    if not dev.gpu:
        EXTRA["poison_pool_effective"] = "n/a (NumPy)"
        return
    try:
        dev.poison_pool([((1_234_567,), F32)])
        probe = dev.xp.empty((1_234_567,), F32)
        EXTRA["poison_pool_effective"] = bool(dev.xp.isnan(probe).all())
        del probe
    except Exception as exc:  # noqa: BLE001
        EXTRA["poison_pool_effective"] = f"error: {type(exc).__name__}: {exc}"
    log(f"pool poisoning effective: {EXTRA['poison_pool_effective']}")


def section_launch(dev: Device, K: Any) -> None:
    act = K.activation
    xp = dev.xp
    for n in LAUNCH_SIZES:
        def body(row: dict[str, Any], n: int = n) -> None:
            x = dev.randn(n)
            y = xp.empty_like(x)
            fused = dev.host_per_launch(lambda: act.forward(xp, "relu", x, out=y, impl="cuda"))
            cupy_op = dev.host_per_launch(lambda: xp.maximum(x, 0, out=y))
            row["fused_ms"] = fused["median_us"] / 1e3
            row["ref_ms"] = cupy_op["median_us"] / 1e3
            row["launch"] = {"fused": fused, "xp_maximum": cupy_op}
            try:
                # The launch helper alone, without the launcher's checks, on both launch paths: our direct
                # one (the default) and numba-cuda's own (GPUGRAD_CUDA_LAUNCH=numba).
                L = K._launch
                kern = act._cuda_kernel("forward", F32)
                code, p = act.CODES["relu"], np.float32(0)
                stream = L.cuda_stream(xp)
                row["launch"]["path"] = L.launch_path()
                raw = dev.host_per_launch(lambda: L.launch(kern, n, 256, stream, code, x, y, p))
                row["launch"]["launch_helper"] = raw
                direct_default = L.DIRECT_LAUNCH
                L.DIRECT_LAUNCH = not direct_default
                try:
                    other = dev.host_per_launch(lambda: L.launch(kern, n, 256, stream, code, x, y, p))
                    y_other = xp.full_like(x, np.nan)
                    L.launch(kern, n, 256, stream, code, x, y_other, p)
                finally:
                    L.DIRECT_LAUNCH = direct_default
                row["launch"]["launch_helper_other_path"] = other
                row["checks"]["y_other_path"] = compare(
                    dev, y_other, act.forward(xp, "relu", x, impl="reference"), **TOL_ELEM)
                add_note(row, f"host ms/call; launch() alone {raw['median_us']:.1f}us ({L.launch_path()}), "
                              f"{other['median_us']:.1f}us on the other path")
            except Exception as exc:  # noqa: BLE001
                add_note(row, f"host ms/call; launch() alone: {type(exc).__name__}: {exc}")
            torch = row.get("_torch")
            if torch is not None:
                def t() -> None:
                    tx = dev.to_torch(x)
                    r = dev.host_per_launch(lambda: torch.relu(tx))
                    row["torch_ms"] = r["median_us"] / 1e3
                    row["launch"]["torch_relu"] = r
                try_torch(row, "launch", t)
            out = act.forward(xp, "relu", x, impl="cuda")
            row["checks"]["y"] = compare(dev, out, act.forward(xp, "relu", x, impl="reference"), **TOL_ELEM)

        run_check("launch relu (host)", str(n), with_torch(dev, body))


def torch_activation_fns(torch: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    F = torch.nn.functional
    aten = torch.ops.aten
    fwd = {
        "relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "sigmoid": torch.sigmoid,
        "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "silu": F.silu, "softplus": F.softplus, "elu": F.elu, "selu": F.selu, "celu": F.celu,
        "hardswish": F.hardswish, "mish": F.mish,
    }
    # The single fused backward kernels autograd itself runs.
    bwd = {
        "relu": lambda g, y: aten.threshold_backward(g, y, 0),
        "leaky_relu": lambda g, x: aten.leaky_relu_backward(g, x, 0.01, False),
        "sigmoid": aten.sigmoid_backward,
        "tanh": aten.tanh_backward,
        "gelu": lambda g, x: aten.gelu_backward(g, x, approximate="none"),
        "gelu_tanh": lambda g, x: aten.gelu_backward(g, x, approximate="tanh"),
        "silu": aten.silu_backward,
        "softplus": lambda g, x: aten.softplus_backward(g, x, 1.0, 20.0),
        "hardswish": aten.hardswish_backward,
        "mish": aten.mish_backward,
    }
    return fwd, bwd


def section_activation(dev: Device, K: Any, n: int) -> None:
    act = K.activation
    xp = dev.xp
    t_fwd, t_bwd = torch_activation_fns(dev.torch) if dev.torch is not None else ({}, {})
    x = dev.randn(n)
    gy = dev.randn(n)
    for name in act.NAMES:
        param = {"leaky_relu": 0.01, "elu": 1.0, "celu": 1.0}.get(name, 0.0)  # elu's and celu's alpha

        def fwd(row: dict[str, Any], name: str = name, param: float = param) -> None:
            y_ref = act.forward(xp, name, x, param, impl="reference")
            y = dev.nan_filled(n)
            r = act.forward(xp, name, x, param, out=y, impl="cuda")
            if r is not y:
                row["checks"]["out"] = {"ok": False, "error": "out= was not returned"}
            row["checks"]["y"] = compare(dev, y, y_ref, **TOL_ELEM)
            row["bytes"] = 8 * n
            tx = try_torch(row, "setup", lambda: dev.to_torch(x))
            f = t_fwd.get(name)
            if tx is not None and f is not None:
                ty = try_torch(row, "forward", lambda: f(tx))
                if ty is not None:
                    row["torch_checks"]["y"] = compare(dev, dev.from_torch(ty), y_ref, **TOL_ELEM)
            timed(row, dev, lambda: act.forward(xp, name, x, param, impl="cuda"),
                  lambda: act.forward(xp, name, x, param, impl="reference"),
                  (lambda: f(tx)) if tx is not None and f is not None else None)

        def bwd(row: dict[str, Any], name: str = name, param: float = param) -> None:
            saved = act.forward(xp, name, x, param, impl="reference") if act.SAVES_OUTPUT[name] else x
            gx_ref = act.backward(xp, name, gy, saved, param, impl="reference")
            gx = dev.nan_filled(n)
            act.backward(xp, name, gy, saved, param, out=gx, impl="cuda")
            row["checks"]["gx"] = compare(dev, gx, gx_ref, **TOL_ELEM)
            row["bytes"] = 12 * n
            row["note"] = "saves y" if act.SAVES_OUTPUT[name] else ""
            pair = try_torch(row, "setup", lambda: (dev.to_torch(gy), dev.to_torch(saved)))
            f = t_bwd.get(name)
            if pair is not None and f is not None:
                tg, ts = pair
                tgx = try_torch(row, "backward", lambda: f(tg, ts))
                if tgx is not None:
                    row["torch_checks"]["gx"] = compare(dev, dev.from_torch(tgx), gx_ref, **TOL_ELEM)
            timed(row, dev, lambda: act.backward(xp, name, gy, saved, param, impl="cuda"),
                  lambda: act.backward(xp, name, gy, saved, param, impl="reference"),
                  (lambda: f(*pair)) if pair is not None and f is not None else None)

        run_check(f"act.fwd {name}", fmt_n(n), with_torch(dev, fwd))
        run_check(f"act.bwd {name}", fmt_n(n), with_torch(dev, bwd))


def section_linear(dev: Device, K: Any) -> None:
    lin = K.linear
    act = K.activation
    xp = dev.xp
    n, c = LINEAR_SHAPE
    size = f"{n}x{c}"
    z = dev.randn((n, c))
    bias = dev.randn(c)
    gy = dev.randn((n, c))
    torch = dev.torch
    aten = torch.ops.aten if torch is not None else None
    F = torch.nn.functional if torch is not None else None

    for name in ("relu", "gelu"):
        def fwd(row: dict[str, Any], name: str = name) -> None:
            pre_ref, y_ref = lin.bias_act_forward(xp, name, z, bias, impl="reference")
            dev.poison_pool([((n, c), F32), ((n, c), F32)])
            pre, y = lin.bias_act_forward(xp, name, z, bias, impl="cuda")
            row["checks"]["y"] = compare(dev, y, y_ref, **TOL_ELEM)
            if (pre is None) != (pre_ref is None):
                row["checks"]["pre"] = {"ok": False, "error": f"pre is {type(pre).__name__}, "
                                        f"reference {type(pre_ref).__name__}"}
            elif pre is not None:
                row["checks"]["pre"] = compare(dev, pre, pre_ref, **TOL_ELEM)
            row["bytes"] = (12 if lin.needs_pre(name) else 8) * n * c
            row["note"] = "writes pre+y" if lin.needs_pre(name) else "writes y"
            tt = try_torch(row, "setup", lambda: (dev.to_torch(z), dev.to_torch(bias)))
            tfn = None
            if tt is not None:
                tz, tb = tt
                act_fn = F.relu if name == "relu" else F.gelu

                def tfn() -> Any:
                    pre_t = tz + tb
                    return pre_t, act_fn(pre_t)
                ty = try_torch(row, "forward", tfn)
                if ty is not None:
                    row["torch_checks"]["y"] = compare(dev, dev.from_torch(ty[1]), y_ref, **TOL_ELEM)
            timed(row, dev, lambda: lin.bias_act_forward(xp, name, z, bias, impl="cuda"),
                  lambda: lin.bias_act_forward(xp, name, z, bias, impl="reference"), tfn)

        run_check(f"lin.fwd {name}+bias", size, with_torch(dev, fwd))

    for name in ("relu", "gelu", "identity"):
        def bwd(row: dict[str, Any], name: str = name) -> None:
            pre_ref, y_ref = lin.bias_act_forward(xp, name, z, bias, impl="reference")
            if name == "identity":
                saved = None
            elif act.SAVES_OUTPUT[name]:
                saved = y_ref
            else:
                saved = pre_ref
            gz_ref, gb_ref = lin.bias_act_backward(xp, name, gy, saved, impl="reference")
            gz64 = gz_ref.astype(F64)
            gb64 = gz64.sum(axis=0)
            # Summation order differs (and the reference sums in float32):
            # allow 1e-5 of each column's absolute mass.
            gb_atol = 1e-5 * xp.abs(gz64).sum(axis=0) + 1e-6
            dev.poison_pool([((n, c), F32), ((c,), F32)])
            gz, gb = lin.bias_act_backward(xp, name, gy, saved, impl="cuda")
            row["checks"]["gz"] = compare(dev, gz, gz_ref, **TOL_ELEM)
            row["checks"]["gbias"] = compare(dev, gb, gb64, rtol=0.0, atol=gb_atol)
            ref_gb = compare(dev, gb_ref, gb64, rtol=0.0, atol=gb_atol)
            row["ref_gbias_err_vs_f64"] = ref_gb.get("max_abs")
            row["bytes"] = (4 if name == "identity" else 12) * n * c
            row["note"] = "bias grad only" if name == "identity" else "gz + bias grad"
            tt = try_torch(row, "setup", lambda: (dev.to_torch(gy), None if saved is None
                                                  else dev.to_torch(saved)))
            tfn = None
            if tt is not None:
                tg, ts = tt

                def tfn() -> Any:
                    if name == "identity":
                        tgz = tg
                    elif name == "relu":
                        tgz = aten.threshold_backward(tg, ts, 0)
                    else:
                        tgz = aten.gelu_backward(tg, ts, approximate="none")
                    return tgz, tgz.sum(0)
                out = try_torch(row, "backward", tfn)
                if out is not None:
                    row["torch_checks"]["gz"] = compare(dev, dev.from_torch(out[0]), gz_ref, **TOL_ELEM)
                    row["torch_checks"]["gbias"] = compare(dev, dev.from_torch(out[1]), gb64,
                                                           rtol=0.0, atol=gb_atol)
            timed(row, dev, lambda: lin.bias_act_backward(xp, name, gy, saved, impl="cuda"),
                  lambda: lin.bias_act_backward(xp, name, gy, saved, impl="reference"), tfn)

        run_check(f"lin.bwd {name}", size, with_torch(dev, bwd))


def section_softmax_xent(dev: Device, K: Any) -> None:
    sx = K.softmax_xent
    xp = dev.xp
    n, c = XENT_SHAPE
    size = f"{n}x{c}"
    logits = dev.randn((n, c)) * np.float32(2.0)
    target = dev.integers(c, n)
    torch = dev.torch
    F = torch.nn.functional if torch is not None else None

    def check(row: dict[str, Any], kwargs: dict[str, Any], tgt: Any, time_it: bool) -> None:
        loss_ref, d_ref, _ = sx.softmax_cross_entropy(xp, logits, tgt, impl="reference", **kwargs)
        dev.poison_pool([((n,), F32), ((n, c), F32)])
        loss, d, _ = sx.softmax_cross_entropy(xp, logits, tgt, impl="cuda", **kwargs)
        row["checks"]["loss"] = compare(dev, loss, loss_ref, rtol=1e-5, atol=1e-5)
        row["checks"]["dlogits"] = compare(dev, d, d_ref, rtol=1e-4, atol=1e-6)
        row["bytes"] = 8 * n * c + 12 * n
        tt = try_torch(row, "setup", lambda: (dev.to_torch(logits), dev.to_torch(tgt),
                                              None if kwargs.get("weight") is None
                                              else dev.to_torch(kwargs["weight"])))
        tfn = None
        if tt is not None:
            tx, tgt_t, tw = tt
            tx.requires_grad_(True)
            ones = torch.ones(n, dtype=tx.dtype, device=tx.device)

            def tfn() -> Any:
                loss_t = F.cross_entropy(tx, tgt_t, weight=tw, reduction="none",
                                         ignore_index=kwargs.get("ignore_index", -100),
                                         label_smoothing=kwargs.get("label_smoothing", 0.0))
                (g,) = torch.autograd.grad(loss_t, tx, grad_outputs=ones)
                return loss_t, g
            out = try_torch(row, "cross_entropy", tfn)
            if out is not None:
                row["torch_checks"]["loss"] = compare(dev, dev.from_torch(out[0]), loss_ref,
                                                      rtol=1e-5, atol=1e-5)
                row["torch_checks"]["dlogits"] = compare(dev, dev.from_torch(out[1]), d_ref,
                                                         rtol=1e-4, atol=1e-6)
        if time_it:
            timed(row, dev, lambda: sx.softmax_cross_entropy(xp, logits, tgt, impl="cuda", **kwargs),
                  lambda: sx.softmax_cross_entropy(xp, logits, tgt, impl="reference", **kwargs), tfn)

    def plain(row: dict[str, Any]) -> None:
        row["note"] = "fwd+bwd; launcher syncs (target check)"
        check(row, {}, target, True)

    def variant(row: dict[str, Any]) -> None:
        tgt = target.copy()
        tgt[::8] = -100
        weight = dev.uniform(0.5, 1.5, c)
        row["note"] = "ignore_index, smoothing 0.1, weight"
        check(row, {"ignore_index": -100, "label_smoothing": 0.1, "weight": weight}, tgt, False)

    def reduced(row: dict[str, Any]) -> None:
        # reduction="mean" finishes in the kernel's last block (partials, threadfence, atomic ticket):
        # the GPU's memory ordering is what this row checks, three launches in a row, bit for bit.
        tgt = target.copy()
        tgt[::8] = -100
        kwargs = {"weight": dev.uniform(0.5, 1.5, c), "label_smoothing": 0.1, "reduction": "mean"}
        loss_ref, d_ref, den_ref = sx.softmax_cross_entropy(xp, logits, tgt, impl="reference", **kwargs)
        runs = [sx.softmax_cross_entropy(xp, logits, tgt, impl="cuda", **kwargs) for _ in range(3)]
        row["checks"]["loss"] = compare(dev, runs[0][0], loss_ref, rtol=1e-5, atol=1e-6)
        row["checks"]["denominator"] = compare(dev, runs[0][2], den_ref, rtol=1e-5, atol=1e-6)
        row["checks"]["dlogits"] = compare(dev, runs[0][1], d_ref, rtol=1e-4, atol=1e-6)
        same = all(bool((r[0] == runs[0][0]).all()) and bool((r[2] == runs[0][2]).all()) for r in runs)
        row["checks"]["repeatable"] = {"ok": same}
        row["note"] = "weighted mean in one launch (last block)"
        row["bytes"] = 8 * n * c + 12 * n
        timed(row, dev, lambda: sx.softmax_cross_entropy(xp, logits, tgt, impl="cuda", **kwargs),
              lambda: sx.softmax_cross_entropy(xp, logits, tgt, impl="reference", **kwargs), None)

    run_check("xent fwd+bwd", size, with_torch(dev, plain))
    run_check("xent ign/smooth/w", size, with_torch(dev, variant))
    run_check("xent mean", size, reduced)


def section_conv_pool(dev: Device, K: Any) -> None:
    """im2col / col2im (3x3, padding 1) and 2x2 max-pool forward/backward: the CNN gathers, one launch
    each. Bytes count each array once (the 3x3 window re-reads come from cache)."""
    conv, pool = K.conv, K.pool
    xp = dev.xp
    n, c, h, w = CONV_SHAPE
    size = "x".join(map(str, CONV_SHAPE))
    x = dev.randn(CONV_SHAPE)
    geo3 = ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1))
    geo2 = ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1))
    torch = dev.torch
    F = torch.nn.functional if torch is not None else None

    def im2col(row: dict[str, Any]) -> None:
        ref = conv.im2col(xp, x, *geo3, impl="reference")
        dev.poison_pool([(tuple(ref.shape), F32)])
        row["checks"]["cols"] = compare(dev, conv.im2col(xp, x, *geo3, impl="cuda"), ref, **TOL_EXACT)
        row["bytes"] = 4 * (x.size + ref.size)
        tx = try_torch(row, "setup", lambda: dev.to_torch(x))
        tfn = (lambda: F.unfold(tx, 3, padding=1)) if tx is not None else None
        if tfn is not None:  # unfold's (N, C*9, L) layout, transposed to ours for the check
            t = try_torch(row, "unfold", lambda: tfn().permute(1, 0, 2).reshape(ref.shape))
            if t is not None:
                row["torch_checks"]["cols"] = compare(dev, dev.from_torch(t), ref, **TOL_EXACT)
        timed(row, dev, lambda: conv.im2col(xp, x, *geo3, impl="cuda"),
              lambda: conv.im2col(xp, x, *geo3, impl="reference"), tfn)

    def col2im(row: dict[str, Any]) -> None:
        cols = dev.randn((c * 9, n * h * w))
        ref = conv.col2im(xp, cols, CONV_SHAPE, *geo3, impl="reference")
        dev.poison_pool([(CONV_SHAPE, F32)])
        row["checks"]["x"] = compare(dev, conv.col2im(xp, cols, CONV_SHAPE, *geo3, impl="cuda"), ref, **TOL_ELEM)
        row["bytes"] = 4 * (cols.size + x.size)
        row["note"] = "a gather per pixel, no atomics"
        tc = try_torch(row, "setup", lambda: dev.to_torch(cols).reshape(c * 9, n, h * w).permute(1, 0, 2).contiguous())
        tfn = (lambda: F.fold(tc, (h, w), 3, padding=1)) if tc is not None else None
        if tfn is not None:
            t = try_torch(row, "fold", tfn)
            if t is not None:
                row["torch_checks"]["x"] = compare(dev, dev.from_torch(t), ref, **TOL_ELEM)
        timed(row, dev, lambda: conv.col2im(xp, cols, CONV_SHAPE, *geo3, impl="cuda"),
              lambda: conv.col2im(xp, cols, CONV_SHAPE, *geo3, impl="reference"), tfn)

    def pool_fwd(row: dict[str, Any]) -> None:
        y_ref, i_ref = pool.max_pool2d(xp, x, *geo2, impl="reference")
        dev.poison_pool([(tuple(y_ref.shape), F32)])
        y, index = pool.max_pool2d(xp, x, *geo2, impl="cuda")
        row["checks"]["y"] = compare(dev, y, y_ref, **TOL_EXACT)
        row["checks"]["index"] = compare(dev, index, i_ref, **TOL_EXACT)
        row["bytes"] = 4 * x.size + 12 * y.size
        tx = try_torch(row, "setup", lambda: dev.to_torch(x))
        tfn = (lambda: F.max_pool2d(tx, 2, return_indices=True)) if tx is not None else None
        if tfn is not None:
            t = try_torch(row, "max_pool2d", tfn)
            if t is not None:
                row["torch_checks"]["y"] = compare(dev, dev.from_torch(t[0]), y_ref, **TOL_EXACT)
                row["torch_checks"]["index"] = compare(dev, dev.from_torch(t[1]), i_ref, **TOL_EXACT)
        timed(row, dev, lambda: pool.max_pool2d(xp, x, *geo2, impl="cuda"),
              lambda: pool.max_pool2d(xp, x, *geo2, impl="reference"), tfn)

    def pool_bwd(row: dict[str, Any]) -> None:
        _, index = pool.max_pool2d(xp, x, *geo2, impl="reference")
        gy = dev.randn(tuple(index.shape))
        ref = pool.max_pool2d_backward(xp, gy, index, CONV_SHAPE, *geo2, impl="reference")
        dev.poison_pool([(CONV_SHAPE, F32)])
        gx = pool.max_pool2d_backward(xp, gy, index, CONV_SHAPE, *geo2, impl="cuda")
        row["checks"]["gx"] = compare(dev, gx, ref, **TOL_EXACT)
        row["bytes"] = 12 * gy.size + 4 * x.size
        row["note"] = "a gather per pixel, no atomics"
        tt = try_torch(row, "setup", lambda: (dev.to_torch(gy), dev.to_torch(x), dev.to_torch(index)))
        tfn = None
        if tt is not None:
            tg, tx, ti = tt
            tfn = lambda: torch.ops.aten.max_pool2d_with_indices_backward(tg, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, ti)  # noqa: E731
            t = try_torch(row, "max_pool2d backward", tfn)
            if t is not None:
                row["torch_checks"]["gx"] = compare(dev, dev.from_torch(t), ref, **TOL_EXACT)
        timed(row, dev, lambda: pool.max_pool2d_backward(xp, gy, index, CONV_SHAPE, *geo2, impl="cuda"),
              lambda: pool.max_pool2d_backward(xp, gy, index, CONV_SHAPE, *geo2, impl="reference"), tfn)

    run_check("im2col 3x3", size, with_torch(dev, im2col))
    run_check("col2im 3x3", size, with_torch(dev, col2im))
    run_check("maxpool.fwd 2x2", size, with_torch(dev, pool_fwd))
    run_check("maxpool.bwd 2x2", size, with_torch(dev, pool_bwd))


def section_optim(dev: Device, K: Any) -> None:
    opt = K.optim
    xp = dev.xp
    N = OPTIM_SIZE
    size = fmt_n(N)
    torch = dev.torch
    p0 = dev.randn(N)
    g = dev.randn(N)
    m0 = dev.randn(N) * np.float32(0.1)
    v0 = dev.randn(N) ** 2 * np.float32(0.01) + np.float32(1e-6)
    vmax0 = v0 * np.float32(1.5)
    v_tol = {"rtol": 1e-5, "atol": 1e-9}

    def adam_body(row: dict[str, Any], hyper: dict[str, Any], time_it: bool) -> None:
        fused = [a.copy() for a in (p0, m0, v0, vmax0)]
        ref = [a.copy() for a in (p0, m0, v0, vmax0)]
        amsgrad = hyper.get("amsgrad", False)
        opt.adam(xp, fused[0], g, fused[1], fused[2], fused[3] if amsgrad else None, impl="cuda", **hyper)
        opt.adam(xp, ref[0], g, ref[1], ref[2], ref[3] if amsgrad else None, impl="reference", **hyper)
        for label, f, r in zip(("p", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"), fused, ref):
            if label == "max_exp_avg_sq" and not amsgrad:
                continue
            tol = v_tol if label in ("exp_avg_sq", "max_exp_avg_sq") else TOL_OPTIM
            row["checks"][label] = compare(dev, f, r, **tol)
        row["bytes"] = (36 if amsgrad else 28) * N
        if amsgrad:
            add_note(row, "AdamW wd 0.01 + amsgrad")
        if not time_it:
            return

        def t_setup() -> Any:
            tp = torch.nn.Parameter(dev.to_torch(p0))
            tp.grad = dev.to_torch(g)
            o = torch.optim.Adam([tp], lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
                                 eps=hyper["eps"], fused=True)
            # torch's state after step-1 steps; its step() makes it `step`.
            o.state[tp] = {
                "step": torch.tensor(float(hyper["step"] - 1), dtype=torch.float32, device=tp.device),
                "exp_avg": dev.to_torch(m0), "exp_avg_sq": dev.to_torch(v0),
            }
            o.step()
            dev.sync()
            row["torch_checks"]["p"] = compare(dev, dev.from_torch(tp), ref[0], **TOL_OPTIM)
            return o
        add_note(row, "torch Adam(fused=True)")
        o = try_torch(row, "Adam(fused=True)", t_setup)
        timed(row, dev,
              lambda: opt.adam(xp, fused[0], g, fused[1], fused[2], None, impl="cuda", **hyper),
              lambda: opt.adam(xp, ref[0], g, ref[1], ref[2], None, impl="reference", **hyper),
              (lambda: o.step()) if o is not None else None)

    adam_hyper = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "step": 3}
    run_check("adam", size, with_torch(dev, lambda row: adam_body(row, adam_hyper, True)))
    run_check("adamw+amsgrad", size, with_torch(dev, lambda row: adam_body(
        row, {**adam_hyper, "weight_decay": 0.01, "decoupled_weight_decay": True, "amsgrad": True},
        False)))

    def sgd(row: dict[str, Any]) -> None:
        hyper = {"lr": 1e-2, "momentum": 0.9, "nesterov": True}
        fused = [p0.copy(), m0.copy()]
        ref = [p0.copy(), m0.copy()]
        opt.sgd(xp, fused[0], g, fused[1], impl="cuda", **hyper)
        opt.sgd(xp, ref[0], g, ref[1], impl="reference", **hyper)
        row["checks"]["p"] = compare(dev, fused[0], ref[0], **TOL_OPTIM)
        row["checks"]["momentum_buf"] = compare(dev, fused[1], ref[1], **TOL_OPTIM)
        row["bytes"] = 20 * N
        row["note"] = "nesterov; torch SGD(fused=True)"
        o = try_torch(row, "SGD", lambda: torch_optimizer(
            dev, lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True, fused=True)))
        timed(row, dev, lambda: opt.sgd(xp, fused[0], g, fused[1], impl="cuda", **hyper),
              lambda: opt.sgd(xp, ref[0], g, ref[1], impl="reference", **hyper),
              (lambda: o.step()) if o is not None else None)

    def rmsprop(row: dict[str, Any]) -> None:
        hyper = {"lr": 1e-3, "alpha": 0.99, "eps": 1e-8}
        sq = v0
        fused = [p0.copy(), sq.copy()]
        ref = [p0.copy(), sq.copy()]
        opt.rmsprop(xp, fused[0], g, fused[1], None, None, impl="cuda", **hyper)
        opt.rmsprop(xp, ref[0], g, ref[1], None, None, impl="reference", **hyper)
        row["checks"]["p"] = compare(dev, fused[0], ref[0], **TOL_OPTIM)
        row["checks"]["square_avg"] = compare(dev, fused[1], ref[1], **v_tol)
        row["bytes"] = 20 * N
        row["note"] = "torch RMSprop(foreach=True)"
        o = try_torch(row, "RMSprop", lambda: torch_optimizer(
            dev, lambda ps: torch.optim.RMSprop(ps, lr=1e-3, alpha=0.99, eps=1e-8, foreach=True)))
        timed(row, dev, lambda: opt.rmsprop(xp, fused[0], g, fused[1], None, None, impl="cuda", **hyper),
              lambda: opt.rmsprop(xp, ref[0], g, ref[1], None, None, impl="reference", **hyper),
              (lambda: o.step()) if o is not None else None)

    def adagrad(row: dict[str, Any]) -> None:
        hyper = {"lr": 1e-2, "lr_decay": 1e-3, "eps": 1e-10, "step": 3}
        fused = [p0.copy(), v0.copy()]
        ref = [p0.copy(), v0.copy()]
        opt.adagrad(xp, fused[0], g, fused[1], impl="cuda", **hyper)
        opt.adagrad(xp, ref[0], g, ref[1], impl="reference", **hyper)
        row["checks"]["p"] = compare(dev, fused[0], ref[0], **TOL_OPTIM)
        row["checks"]["state_sum"] = compare(dev, fused[1], ref[1], **TOL_OPTIM)
        row["bytes"] = 20 * N
        row["note"] = "torch Adagrad(foreach=True)"
        o = try_torch(row, "Adagrad", lambda: torch_optimizer(
            dev, lambda ps: torch.optim.Adagrad(ps, lr=1e-2, lr_decay=1e-3, foreach=True)))
        timed(row, dev, lambda: opt.adagrad(xp, fused[0], g, fused[1], impl="cuda", **hyper),
              lambda: opt.adagrad(xp, ref[0], g, ref[1], impl="reference", **hyper),
              (lambda: o.step()) if o is not None else None)

    def sumsq(row: dict[str, Any]) -> None:
        fused = opt.sum_of_squares(xp, g, impl="cuda")
        ref = opt.sum_of_squares(xp, g, impl="reference")
        rel = abs(fused - ref) / abs(ref)
        row["checks"]["sum"] = {"ok": bool(math.isfinite(fused) and rel <= 1e-5),
                                "max_abs": abs(fused - ref), "rel_norm": rel,
                                "value": fused, "reference": ref}
        row["bytes"] = 4 * N
        row["note"] = "returns a float (syncs); torch _foreach_norm"
        tg = try_torch(row, "setup", lambda: dev.to_torch(g))
        tfn = None
        if tg is not None:
            def tfn() -> float:
                return float(torch._foreach_norm([tg])[0]) ** 2
            tv = try_torch(row, "_foreach_norm", tfn)
            if tv is not None:
                trel = abs(tv - ref) / abs(ref)
                row["torch_checks"]["sum"] = {"ok": trel <= 1e-4, "max_abs": abs(tv - ref), "rel_norm": trel}
        timed(row, dev, lambda: opt.sum_of_squares(xp, g, impl="cuda"),
              lambda: opt.sum_of_squares(xp, g, impl="reference"), tfn)

    run_check("sgd momentum", size, with_torch(dev, sgd))
    run_check("rmsprop", size, with_torch(dev, rmsprop))
    run_check("adagrad", size, with_torch(dev, adagrad))
    run_check("sum_of_squares", size, with_torch(dev, sumsq))


def torch_optimizer(dev: Device, make: Callable[[list[Any]], Any]) -> Any:
    """A torch optimizer over one fresh OPTIM_SIZE parameter with a gradient,
    stepped once so its state exists before timing."""
    torch = dev.torch
    tp = torch.nn.Parameter(torch.randn(OPTIM_SIZE, device=dev.tdev))
    tp.grad = torch.randn(OPTIM_SIZE, device=dev.tdev)
    o = make([tp])
    o.step()
    return o


def section_matmul(dev: Device, K: Any) -> None:
    lin = K.linear
    xp = dev.xp
    torch = dev.torch
    F = torch.nn.functional if torch is not None else None
    for s in MATMUL_SIZES:
        def body(row: dict[str, Any], s: int = s) -> None:
            a = dev.randn((s, s))
            b = dev.randn((s, s)) * np.float32(1.0 / math.sqrt(s))
            bias = dev.randn(s)
            pre64, y64 = lin.matmul_bias_act(xp, a.astype(F64), b.astype(F64), bias.astype(F64),
                                             "gelu", impl="reference")
            dev.poison_pool([((s, s), F32), ((s, s), F32)])
            pre, y = lin.matmul_bias_act(xp, a, b, bias, "gelu", impl="cuda")
            row["checks"]["y"] = compare(dev, y, y64, **TOL_MATMUL)
            if pre is None:
                row["checks"]["pre"] = {"ok": False, "error": "gelu needs pre but it is None"}
            else:
                row["checks"]["pre"] = compare(dev, pre, pre64, **TOL_MATMUL)
            _, y_ref32 = lin.matmul_bias_act(xp, a, b, bias, "gelu", impl="reference")
            row["ref_err_vs_f64"] = compare(dev, y_ref32, y64, **TOL_MATMUL)["rel_norm"]
            row["flops"] = 2 * s**3
            row["note"] = "gelu epilogue; vs float64"
            tt = try_torch(row, "setup", lambda: (dev.to_torch(a), dev.to_torch(b), dev.to_torch(bias)))
            tfn = None
            if tt is not None:
                ta, tb, tbias = tt

                def tfn() -> Any:
                    pre_t = torch.addmm(tbias, ta, tb)
                    return pre_t, F.gelu(pre_t)
                out = try_torch(row, "addmm", tfn)
                if out is not None:
                    row["torch_checks"]["y"] = compare(dev, dev.from_torch(out[1]), y64, **TOL_MATMUL)
            timed(row, dev, lambda: lin.matmul_bias_act(xp, a, b, bias, "gelu", impl="cuda"),
                  lambda: lin.matmul_bias_act(xp, a, b, bias, "gelu", impl="reference"), tfn)

        run_check("matmul_bias_act", f"{s}^2", with_torch(dev, body), needs_s=10.0)


def section_external() -> None:
    """The shell's install and kernel-test results, as table rows."""
    install = os.environ.get("GPU_CHECK_INSTALL")
    if install:
        ok = install.startswith("editable install OK") and "FAILED" not in install
        ROWS.append({"name": "install", "size": "", "status": "OK" if ok else "WARN",
                     "note": install, "checks": {}, "correctness": False})
    rc_s = os.environ.get("GPU_CHECK_PYTEST_RC")
    if rc_s is None:
        return
    summary = os.environ.get("GPU_CHECK_PYTEST_SUMMARY", "").strip()
    try:
        rc = int(rc_s)
    except ValueError:
        rc = -1
    status = "OK" if rc == 0 else "WARN" if rc == 5 else "FAIL"
    note = summary or "no summary line"
    if rc in (124, 137):
        note = f"timed out; {note}"
    ROWS.append({"name": "pytest kernels+cuda", "size": "", "status": status,
                 "note": f"rc={rc}: {note}" if rc else note, "checks": {}, "correctness": True,
                 "pytest_rc": rc})


# ====================================================================== output

def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items() if not str(k).startswith("_")}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return _clean(v.item())
    return v


def save_json() -> None:
    doc = {"meta": META, "extra": EXTRA, "rows": ROWS,
           "elapsed_s": time.perf_counter() - T_START}
    try:
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = JSON_PATH.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_clean(doc), indent=1, default=str))
        tmp.replace(JSON_PATH)
    except Exception as exc:  # noqa: BLE001
        print(f"could not write {JSON_PATH}: {exc}", flush=True)


def _f(v: Any, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def mlp_step_summary(step: dict[str, Any]) -> str:
    """One line from bench/gpu_mlp_step.py's JSON (written by gpu_check.sh before this script runs)."""
    if "gpugrad_error" in step or "torch_error" in step:
        return f"error: {step.get('gpugrad_error') or step.get('torch_error')}"
    return (f"gpugrad {_f(step.get('gpugrad_ms'), '.2f')} ms ({step.get('gpugrad_launch_path', '?')} launch; "
            f"{_f(step.get('gpugrad_numba_launch_ms'), '.2f')} ms through numba-cuda's), "
            f"PyTorch {_f(step.get('torch_ms'), '.2f')} ms, ratio {_f(step.get('gpugrad_over_torch'), '.2f')}x; "
            f"{step.get('gpugrad_launches_per_step', '?')} of our launches per step, "
            f"{step.get('gpugrad_launches_in_backward', '?')} in backward (+ cuBLAS GEMMs); "
            f"host {_f(step.get('gpugrad_host_ms'), '.2f')} ms per step unsynchronised; digits CNN step "
            f"gpugrad {_f(step.get('cnn_gpugrad_ms'), '.2f')} ms, PyTorch {_f(step.get('cnn_torch_ms'), '.2f')} ms")


def load_mlp_step() -> None:
    path = os.environ.get("GPU_CHECK_MLP_JSON")
    if not path or not os.path.exists(path):
        return
    try:
        with open(path) as f:
            EXTRA["mlp_step"] = json.loads(f.read().strip().splitlines()[-1])
    except Exception as exc:  # noqa: BLE001
        EXTRA["mlp_step"] = {"gpugrad_error": f"unreadable {path}: {type(exc).__name__}: {exc}"}


def print_table() -> None:
    head = (f"{'name':<22} {'size':<10} {'fused ms':>9} {'ref ms':>9} {'torch ms':>9} "
            f"{'f.wall ms':>9} {'fused rate':>11} {'%copy':>6} {'max err':>8} {'status':<6} note")
    lines = [head, "-" * len(head)]
    for r in ROWS:
        if r.get("fused_tflops"):
            rate = f"{r['fused_tflops']:.2f}TF/s"
        elif r.get("fused_gbs"):
            rate = f"{r['fused_gbs']:.0f}GB/s"
        else:
            rate = "-"
        note = str(r.get("note", ""))
        if r.get("status") in ("FAIL", "WARN"):
            note = note[:90]
        else:
            note = note[:44]
        lines.append(
            f"{r['name'][:22]:<22} {str(r.get('size', ''))[:10]:<10} {_f(r.get('fused_ms'), '9.4f')} "
            f"{_f(r.get('ref_ms'), '9.4f')} {_f(r.get('torch_ms'), '9.4f')} "
            f"{_f(r.get('fused_wall_ms'), '9.4f')} {rate:>11} {_f(r.get('pct_copy'), '6.1f')} "
            f"{_f(r.get('max_err'), '8.1e')} {r.get('status', '?'):<6} {note}"
        )
    step = EXTRA.get("mlp_step")
    if step:
        lines.append(f"MLP 784-1024-1024-10 step (bench/gpu_mlp_step.py): {mlp_step_summary(step)}")
    counts = {s: sum(1 for r in ROWS if r.get("status") == s) for s in ("OK", "FAIL", "WARN", "SKIP")}
    copy = EXTRA.get("copy_gbs")
    lines.append(
        f"gpu_check: {len(ROWS)} rows, " + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f"; copy bw {_f(copy, '.0f')} GB/s; {META.get('device', '?')}; "
        + f"{time.perf_counter() - T_START:.0f}s; json {JSON_PATH}"
    )
    print("\n".join(lines), flush=True)


# ====================================================================== main

def collect_meta(dev: Device, source: str) -> None:
    META.update({
        "python": sys.version.split()[0], "platform": platform.platform(), "small": SMALL,
        "simulator": SIM, "kernels": source, "numpy": np.__version__, "seed": dev.seed,
        "reps": REPS, "warmup": WARMUP, "notes": dev.notes,
    })
    try:
        import numba

        META["numba"] = numba.__version__
    except Exception as exc:  # noqa: BLE001
        META["numba"] = f"? ({exc})"
    try:
        from importlib.metadata import version

        META["numba_cuda"] = version("numba-cuda")
    except Exception as exc:  # noqa: BLE001
        META["numba_cuda"] = f"? ({exc})"
    if dev.torch is not None:
        META["torch"] = dev.torch.__version__
    if dev.gpu:
        cp = dev.xp
        META["cupy"] = cp.__version__
        try:
            props = cp.cuda.runtime.getDeviceProperties(0)
            name = props["name"]
            META["device"] = name.decode() if isinstance(name, bytes) else str(name)
            META["sm_count"] = props.get("multiProcessorCount")
            META["compute_capability"] = f"{props.get('major')}.{props.get('minor')}"
            META["memory_gib"] = props.get("totalGlobalMem", 0) / 2**30
        except Exception as exc:  # noqa: BLE001
            META["device"] = f"? ({exc})"
        try:
            META["cuda_runtime"] = cp.cuda.runtime.runtimeGetVersion()
            META["cuda_driver"] = cp.cuda.runtime.driverGetVersion()
        except Exception as exc:  # noqa: BLE001
            META["cuda_driver"] = f"? ({exc})"
        META["spin_cycles_per_ms"] = dev._cycles_per_ms
    else:
        META["device"] = "CPU (Numba CUDA simulator)" if SIM else "CPU"


def main() -> int:
    log(f"gpu_check: small={SMALL} simulator={SIM} deadline={DEADLINE_S:.0f}s out={OUT}")
    load_mlp_step()
    section_external()
    try:
        K, source = import_kernels()
    except Exception as exc:  # noqa: BLE001
        ROWS.append({"name": "import kernels", "size": "", "status": "FAIL", "correctness": True,
                     "note": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        print(ROWS[-1]["traceback"])
        save_json()
        print_table()
        return 1
    try:
        dev = Device()
    except Exception as exc:  # noqa: BLE001
        ROWS.append({"name": "device setup", "size": "", "status": "FAIL", "correctness": True,
                     "note": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        print(ROWS[-1]["traceback"])
        save_json()
        print_table()
        return 1
    collect_meta(dev, source)
    log(f"kernels from {source}; device {META.get('device')}; torch {META.get('torch')}; "
        f"notes: {dev.notes}")
    if not source.startswith("gpugrad.kernels"):
        ROWS.append({"name": "import gpugrad.kernels", "size": "", "status": "WARN", "note": source,
                     "checks": {}, "correctness": False})
    save_json()

    sections: list[tuple[str, Callable[[], None]]] = [
        ("copy", lambda: section_copy(dev)),
        ("poison", lambda: section_poison_selftest(dev)),
        ("launch", lambda: section_launch(dev, K)),
        *[(f"activation {n}", functools.partial(section_activation, dev, K, n)) for n in ELEMENTWISE_SIZES],
        ("linear", lambda: section_linear(dev, K)),
        ("softmax_xent", lambda: section_softmax_xent(dev, K)),
        ("optim", lambda: section_optim(dev, K)),
        ("conv_pool", lambda: section_conv_pool(dev, K)),
        ("matmul", lambda: section_matmul(dev, K)),
    ]
    for label, fn in sections:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - setup code outside run_check
            ROWS.append({"name": f"section {label}", "size": "", "status": "FAIL", "correctness": True,
                         "note": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
            print(ROWS[-1]["traceback"], flush=True)
            save_json()
        if dev.gpu:
            dev.xp.get_default_memory_pool().free_all_blocks()
            if dev.torch is not None:
                dev.torch.cuda.empty_cache()
    save_json()
    print_table()
    failed = [r for r in ROWS if r.get("status") == "FAIL" and r.get("correctness", True)]
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - a crash of the script itself
        traceback.print_exc()
        try:
            save_json()
            print_table()
        except Exception as exc:  # noqa: BLE001
            print(f"could not print the table: {exc}", flush=True)
        sys.exit(3)
