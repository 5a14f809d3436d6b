"""The fused kernels beside PyTorch, the activations bench_fused_kernels.py leaves out, the tiled matmul,
and the host cost of one launch (part of ``gpugrad bench kernels``, with bench_fused_kernels.py)::

    gpugrad bench kernels                      # CPU: Numba kernels, NumPy references, PyTorch's CPU ops
    gpugrad bench kernels --device cuda        # GPU: CUDA kernels, CuPy references, PyTorch on cuda

Groups:

- ``kernel:<kernel>:<n>`` (bench_fused_kernels.py's groups, same inputs): a ``pytorch`` variant, the op
  PyTorch runs for the same work (F.gelu, aten.threshold_backward, cross_entropy forward and backward,
  the fused/foreach optimizers, unfold/fold, max_pool2d), at the largest size. The baseline stays the
  reference.
- ``kernel:activation.<forward|backward>[<name>]:<n>``: the activations bench_fused_kernels.py does not
  time (it has relu and gelu), fused / reference / pytorch.
- ``kernel:linear.matmul_bias_act[gelu]:<s>^2``: the tiled shared-memory matmul with the bias + gelu
  epilogue (BLAS + the epilogue kernel on the CPU) against the reference and PyTorch's addmm + gelu.
- ``launch:relu:<n>``: host time per call on 1 and 1024 elements, unsynchronised (what Python spends to
  queue the work): the launcher, on cuda ``launch()`` alone on the direct path and on numba-cuda's own,
  the array module's maximum (the baseline) and torch.relu.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from bench_fused_kernels import COLS, KERNELS, SIZES, _image, _label, _rand, _rows
from conftest import DEVICE, pick, record, run, torch_sync

from gpugrad.kernels import _launch, activation, linear

LARGEST = SIZES[-1]
ACT_SIZES = pick([1_000_000, 10_000_000], [4_096])
OTHER_ACTIVATIONS = [n for n in activation.KINDS if n not in ("relu", "gelu")]
MATMUL_SIZES = pick([512, 1024, 2048], [64])
LAUNCH_SIZES = [1, 1024]
PARAM = {"leaky_relu": 0.01, "elu": 1.0, "celu": 1.0}  # PyTorch's defaults (alpha, negative_slope)


def _torch_device(torch):
    return torch.device("cuda" if DEVICE == "cuda" else "cpu")


def _t(torch, xp_array):
    """A PyTorch copy of an array of the device under test (on the same device)."""
    if DEVICE == "cuda":
        return torch.from_dlpack(xp_array).clone()
    return torch.from_numpy(np.ascontiguousarray(xp_array)).clone()


def _torch_activation(torch, name):
    F = torch.nn.functional
    fwd = {"relu": F.relu, "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "sigmoid": torch.sigmoid,
           "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
           "silu": F.silu, "softplus": F.softplus, "elu": F.elu, "selu": F.selu, "celu": F.celu,
           "hardswish": F.hardswish, "mish": F.mish}
    aten = torch.ops.aten
    # The single backward kernels autograd itself runs.
    bwd = {"relu": lambda g, y: aten.threshold_backward(g, y, 0),
           "leaky_relu": lambda g, x: aten.leaky_relu_backward(g, x, 0.01, False),
           "sigmoid": aten.sigmoid_backward, "tanh": aten.tanh_backward,
           "gelu": lambda g, x: aten.gelu_backward(g, x, approximate="none"),
           "gelu_tanh": lambda g, x: aten.gelu_backward(g, x, approximate="tanh"),
           "silu": aten.silu_backward, "softplus": lambda g, x: aten.softplus_backward(g, x, 1.0, 20.0),
           "hardswish": aten.hardswish_backward, "mish": aten.mish_backward,
           "elu": lambda g, x: aten.elu_backward(g, 1.0, 1.0, 1.0, False, x),
           "celu": lambda g, x: aten.elu_backward(g, 1.0, 1.0, 1.0, False, x),
           "selu": lambda g, x: aten.elu_backward(g, 1.6732632423543772, 1.0507009873554805, 1.0, False, x)}
    return fwd.get(name), bwd.get(name)


# ---------------------------------------------------------------- PyTorch beside bench_fused_kernels

def _torch_case(torch, kernel, xp, n):
    """A call doing in PyTorch what KERNELS[kernel] does, on the same inputs' shapes, or None."""
    F = torch.nn.functional
    aten = torch.ops.aten
    dev = _torch_device(torch)
    t = lambda a: _t(torch, a)  # noqa: E731
    if kernel.startswith("activation."):
        name = kernel[kernel.index("[") + 1:-1]
        fwd, bwd = _torch_activation(torch, name)
        x, s = t(_rand(xp, n, 0)), t(_rand(xp, n, 1))
        return (lambda: fwd(x)) if kernel.startswith("activation.forward") else (lambda: bwd(x, s))
    if kernel == "linear.bias_act_forward[relu]":
        z, b = t(_rand(xp, (_rows(n), COLS), 0)), t(_rand(xp, COLS, 1))
        return lambda: F.relu(z + b)
    if kernel == "linear.bias_act_backward[relu]":
        gy, y = t(_rand(xp, (_rows(n), COLS), 0)), t(_rand(xp, (_rows(n), COLS), 1, 0.0, 2.0))

        def bias_act_backward():
            gz = aten.threshold_backward(gy, y, 0)
            return gz, gz.sum(0)
        return bias_act_backward
    if kernel == "softmax_cross_entropy":
        logits = t(_rand(xp, (_rows(n), COLS), 0)).requires_grad_(True)
        target = torch.as_tensor(np.random.default_rng(1).integers(0, COLS, _rows(n)), device=dev)
        ones = torch.ones(_rows(n), device=dev)
        return lambda: torch.autograd.grad(F.cross_entropy(logits, target, reduction="none"), logits, ones)
    if kernel.startswith("optim."):
        if kernel == "optim.sum_of_squares":
            g = t(_rand(xp, n, 0))
            return lambda: torch._foreach_norm([g])[0] ** 2
        p = torch.nn.Parameter(t(_rand(xp, n, 0, -0.1, 0.1)))
        p.grad = t(_rand(xp, n, 1, -0.1, 0.1))
        flag = {"fused": True} if DEVICE == "cuda" and kernel in ("optim.adam", "optim.sgd[momentum]") else {"foreach": True}
        make = {"optim.sgd[momentum]": lambda: torch.optim.SGD([p], lr=1e-3, momentum=0.9, **flag),
                "optim.adam": lambda: torch.optim.Adam([p], lr=1e-3, **flag),
                "optim.rmsprop": lambda: torch.optim.RMSprop([p], lr=1e-3, alpha=0.99, eps=1e-8, **flag),
                "optim.adagrad": lambda: torch.optim.Adagrad([p], lr=1e-3, **flag)}[kernel]
        try:
            opt = make()
            opt.step()
        except (RuntimeError, TypeError) as exc:
            pytest.skip(f"torch {kernel} {flag} unavailable on {DEVICE}: {exc}")
        return opt.step
    x = t(_image(xp, n, 0))
    if kernel == "conv.im2col[3x3]":
        return lambda: F.unfold(x, 3, padding=1)
    if kernel == "conv.col2im[3x3]":
        cols = F.unfold(x, 3, padding=1)
        return lambda: F.fold(cols, x.shape[2:], 3, padding=1)
    if kernel == "pool.max_pool2d[2x2]":
        return lambda: F.max_pool2d(x, 2, return_indices=True)
    if kernel == "pool.max_pool2d_backward[2x2]":
        y, index = F.max_pool2d(x, 2, return_indices=True)
        return lambda: aten.max_pool2d_with_indices_backward(y, x, [2, 2], [2, 2], [0, 0], [1, 1], False, index)
    return None


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_kernel_pytorch(benchmark, dev, torch_mod, kernel):
    torch, n = torch_mod, LARGEST
    _, nbytes, flops, elems = KERNELS[kernel](dev.xp, n)
    call = _torch_case(torch, kernel, dev.xp, n)
    if call is None:
        pytest.skip(f"no PyTorch equivalent written for {kernel}")
    benchmark.group = f"kernel:{kernel}:{_label(n)}"
    record(benchmark, "pytorch", bytes=nbytes, flops=flops, roof="memory", elements=elems)

    def step():
        call()
        torch_sync(torch)

    run(benchmark, step)


