"""Shared settings of the benchmark suite (run it with ``gpugrad bench``; see bench/NOTES.md).

Environment, set by the runner (gpugrad/benchmarks.py) or by hand:

- ``GPUGRAD_BENCH_SMALL=1``: tiny sizes everywhere (the CI smoke run), so the whole suite takes seconds.
- ``GPUGRAD_BENCH_DEVICE=cuda``: run every benchmark on the GPU (CuPy arrays, PyTorch on ``cuda``);
  each one is skipped with the reason when no GPU is usable. Default ``cpu``.

On cuda, pytest-benchmark's figures are host wall time per call, each call followed by a device
synchronisation (what a training loop sees). After it, ``run`` times the same call again with CUDA events
(``EventTimer``): the GPU queue is first backed up behind a spin kernel so that the events measure the
device's work, not Python's launch cost, and ``torch_sync`` / ``Device.timed``'s synchronisation are left
out of that pass. The median lands in ``extra_info["device_s"]``, which the runner shows beside the wall
time.

Every benchmark records, in pytest-benchmark's ``extra_info``, what the runner needs to put rows side
by side: ``impl`` (the variant), ``baseline`` (1 = the group's baseline, 2 = the fallback baseline when
the first is skipped, 0 = not a baseline), and the work one call does, ``bytes`` moved (read + written)
and ``flops``, with ``roof`` naming the limit that binds it ("memory" or "compute"). Groups are
``<family>:<case>`` so that each pytest-benchmark group compares like with like in one run.
"""
from __future__ import annotations

import functools
import os
import statistics
import time

# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import numpy as np
import pytest

SMALL = os.environ.get("GPUGRAD_BENCH_SMALL", "").strip() not in ("", "0")
DEVICE = (os.environ.get("GPUGRAD_BENCH_DEVICE", "") or "cpu").strip().lower()
if DEVICE not in ("cpu", "cuda"):
    raise pytest.UsageError(f"GPUGRAD_BENCH_DEVICE must be 'cpu' or 'cuda', got {DEVICE!r}")

TORCH_MISSING = "PyTorch is not installed (pip install torch): its variants are skipped"


def pick(full, small):
    """``full`` normally, ``small`` in smoke mode."""
    return small if SMALL else full


