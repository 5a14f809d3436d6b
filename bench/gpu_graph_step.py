"""Training steps on one GPU, eager and as a CUDA graph, gpugrad and PyTorch (the CUDA-graph issue's
targets): the MLP 784-1024-1024-10 at batch 256 and the digits CNN at batch 64 (bench_training.py's
models), Adam with ``capturable=True`` in all four. Each graphed step is captured after three warm-up
steps on a side stream, as both libraries require, and replayed; each time is the mean over 50 steps
with a sync at the end, the best of three rounds taken in turn.

    python bench/gpu_graph_step.py        # on a machine with a GPU; prints one JSON line

GPU_GRAPH_SMALL=1 takes a 16-32-32-10 MLP only (a smoke run).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_training as bt  # noqa: E402

SMALL = os.environ.get("GPU_GRAPH_SMALL") == "1"
MODELS = ["mlp-16-32-32-10"] if SMALL else ["mlp-784-1024-1024-10", "cnn-digits"]
STEPS, ROUNDS = (3, 1) if SMALL else (50, 3)


def mean_ms(fn, sync):
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(STEPS):
        fn()
    sync()
    return (time.perf_counter() - t0) / STEPS * 1e3


def gpugrad_pair(model):
    """(eager step, replay of its graph) for gpugrad."""
    import gpugrad as gg

    eager = bt.gpugrad_step(model, "cuda", capturable=True)
    captured = bt.gpugrad_step(model, "cuda", capturable=True)
    side = gg.cuda.Stream()
    with gg.cuda.stream(side):
        for _ in range(3):
            captured()
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        captured()
    return eager, g.replay, gg.cuda.synchronize


def torch_pair(model):
    import torch

    eager = bt.pytorch_step(torch, model, "cuda", capturable=True)
    captured = bt.pytorch_step(torch, model, "cuda", capturable=True)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            captured()
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        captured()
    return eager, g.replay, torch.cuda.synchronize


def main():
    result = {}
    for model in MODELS:
        pairs = {}
        for lib, make in (("gpugrad", gpugrad_pair), ("torch", torch_pair)):
            try:
                pairs[lib] = make(model)
            except Exception as exc:  # report, do not hide
                result[f"{model}/{lib}_error"] = f"{type(exc).__name__}: {exc}"[:400]
        best = {}
        for _ in range(ROUNDS):
            for lib, (eager, replay, sync) in pairs.items():
                for kind, fn in (("eager", eager), ("graphed", replay)):
                    ms = mean_ms(fn, sync)
                    key = f"{lib}_{kind}_ms"
                    best[key] = min(ms, best.get(key, ms))
        for key, ms in best.items():
            result[f"{model}/{key}"] = round(ms, 4)
        if len(pairs) == 2:
            g, t = best["gpugrad_graphed_ms"], best
            result[f"{model}/graphed_over_torch_eager"] = round(g / t["torch_eager_ms"], 3)
            result[f"{model}/graphed_over_torch_graphed"] = round(g / t["torch_graphed_ms"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