# ---------------------------------------------------------------- the other activations

@pytest.mark.parametrize("n", ACT_SIZES, ids=_label)
@pytest.mark.parametrize("name", OTHER_ACTIVATIONS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("impl", ["fused", "reference", "pytorch"])
def test_activation(benchmark, dev, request, impl, direction, name, n):
    xp = dev.xp
    param = PARAM.get(name, 0.0)
    x, s, out = _rand(xp, n, 0), _rand(xp, n, 1), xp.empty(n, dtype=np.float32)
    benchmark.group = f"kernel:activation.{direction}[{name}]:{_label(n)}"
    nbytes = (8 if direction == "forward" else 12) * n
    record(benchmark, impl, baseline=1 if impl == "reference" else 0, bytes=nbytes, roof="memory", elements=n)
    if impl == "pytorch":
        torch = request.getfixturevalue("torch_mod")
        fwd, bwd = _torch_activation(torch, name)
        if (fwd if direction == "forward" else bwd) is None:
            pytest.skip(f"no PyTorch {direction} written for {name}")
        tx, ts = _t(torch, x), _t(torch, s)
        call = (lambda: fwd(tx)) if direction == "forward" else (lambda: bwd(tx, ts))

        def step():
            call()
            torch_sync(torch)

        run(benchmark, step)
        return
    which = dev.kernel_impl if impl == "fused" else "reference"
    if direction == "forward":
        fn = lambda: activation.forward(xp, name, x, param, out=out, impl=which)  # noqa: E731
    else:
        fn = lambda: activation.backward(xp, name, x, s, param, out=out, impl=which)  # noqa: E731
    run(benchmark, dev.timed(fn))


# ---------------------------------------------------------------- the tiled matmul

@pytest.mark.parametrize("s", MATMUL_SIZES, ids=lambda s: f"{s}^2")
@pytest.mark.parametrize("impl", ["fused", "reference", "pytorch"])
def test_matmul_bias_act(benchmark, dev, request, impl, s):
    xp = dev.xp
    a, b, bias = _rand(xp, (s, s), 0), _rand(xp, (s, s), 1, -1 / math.sqrt(s), 1 / math.sqrt(s)), _rand(xp, s, 2)
    benchmark.group = f"kernel:linear.matmul_bias_act[gelu]:{s}^2"
    record(benchmark, impl, baseline=1 if impl == "reference" else 0, flops=2.0 * s**3, roof="compute")
    if impl == "pytorch":
        torch = request.getfixturevalue("torch_mod")
        ta, tb, tbias = _t(torch, a), _t(torch, b), _t(torch, bias)

        def step():
            torch.nn.functional.gelu(torch.addmm(tbias, ta, tb))
            torch_sync(torch)

        run(benchmark, step)
        return
    which = dev.kernel_impl if impl == "fused" else "reference"
    run(benchmark, dev.timed(lambda: linear.matmul_bias_act(xp, a, b, bias, "gelu", impl=which)))


# ---------------------------------------------------------------- launch cost

@pytest.mark.parametrize("n", LAUNCH_SIZES)
@pytest.mark.parametrize("impl", ["fused", "launch-direct", "launch-numba", "xp.maximum", "pytorch"])
def test_launch_host_cost(benchmark, dev, request, impl, n):
    """Host time per call, no synchronisation: on a GPU the cost of queueing one relu (the kernels run
    behind it). ``fused`` is the launcher (checks, then launch); ``launch-*`` is launch() alone on each
    path (cuda only); the baseline is the array module's own maximum."""
    xp = dev.xp
    x, y = _rand(xp, n, 0), xp.empty(n, dtype=np.float32)
    benchmark.group = f"launch:relu:{n}"
    record(benchmark, impl, baseline=1 if impl == "xp.maximum" else 0, elements=n)
    if impl == "pytorch":
        torch = request.getfixturevalue("torch_mod")
        tx = _t(torch, x)
        fn = lambda: torch.relu(tx)  # noqa: E731
    elif impl == "xp.maximum":
        fn = lambda: xp.maximum(x, 0, out=y)  # noqa: E731
    elif impl == "fused":
        fn = lambda: activation.forward(xp, "relu", x, out=y, impl=dev.kernel_impl)  # noqa: E731
    else:
        if DEVICE != "cuda":
            pytest.skip("launch() alone is the CUDA launch path")
        kern = activation._cuda_kernel("forward", np.dtype(np.float32))
        stream, code, p = _launch.cuda_stream(xp), activation.CODES["relu"], np.float32(0)
        direct = impl == "launch-direct"
        launch = _launch.launch

        def fn():
            saved, _launch.DIRECT_LAUNCH = _launch.DIRECT_LAUNCH, direct
            try:
                launch(kern, n, 256, stream, code, x, y, p, per_thread=activation.FORWARD_UNROLL)
            finally:
                _launch.DIRECT_LAUNCH = saved
        record(benchmark, impl, baseline=0, elements=n, launch_path=_launch.launch_path() if direct else "numba")
    run(benchmark, fn, warmup=pick(50, 1))
