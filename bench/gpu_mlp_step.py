"""One training step of a 784-1024-1024-10 MLP, batch 256, Adam: gpugrad on the GPU against PyTorch eager
on the same GPU (the GPU backend issue's target: no slower than PyTorch). Also counts our kernel launches
per step and in backward alone (cuBLAS GEMMs not included), and times the step on both kernel launch
paths (our direct one, the default, and numba-cuda's own).

    python bench/gpu_mlp_step.py            # on a machine with a GPU; prints one JSON line

It also times the digits CNN step (gpugrad and PyTorch) in the same run.

GPU_MLP_SMALL=1 takes a 16-32-32-10 MLP, batch 8, and a few steps: a smoke run of this script, which
tests/test_cuda_simulator.py makes in the CUDA simulator. GPU_MLP_PROFILE=file also writes where the
step's host time goes (cProfile over the timed steps, by own time), and the JSON gets the host time per
step without a sync (what Python spends queueing the work).
"""
import json
import os
import time

SMALL = os.environ.get("GPU_MLP_SMALL") == "1"
SIZES, BATCH = ((16, 32, 32, 10), 8) if SMALL else ((784, 1024, 1024, 10), 256)
STEPS, WARMUP = (1, 0) if SMALL else (50, 5)


def time_steps(step, sync):
    for _ in range(WARMUP):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(STEPS):
        step()
    sync()
    return (time.perf_counter() - t0) / STEPS * 1e3


def host_profile(step, path):
    """cProfile of STEPS steps into ``path``; returns the mean host time per step in ms (no sync inside
    the timed loop, so with a GPU that runs ahead of nothing it is the time spent queueing work)."""
    import cProfile
    import io
    import pstats

    t0 = time.perf_counter()
    for _ in range(STEPS):
        step()
    host_ms = (time.perf_counter() - t0) / STEPS * 1e3
    if path:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(STEPS):
            step()
        prof.disable()
        text = io.StringIO()
        text.write(f"host time per step without the profiler: {host_ms:.3f} ms; totals over {STEPS} steps\n")
        for key in ("tottime", "cumulative"):
            pstats.Stats(prof, stream=text).sort_stats(key).print_stats(40)
        with open(path, "w") as f:
            f.write(text.getvalue())
    return host_ms


def count_launches(fn):
    """Our kernel launches while fn runs (every launcher calls its module's `launch`)."""
    from gpugrad.kernels import FAMILIES, _launch

    modules = (_launch, *FAMILIES)
    real = _launch.launch
    count = {"n": 0}

    def counting(*args, **kwargs):
        count["n"] += 1
        return real(*args, **kwargs)

    for mod in modules:
        mod.launch = counting
    try:
        fn()
    finally:
        for mod in modules:
            mod.launch = real
    return count["n"]


def gpugrad_step(direct_launch: bool = True) -> dict:
    import gpugrad as gg
    from gpugrad import nn, optim
    from gpugrad.kernels import _launch

    gg.manual_seed(0)
    a, b, c, d = SIZES
    model = nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(), nn.Linear(c, d)).to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = gg.randn(BATCH, a, device="cuda")
    y = gg.randint(0, d, (BATCH,), device="cuda")

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    default_path, _launch.DIRECT_LAUNCH = _launch.DIRECT_LAUNCH, direct_launch
    try:
        out = {"ms": time_steps(step, gg.cuda.synchronize), "launches_per_step": count_launches(step)}
        if direct_launch:
            out["host_ms"] = host_profile(step, os.environ.get("GPU_MLP_PROFILE"))
            gg.cuda.synchronize()
        loss = nn.functional.cross_entropy(model(x), y)
        out["launches_in_backward"] = count_launches(loss.backward)
    finally:
        _launch.DIRECT_LAUNCH = default_path
    return out


def torch_step_ms():
    import torch

    torch.manual_seed(0)
    dev = "cuda"
    a, b, c, d = SIZES
    model = torch.nn.Sequential(
        torch.nn.Linear(a, b), torch.nn.ReLU(), torch.nn.Linear(b, c), torch.nn.ReLU(), torch.nn.Linear(c, d)
    ).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, a, device=dev)
    y = torch.randint(0, d, (BATCH,), device=dev)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return time_steps(step, torch.cuda.synchronize)


def cnn_steps_ms() -> dict:
    """The digits CNN step (bench/bench_training.py's cnn-digits, batch 64) on the GPU, gpugrad and PyTorch:
    convolutions are host-bound there too (one op per conv2d, plain backwards on arrays, and one kernel
    per im2col, col2im and max-pool since the last GPU run)."""
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_training as bt
    import torch

    import gpugrad as gg

    step = bt.gpugrad_step("cnn-digits", "cuda")
    out = {"cnn_gpugrad_ms": time_steps(step, gg.cuda.synchronize), "cnn_gpugrad_launches_per_step": count_launches(step)}
    out["cnn_torch_ms"] = time_steps(bt.pytorch_step(torch, "cnn-digits", "cuda"), torch.cuda.synchronize)
    return out


if __name__ == "__main__":
    result = {"sizes": list(SIZES), "batch": BATCH}
    try:
        direct = gpugrad_step()
        from gpugrad.kernels._launch import launch_path

        result["gpugrad_ms"] = direct["ms"]
        result["gpugrad_launches_per_step"] = direct["launches_per_step"]
        result["gpugrad_launches_in_backward"] = direct["launches_in_backward"]
        result["gpugrad_host_ms"] = direct["host_ms"]
        result["gpugrad_launch_path"] = launch_path()
        if launch_path() != "simulator":  # the simulator has one launch path
            result["gpugrad_numba_launch_ms"] = gpugrad_step(direct_launch=False)["ms"]
    except Exception as exc:  # report, do not hide
        result["gpugrad_error"] = f"{type(exc).__name__}: {exc}"
    try:
        result["torch_ms"] = torch_step_ms()
    except Exception as exc:
        result["torch_error"] = f"{type(exc).__name__}: {exc}"
    if "gpugrad_ms" in result and "torch_ms" in result:
        result["gpugrad_over_torch"] = result["gpugrad_ms"] / result["torch_ms"]
    if not SMALL:
        try:
            result.update(cnn_steps_ms())
        except Exception as exc:
            result["cnn_error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(result))
