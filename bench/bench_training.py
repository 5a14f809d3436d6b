"""Training steps: forward + cross-entropy + backward + Adam step, on one fixed batch.

Groups ``train:<model>``:

- ``mlp-16-32-32-10`` batch 4: nothing but per-op host cost.
- ``mlp-64-128-10`` batch 64: overhead-bound (tiny GEMMs; the framework's per-op cost dominates).
- ``mlp-784-1024-1024-10`` batch 256 and ``mlp-1024-4096-1000`` batch 512: compute-bound (GEMMs).
- ``cnn-digits`` batch 64: gpugrad/train.py's ``build_model("cnn", (1, 8, 8), 10)``.

Variants: ``gpugrad`` (nn.Sequential, which fuses Linear + ReLU; optim.Adam, fused), ``pytorch`` (same
architecture and initialisation scheme, torch.optim.Adam defaults, thread count as PyTorch sets it; the
baseline) and, for the MLPs, ``numpy-floor``: a hand-written NumPy MLP with no autograd, every buffer
preallocated and an in-place Adam over one flat buffer, the floor a NumPy backend can reach (CuPy on
cuda). Each row carries the step's GEMM flops (2 per multiply-add: forward, weight gradient, input
gradient except for the first layer's input), so the runner reports the fraction of the measured GEMM
rate::

    gpugrad bench training
"""
from __future__ import annotations

import math
from itertools import pairwise

# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import numpy as np
import pytest
from conftest import pick, record, run

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.train import build_model

MLPS = {
    "mlp-16-32-32-10": ((16, 32, 32, 10), 4),  # pure host overhead (issue: the op hot path)
    "mlp-64-128-10": ((64, 128, 10), pick(64, 8)),
    "mlp-784-1024-1024-10": (pick((784, 1024, 1024, 10), (784, 32, 32, 10)), pick(256, 8)),
    "mlp-1024-4096-1000": (pick((1024, 4096, 1000), (64, 128, 100)), pick(512, 8)),
}
CNN_BATCH = pick(64, 8)
MODELS = list(MLPS) + ["cnn-digits"]


def mlp_flops(sizes, batch) -> float:
    total = 0.0
    for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        macs = batch * fan_in * fan_out
        total += 2 * macs * (2 if i == 0 else 3)  # forward, weight grad, input grad (not for the data)
    return total


def cnn_flops(batch) -> float:
    # conv as GEMM: (C_out, C_in*k*k) x (C_in*k*k, N*H*W); the first conv needs no input gradient.
    layers = [(1, 16, 8 * 8, True), (16, 32, 4 * 4, False)]
    total = 0.0
    for cin, cout, hw, first in layers:
        macs = batch * cout * cin * 9 * hw
        total += 2 * macs * (2 if first else 3)
    for fan_in, fan_out in ((32 * 2 * 2, 64), (64, 10)):
        total += 2 * batch * fan_in * fan_out * 3
    return total


def _data(in_shape, batch, classes, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *in_shape), dtype=np.float32)
    y = rng.integers(0, classes, batch)
    return x, y


def _case(model):
    if model == "cnn-digits":
        return (1, 8, 8), 10, CNN_BATCH, cnn_flops(CNN_BATCH)
    sizes, batch = MLPS[model]
    return (sizes[0],), sizes[-1], batch, mlp_flops(sizes, batch)


def _tag(benchmark, model, impl, baseline=0):
    _, _, batch, flops = _case(model)
    benchmark.group = f"train:{model}"
    record(benchmark, impl, baseline=baseline, flops=flops, roof="compute", batch=batch)


def gpugrad_step(model: str, device: str = "cpu", capturable: bool = False):
    """The gpugrad training step for ``model`` on one fixed batch (also used by bench/profile_step.py and,
    with Adam's ``capturable=True``, by bench/gpu_graph_step.py)."""
    in_shape, classes, batch, _ = _case(model)
    gg.manual_seed(0)
    if model == "cnn-digits":
        net = build_model("cnn", in_shape, classes)
    else:
        sizes = MLPS[model][0]
        layers = []
        for i, (a, b) in enumerate(pairwise(sizes)):
            layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
        net = nn.Sequential(*layers)
    net = net.to(device)
    opt = optim.Adam(net.parameters(), lr=1e-3, capturable=capturable)
    xn, yn = _data(in_shape, batch, classes)
    x, y = gg.tensor(xn, device=device), gg.tensor(yn, device=device)

    def step():
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


@pytest.mark.parametrize("model", MODELS)
def test_gpugrad(benchmark, dev, model):
    _tag(benchmark, model, "gpugrad")
    run(benchmark, dev.timed(gpugrad_step(model, dev.name)), warmup=2)


def pytorch_step(torch, model: str, device: str = "cpu", capturable: bool = False):
    """The same step in PyTorch: same architecture, torch.optim.Adam defaults (``capturable`` as given;
    then the step does not synchronise, so that it can be captured)."""
    tnn = torch.nn
    in_shape, classes, batch, _ = _case(model)
    torch.manual_seed(0)
    if model == "cnn-digits":
        net = tnn.Sequential(
            tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Flatten(), tnn.Linear(32 * 2 * 2, 64), tnn.ReLU(), tnn.Linear(64, classes),
        )
    else:
        sizes = MLPS[model][0]
        layers = []
        for i, (a, b) in enumerate(pairwise(sizes)):
            layers += [tnn.Linear(a, b)] + ([tnn.ReLU()] if i < len(sizes) - 2 else [])
        net = tnn.Sequential(*layers)
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, capturable=capturable)
    xn, yn = _data(in_shape, batch, classes)
    x, y = torch.from_numpy(xn).to(device), torch.from_numpy(yn).to(device)

    def step():
        loss = tnn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device == "cuda" and not capturable:
            torch.cuda.synchronize()

    return step


