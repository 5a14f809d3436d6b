"""What a CUDA stream capture accepts here, settled on a device before the CUDA-graph work builds on it.

Each probe runs on its own and prints one JSON line (ok, or the error and where it was raised):
  cupy_elementwise   CuPy elementwise ops and a reduction, captured and replayed, against eager
  cupy_matmul        CuPy's matmul under capture (CuPy refuses cuBLAS while a stream captures)
  ctypes_sgemm       cuBLAS's sgemm called through ctypes on CuPy's own handle, captured
  nvmath_sgemm       cuBLAS's sgemm through nvmath-python's bindings (its own handle), captured
  gpugrad_*          a whole gpugrad training step (forward, loss, backward, optimizer) captured with the
                     GEMMs routed to whichever sgemm above worked: the first op that breaks the capture,
                     or replays against eager steps and the replayed step's time
  torch_*            PyTorch's eager step and its own CUDA-graphed step (torch.cuda.graph), same model

    python bench/cuda_graph_probe.py > probe.jsonl      # on a machine with a GPU
"""
import ctypes
import json
import time
import traceback

import numpy as np

if not hasattr(np, "row_stack"):  # numba-cuda 0.30.4 still names it; NumPy 2.5 removed the alias
    np.row_stack = np.vstack

import cupy as cp

RESULTS = {}
SIZES, BATCH = (784, 1024, 1024, 10), 256


def attempt(name, fn):
    t0 = time.perf_counter()
    try:
        out = {"ok": True, **(fn() or {})}
    except Exception as exc:  # report and go on: each probe stands alone
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500],
               "where": [line.strip() for line in traceback.format_exc().splitlines()[-12:]]}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    RESULTS[name] = out
    print(json.dumps({"probe": name, **out}), flush=True)
    return out["ok"]


def capture(stream, fn):
    """Capture fn() on stream; the graph. Ends the capture even when fn raises, then re-raises."""
    with stream:
        stream.begin_capture()
        try:
            fn()
        except BaseException:
            try:
                stream.end_capture()
            except Exception:
                pass
            raise
        return stream.end_capture()


def time_ms(fn, sync, n=50, warm=5):
    for _ in range(warm):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - t0) / n * 1e3


# ------------------------------------------------------------------ raw CuPy
def cupy_elementwise():
    s = cp.cuda.Stream(non_blocking=True)
    a = cp.arange(1 << 20, dtype=cp.float32)
    out = {}

    def body():
        b = a * 2 + 1
        out["sum"] = b.sum()
        out["max"] = cp.maximum(b, 3.0)

    g = capture(s, body)
    g.launch(stream=s)
    s.synchronize()
    b = a * 2 + 1
    return {"sum_equal": bool(out["sum"] == b.sum()), "max_equal": bool((out["max"] == cp.maximum(b, 3.0)).all())}


def cupy_matmul():
    s = cp.cuda.Stream(non_blocking=True)
    a = cp.ones((64, 64), cp.float32)
    out = {}
    g = capture(s, lambda: out.setdefault("c", a @ a))
    g.launch(stream=s)
    s.synchronize()
    return {"equal": bool((out["c"] == 64).all())}


