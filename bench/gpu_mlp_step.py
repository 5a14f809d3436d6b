"""One training step of a 784-1024-1024-10 MLP, batch 256, Adam: gpugrad on the GPU against PyTorch eager
on the same GPU (the GPU backend issue's target: no slower than PyTorch). Also counts our kernel launches
per step, and times the step on both kernel launch paths (our direct one, the default, and numba-cuda's
own). Run on a machine with a GPU: ``python bench/gpu_mlp_step.py``; prints one JSON line."""
import json
import time


def time_steps(step, sync, n=50, warmup=5):
    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return (time.perf_counter() - t0) / n * 1e3


def gpugrad_step_ms(direct_launch: bool = True):
    import gpugrad as gg
    from gpugrad import nn, optim
    from gpugrad.kernels import _launch

    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)).to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = gg.randn(256, 784, device="cuda")
    y = gg.randint(0, 10, (256,), device="cuda")

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    launches = {"n": 0}
    real_launch = _launch.launch

    def counting(*args, **kwargs):
        launches["n"] += 1
        return real_launch(*args, **kwargs)

    default_path, _launch.DIRECT_LAUNCH = _launch.DIRECT_LAUNCH, direct_launch
    ms = time_steps(step, gg.cuda.synchronize)
    _launch.launch = counting
    try:
        import gpugrad.kernels.activation as a, gpugrad.kernels.linear as l, gpugrad.kernels.optim as o, gpugrad.kernels.softmax_xent as s

        for mod in (a, l, o, s):
            mod.launch = counting
        step()
    finally:
        for mod in (a, l, o, s):
            mod.launch = real_launch
        _launch.launch = real_launch
        _launch.DIRECT_LAUNCH = default_path
    return ms, launches["n"]


def torch_step_ms():
    import torch

    torch.manual_seed(0)
    dev = "cuda"
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10)
    ).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(256, 784, device=dev)
    y = torch.randint(0, 10, (256,), device=dev)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return time_steps(step, torch.cuda.synchronize)


if __name__ == "__main__":
    result = {}
    try:
        result["gpugrad_ms"], result["gpugrad_launches_per_step"] = gpugrad_step_ms()
        from gpugrad.kernels._launch import launch_path

        result["gpugrad_launch_path"] = launch_path()
        result["gpugrad_numba_launch_ms"], _ = gpugrad_step_ms(direct_launch=False)
    except Exception as exc:  # report, do not hide
        result["gpugrad_error"] = f"{type(exc).__name__}: {exc}"
    try:
        result["torch_ms"] = torch_step_ms()
    except Exception as exc:
        result["torch_error"] = f"{type(exc).__name__}: {exc}"
    if "gpugrad_ms" in result and "torch_ms" in result:
        result["gpugrad_over_torch"] = result["gpugrad_ms"] / result["torch_ms"]
    print(json.dumps(result))