@pytest.mark.parametrize("model", MODELS)
def test_pytorch(benchmark, dev, torch_mod, model):
    _tag(benchmark, model, "pytorch", baseline=1)
    run(benchmark, pytorch_step(torch_mod, model, dev.name), warmup=2)


class NumpyMLP:
    """ReLU MLP + softmax cross-entropy + Adam, by hand: no autograd, no allocation in the step except a
    few per-row scalars, and Adam as in-place passes over one flat parameter buffer.

    Weights are stored (in, out) so both GEMMs of a layer run on contiguous operands or their
    transposes, which BLAS takes without copying."""

    def __init__(self, xp, sizes, batch, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, seed=0):
        f32 = np.float32
        self.xp, self.lr, self.b1, self.b2, self.eps, self.t = xp, lr, betas[0], betas[1], eps, 0
        shapes = []
        for a, b in pairwise(sizes):
            shapes += [(a, b), (b,)]
        total = sum(math.prod(s) for s in shapes)
        rng = np.random.default_rng(seed)
        host = np.empty(total, dtype=f32)
        self.p, self.g = xp.empty(total, dtype=f32), xp.zeros(total, dtype=f32)
        self.m, self.v, self.tmp = (xp.zeros(total, dtype=f32) for _ in range(3))
        self.params, self.grads, off = [], [], 0
        for s in shapes:
            n = math.prod(s)
            bound = 1 / math.sqrt(s[0]) if len(s) == 2 else 0.05
            host[off:off + n] = rng.uniform(-bound, bound, n)
            self.params.append(self.p[off:off + n].reshape(s))
            self.grads.append(self.g[off:off + n].reshape(s))
            off += n
        self.p[...] = xp.asarray(host)
        self.W, self.b = self.params[0::2], self.params[1::2]
        self.gW, self.gb = self.grads[0::2], self.grads[1::2]
        self.z = [xp.empty((batch, b), dtype=f32) for b in sizes[1:]]   # activations (ReLU in place)
        self.dz = [xp.empty((batch, b), dtype=f32) for b in sizes[1:]]  # gradients w.r.t. pre-activations
        self.mask = [xp.empty((batch, b), dtype=bool) for b in sizes[1:-1]]
        self.row = xp.empty((batch, 1), dtype=f32)
        self.rows = xp.arange(batch)

    def step(self, x, y):
        xp = self.xp
        h, last = x, len(self.W) - 1
        for i, (W, b, z) in enumerate(zip(self.W, self.b, self.z)):
            xp.matmul(h, W, out=z)
            z += b
            if i < last:
                xp.maximum(z, 0, out=z)
            h = z
        # softmax cross-entropy: dz = (softmax(logits) - onehot) / N, written into dz[-1]
        d = self.dz[-1]
        n = d.shape[0]
        self.z[-1].max(axis=1, keepdims=True, out=self.row)
        xp.subtract(self.z[-1], self.row, out=d)
        xp.exp(d, out=d)
        d.sum(axis=1, keepdims=True, out=self.row)
        d /= self.row
        loss = -xp.log(d[self.rows, y]).mean()
        d[self.rows, y] -= 1
        d *= 1.0 / n
        for i in range(last, -1, -1):
            h_prev = x if i == 0 else self.z[i - 1]
            xp.matmul(h_prev.T, self.dz[i], out=self.gW[i])
            self.dz[i].sum(axis=0, out=self.gb[i])
            if i > 0:
                xp.matmul(self.dz[i], self.W[i].T, out=self.dz[i - 1])
                xp.greater(h_prev, 0, out=self.mask[i - 1])
                self.dz[i - 1] *= self.mask[i - 1]
        self._adam()
        return loss

    def _adam(self):
        xp, g, m, v, tmp = self.xp, self.g, self.m, self.v, self.tmp
        self.t += 1
        bc1, bc2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        m *= self.b1
        xp.multiply(g, 1 - self.b1, out=tmp)
        m += tmp
        v *= self.b2
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - self.b2
        v += tmp
        xp.sqrt(v, out=tmp)
        tmp *= 1 / math.sqrt(bc2)
        tmp += self.eps
        xp.divide(m, tmp, out=tmp)
        tmp *= self.lr / bc1
        self.p -= tmp


def numpy_step(model: str, xp=np):
    """The hand-written NumPy (or CuPy) floor's step for an MLP ``model``."""
    sizes, batch = MLPS[model]
    net = NumpyMLP(xp, sizes, batch)
    xn, yn = _data((sizes[0],), batch, sizes[-1])
    x, y = xp.asarray(xn), xp.asarray(yn)
    return lambda: net.step(x, y)


@pytest.mark.parametrize("model", list(MLPS))
def test_numpy_floor(benchmark, dev, model):
    _tag(benchmark, model, "numpy-floor" if dev.xp is np else "cupy-floor", baseline=2)
    run(benchmark, dev.timed(numpy_step(model, dev.xp)), warmup=2)