# ------------------------------------------------------------------ two capture-safe GEMMs (row-major)
def _gemm_args(a, b):
    """cuBLAS is column-major: C (m x n, row-major) = A B is C^T = B^T A^T, so B goes first. An operand
    that is C-contiguous is its transpose in column-major memory (op N); F-contiguous is itself (op T)."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != cp.float32 or b.dtype != cp.float32:
        raise TypeError(f"probe gemm takes 2-D float32, got {a.shape} {a.dtype}, {b.shape} {b.dtype}")
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = cp.ascontiguousarray(a)
    if not (b.flags.c_contiguous or b.flags.f_contiguous):
        b = cp.ascontiguousarray(b)
    m, k = a.shape
    n = b.shape[1]
    c = cp.empty((m, n), cp.float32)
    op_b, ldb = (0, n) if b.flags.c_contiguous else (1, k)
    op_a, lda = (0, k) if a.flags.c_contiguous else (1, m)
    return a, b, c, m, n, k, op_a, lda, op_b, ldb


ONE, ZERO = np.ones(1, np.float32), np.zeros(1, np.float32)


def _loaded_cublas():
    with open("/proc/self/maps") as f:
        for line in f:
            if "libcublas.so" in line and "Lt" not in line:
                return line.split()[-1]
    raise RuntimeError("libcublas is not loaded in this process")


class CtypesGemm:
    def __init__(self):
        cp.ones((2, 2), cp.float32) @ cp.ones((2, 2), cp.float32)  # CuPy loads cuBLAS, makes its handle
        self.lib = ctypes.CDLL(_loaded_cublas())
        self.lib.cublasSgemm_v2.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                            ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                            ctypes.c_void_p, ctypes.c_int]
        self.lib.cublasSetStream_v2.argtypes = [ctypes.c_void_p, ctypes.c_void_p]

    def __call__(self, a, b):
        a, b, c, m, n, k, op_a, lda, op_b, ldb = _gemm_args(a, b)
        handle = cp.cuda.device.get_cublas_handle()
        check(self.lib.cublasSetStream_v2(handle, cp.cuda.get_current_stream().ptr), "cublasSetStream")
        check(self.lib.cublasSgemm_v2(handle, op_b, op_a, n, m, k, ONE.ctypes.data, b.data.ptr, ldb,
                                      a.data.ptr, lda, ZERO.ctypes.data, c.data.ptr, n), "cublasSgemm")
        return c


class NvmathGemm:
    def __init__(self):
        from nvmath.bindings import cublas

        self.cublas = cublas
        self.handle = cublas.create()

    def __call__(self, a, b):
        a, b, c, m, n, k, op_a, lda, op_b, ldb = _gemm_args(a, b)
        self.cublas.set_stream(self.handle, cp.cuda.get_current_stream().ptr)
        self.cublas.sgemm(self.handle, op_b, op_a, n, m, k, ONE.ctypes.data, b.data.ptr, ldb,
                          a.data.ptr, lda, ZERO.ctypes.data, c.data.ptr, n)
        return c


def check(status, what):
    if status != 0:
        raise RuntimeError(f"{what} returned status {status}")


def gemm_probe(make):
    gemm = make()
    s = cp.cuda.Stream(non_blocking=True)
    rng = cp.random.default_rng(0)
    a = rng.standard_normal((257, 129), dtype=cp.float32)
    b = rng.standard_normal((129, 65), dtype=cp.float32)
    b_f = cp.asfortranarray(b)  # outside the capture: CuPy makes it with cuBLAS's geam
    out = {}
    with s:
        eager = {"nn": gemm(a, b), "tn": gemm(b.T, a.T), "nt": gemm(a, b_f)}
    s.synchronize()

    def body():
        out["nn"], out["tn"], out["nt"] = gemm(a, b), gemm(b.T, a.T), gemm(a, b_f)

    g = capture(s, body)
    for c in out.values():
        c.fill(cp.nan)
    g.launch(stream=s)
    s.synchronize()
    ref = a @ b
    return {
        "replay_equals_eager": all(bool((out[k] == eager[k]).all()) for k in out),
        "max_err_vs_cupy": float(max(float(cp.abs(out["nn"] - ref).max()), float(cp.abs(out["nt"] - ref).max()),
                                     float(cp.abs(out["tn"] - ref.T).max()))),
        "bitwise_equal_cupy": bool((out["nn"] == ref).all()),
    }


# ------------------------------------------------------------------ a gpugrad step, captured
def gpugrad_step_probe(gemm, model_kind, loss_kind, opt_kind, replays=3):
    import gpugrad as gg
    from gpugrad import nn, optim
    from gpugrad.backend import _CupyBackend

    saved = _CupyBackend.matmul
    _CupyBackend.matmul = lambda self, a, b: gemm(a, b) if a.ndim == 2 and b.ndim == 2 else saved(self, a, b)
    try:
        def build():
            gg.manual_seed(0)
            if model_kind == "mlp":
                a, b, c, d = SIZES
                model = nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(), nn.Linear(c, d))
                x = gg.randn(BATCH, a)
                n_out = d
            else:
                model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
                x = gg.randn(64, 1, 8, 8)
                n_out = 10
            model = model.to("cuda")
            y = gg.randint(0, n_out, (x.shape[0],))
            target = y if loss_kind == "ce" else nn.functional.one_hot(y, n_out).float()
            opt = (optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if opt_kind == "sgd"
                   else optim.Adam(model.parameters(), lr=1e-3))
            x, target = x.to("cuda"), target.to("cuda")

            def step():
                out = model(x)
                loss = (nn.functional.cross_entropy(out, target) if loss_kind == "ce"
                        else nn.functional.mse_loss(out, target))
                opt.zero_grad()
                loss.backward()
                opt.step()
                return loss

            return model, step

        s = cp.cuda.Stream(non_blocking=True)
        model_a, step_a = build()
        model_b, step_b = build()
        with s:
            for _ in range(3):  # warm-up on the capturing stream: kernels compiled, buffers made
                step_a()
                step_b()
        s.synchronize()
        pool = cp.cuda.MemoryPool()
        with cp.cuda.using_allocator(pool.malloc):
            g = capture(s, step_a)
        with s:
            for _ in range(replays):
                g.launch(stream=s)
                step_b()
        s.synchronize()
        pa = [p.detach().cpu().numpy() for p in model_a.parameters()]
        pb = [p.detach().cpu().numpy() for p in model_b.parameters()]
        out = {
            "replays_equal_eager_bitwise": all(np.array_equal(u, v) for u, v in zip(pa, pb)),
            "max_abs_diff": float(max(np.abs(u - v).max() for u, v in zip(pa, pb))),
            "pool_bytes": int(pool.total_bytes()),
        }
        with s:
            out["replay_ms"] = round(time_ms(lambda: g.launch(stream=s), s.synchronize, n=100), 4)
            out["eager_ms"] = round(time_ms(step_b, s.synchronize), 4)
        return out
    finally:
        _CupyBackend.matmul = saved


# ------------------------------------------------------------------ PyTorch: eager and graphed
def torch_probe():
    import torch

    a, b, c, d = SIZES
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(a, b), torch.nn.ReLU(), torch.nn.Linear(b, c), torch.nn.ReLU(),
                                torch.nn.Linear(c, d)).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    x = torch.randn(BATCH, a, device="cuda")
    y = torch.randint(0, d, (BATCH,), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    eager = time_ms(step, torch.cuda.synchronize)
    g = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(g):
        step()
    graphed = time_ms(g.replay, torch.cuda.synchronize, n=100)
    return {"torch": torch.__version__, "eager_ms": round(eager, 4), "graphed_ms": round(graphed, 4)}


def main():
    attempt("cupy_elementwise", cupy_elementwise)
    attempt("cupy_matmul", cupy_matmul)
    gemms = {}
    if attempt("ctypes_sgemm", lambda: gemm_probe(CtypesGemm)):
        gemms["ctypes"] = CtypesGemm
    try:
        import nvmath  # noqa: F401 - carried as a wheel when the image lacks it

        if attempt("nvmath_sgemm", lambda: gemm_probe(NvmathGemm)):
            gemms["nvmath"] = NvmathGemm
    except ImportError as exc:
        RESULTS["nvmath_sgemm"] = {"ok": False, "error": f"not importable: {exc}"}
        print(json.dumps({"probe": "nvmath_sgemm", **RESULTS["nvmath_sgemm"]}), flush=True)
    if not gemms:
        return
    name, make = next(iter(gemms.items()))
    gemm = make()
    for model_kind, loss_kind, opt_kind in (("mlp", "mse", "sgd"), ("mlp", "ce", "sgd"), ("mlp", "mse", "adam"),
                                            ("cnn", "mse", "sgd")):
        attempt(f"gpugrad_{model_kind}_{loss_kind}_{opt_kind}_via_{name}",
                lambda: gpugrad_step_probe(gemm, model_kind, loss_kind, opt_kind))
    attempt("torch_mlp_adam", torch_probe)


if __name__ == "__main__":
    main()
    print(json.dumps({"summary": {k: v["ok"] for k, v in RESULTS.items()}}), flush=True)