class Device:
    """The array module and synchronisation for the device under test (NumPy on the CPU, CuPy on CUDA)."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "cuda":
            import gpugrad as gg

            if not gg.cuda.is_available():
                pytest.skip(f"GPUGRAD_BENCH_DEVICE=cuda but no GPU is usable: {gg.backend.cuda_unavailable_reason()}")
            import cupy

            self.xp = cupy
            self.kernel_impl = "cuda"
        else:
            self.xp = np
            self.kernel_impl = "cpu"

    def sync(self) -> None:
        if self.xp is not np:
            # the whole device: gpugrad and Numba may launch on streams other than CuPy's current one
            self.xp.cuda.runtime.deviceSynchronize()

    def asarray(self, a):
        return self.xp.asarray(a)

    def timed(self, fn):
        """fn followed by a device synchronisation, so a GPU call is timed to its end, not its launch
        (``run``'s CUDA-event pass calls fn itself, as ``call.unsynced``)."""
        if self.xp is np:
            return fn
        sync = self.sync

        def call():
            fn()
            sync()

        call.unsynced = fn
        return call


@pytest.fixture(scope="session")
def dev() -> Device:
    return Device(DEVICE)


@pytest.fixture(scope="session")
def torch_mod():
    """PyTorch, skipped with a reason when absent; on cuda, skipped when PyTorch sees no GPU.

    The thread count is left as PyTorch sets it: the comparison is with PyTorch as users run it."""
    try:
        import torch
    except ImportError:
        pytest.skip(TORCH_MISSING)
    if DEVICE == "cuda" and not torch.cuda.is_available():
        pytest.skip("PyTorch sees no GPU: its cuda variants are skipped")
    return torch


_EVENT_PASS = False  # True while EventTimer times a call: the per-call synchronisations are left out


def torch_sync(torch) -> None:
    if DEVICE == "cuda" and not _EVENT_PASS:
        torch.cuda.synchronize()


SPIN_SOURCE = r"""
extern "C" __global__ void gpugrad_bench_spin(long long cycles) {
    long long t0 = clock64();
    while (clock64() - t0 < cycles) { }
}
"""
EVENT_REPS = pick(20, 3)


class EventTimer:
    """Device time per call from CUDA events on CuPy's current stream (the legacy default stream, which
    gpugrad's kernels, CuPy and PyTorch all use unless told otherwise). Before each timed call a spin
    kernel occupies the GPU for longer than the host needs to enqueue the call, so the start event, the
    call's kernels and the stop event run back to back on the device. A call that synchronises inside
    (a launcher reading a flag back, say) waits for the spin, and its device time then includes its own
    host time: such rows read the same in both columns."""

    def __init__(self) -> None:
        import cupy

        self.cp = cupy
        self.spin = cupy.RawKernel(SPIN_SOURCE, "gpugrad_bench_spin")
        self.spin((1,), (1,), (np.int64(1000),))
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        cycles = 20_000_000
        start.record()
        self.spin((1,), (1,), (np.int64(cycles),))
        stop.record()
        stop.synchronize()
        self.cycles_per_ms = cycles / cupy.cuda.get_elapsed_time(start, stop)

    def median_s(self, fn, reps: int = EVENT_REPS) -> float:
        global _EVENT_PASS
        cp = self.cp
        _EVENT_PASS = True
        try:
            fn()
            cp.cuda.runtime.deviceSynchronize()
            t = time.perf_counter()
            fn()
            host_ms = (time.perf_counter() - t) * 1e3  # enqueueing (and the work, as nothing queues ahead)
            cp.cuda.runtime.deviceSynchronize()
            backlog = np.int64(min(200.0, 2.0 * host_ms + 0.05) * self.cycles_per_ms)
            times = []
            for _ in range(reps):
                start, stop = cp.cuda.Event(), cp.cuda.Event()
                self.spin((1,), (1,), (backlog,))
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
        finally:
            _EVENT_PASS = False
        return statistics.median(times)


@functools.cache
def event_timer() -> EventTimer:
    return EventTimer()


def record(benchmark, impl: str, *, baseline: int = 0, bytes: float | None = None, flops: float | None = None,
           roof: str | None = None, **extra) -> None:
    """Tag a benchmark with its variant and its work (see the module docstring)."""
    info = {"impl": impl, "baseline": baseline, "device": DEVICE, "small": SMALL}
    if bytes is not None:
        info["bytes"] = float(bytes)
    if flops is not None:
        info["flops"] = float(flops)
    if roof is not None:
        info["roof"] = roof
    info.update(extra)
    benchmark.extra_info.update(info)


def run(benchmark, fn, *, warmup: int = 1):
    """Call fn ``warmup`` times untimed (JIT compilation, allocations, optimizer state), then time it; on
    cuda also its device time, with CUDA events (``extra_info["device_s"]``; see the module docstring)."""
    for _ in range(warmup):
        fn()
    result = benchmark(fn)
    if DEVICE == "cuda":
        try:
            benchmark.extra_info["device_s"] = event_timer().median_s(getattr(fn, "unsynced", fn))
        except Exception as exc:  # noqa: BLE001 - the wall time stands; say why the device time is missing
            benchmark.extra_info["device_s_error"] = f"{type(exc).__name__}: {exc}"
    return result


def pytest_collect_file(file_path, parent):
    # bench_*.py are not test_*.py: collect them when a folder is given (`pytest bench`); a file named on
    # the command line is collected by pytest itself.
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_benchmark_update_machine_info(config, machine_info):
    # What the figures depend on beyond the CPU: library versions, BLAS, thread settings, load.
    import numba

    info = {"numpy": np.__version__, "numba": numba.__version__, "numba_threads": numba.get_num_threads(),
            "device": DEVICE, "small": SMALL,
            "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                               "MKL_NUM_THREADS", "NUMBA_NUM_THREADS") if k in os.environ}}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version', '')}".strip()
    except (TypeError, KeyError, AttributeError):  # older NumPy has no mode="dicts"
        info["numpy_blas"] = None
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = None
    if hasattr(os, "getloadavg"):
        info["loadavg_end"] = os.getloadavg()
    machine_info["gpugrad_bench"] = info
