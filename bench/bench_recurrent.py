"""Recurrent cells and layers (issue #15, fused recurrent cells) against PyTorch.

Groups:

- ``recurrent:lstm-pointwise`` (N=20, H=200, float32): one LSTM cell's pointwise forward + backward.
  Variants ``kernel-fused`` (kernels.recurrent lstm_forward + lstm_backward on arrays), ``kernel-reference``
  (the same launchers with impl="reference": the NumPy expressions), ``gpugrad-op`` (``lstm_pointwise`` on
  Tensors and its backward through the engine) and ``pytorch`` (the same formula in torch ops, autograd
  backward: what torch.lstm_cell runs on the CPU; the baseline).
- ``recurrent:lstm-<units>`` for (seq 35, batch 20, 200 units) and (seq 20, batch 10, 32 units): a 2-layer
  nn.LSTM forward + backward (random cotangent on the output). Variants ``gpugrad`` (gpugrad.nn.LSTM as
  it stands), ``gpugrad-fused-layer`` (the same stack written here on ops.recurrent.lstm_layer: one input
  GEMM per layer, then each layer's time loop as one op, per step one GEMM and the fused cell kernel) and
  ``pytorch`` (torch.nn.LSTM; the baseline).

Targets (issue #15): LSTM layers <= 1.5x PyTorch at 200 units, <= 3x at 32 units; the whole
word-language-model training step (``wlm_step``) <= 1.2x. pytest-benchmark times
one variant after another; the ratios are best read from the interleaved run, which alternates the
variants round by round::

    pytest bench/bench_recurrent.py --benchmark-only
    python bench/bench_recurrent.py [--rounds 30]      # interleaved ratios and the targets
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import DEVICE, pick, record, run  # noqa: E402

import gpugrad as gg  # noqa: E402
from gpugrad.kernels import recurrent as krec  # noqa: E402
from gpugrad.ops.recurrent import lstm_layer, lstm_pointwise  # noqa: E402

POINTWISE = pick((20, 200), (3, 5))
LAYERS = {
    "lstm-200": (pick(35, 3), pick(20, 2), pick(200, 8)),
    "lstm-32": (pick(20, 3), pick(10, 2), pick(32, 4)),
}
TARGETS = {"lstm-200": 1.5, "lstm-32": 3.0}
NUM_LAYERS = 2


# ---------------------------------------------------------------- the pointwise cell

def _pointwise_arrays():
    n, hs = POINTWISE
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 4 * hs), dtype=np.float32), rng.standard_normal((n, hs), dtype=np.float32),
            rng.standard_normal((n, hs), dtype=np.float32), rng.standard_normal((n, hs), dtype=np.float32))


def pointwise_kernel_step(impl: str, xp=np):
    gates, c_prev, gh, gc = (xp.asarray(a) for a in _pointwise_arrays())

    def step():
        _, _, ws = krec.lstm_forward(xp, gates, c_prev, impl=impl)
        krec.lstm_backward(xp, gh, gc, ws, c_prev, impl=impl)

    return step


def pointwise_op_step(device: str = "cpu"):
    gates, c_prev, gh, gc = _pointwise_arrays()
    z = gg.tensor(gates, device=device, requires_grad=True)
    cp = gg.tensor(c_prev, device=device, requires_grad=True)
    gh, gc = gg.tensor(gh, device=device), gg.tensor(gc, device=device)

    def step():
        h, c = lstm_pointwise(z, cp)
        gg.grad((h, c), (z, cp), (gh, gc))

    return step


def pointwise_torch_step(torch, device: str = "cpu"):
    gates, c_prev, gh, gc = (torch.from_numpy(a).to(device) for a in _pointwise_arrays())
    gates.requires_grad_()
    c_prev.requires_grad_()

    def step():
        i, f, g, o = gates.chunk(4, 1)
        c = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        torch.autograd.grad((h, c), (gates, c_prev), (gh, gc))

    return step


# ---------------------------------------------------------------- 2-layer LSTM

def _layer_data(case: str):
    seq, batch, units = LAYERS[case]
    rng = np.random.default_rng(1)
    return rng.standard_normal((seq, batch, units), dtype=np.float32), rng.standard_normal((seq, batch, units), dtype=np.float32)


def gpugrad_lstm_step(case: str, device: str = "cpu"):
    units = LAYERS[case][2]
    gg.manual_seed(0)
    net = gg.nn.LSTM(units, units, num_layers=NUM_LAYERS).to(device)
    xn, un = _layer_data(case)
    x, u = gg.tensor(xn, device=device), gg.tensor(un, device=device)

    def step():
        net.zero_grad()
        out, _ = net(x)
        out.backward(u)

    return step


def gpugrad_fused_layer_step(case: str, device: str = "cpu"):
    """The same 2-layer stack on ops.recurrent.lstm_layer: one input GEMM per layer (F.linear), then the
    layer's time loop as one op (per step one GEMM and the fused cell kernel, forward and backward)."""
    from gpugrad.nn import functional as F

    seq, batch, units = LAYERS[case]
    gg.manual_seed(0)
    net = gg.nn.LSTM(units, units, num_layers=NUM_LAYERS).to(device)
    xn, un = _layer_data(case)
    x, u = gg.tensor(xn, device=device), gg.tensor(un, device=device)
    zeros = gg.zeros(batch, units, device=device)

    def forward():
        layer_in = x
        for layer in range(NUM_LAYERS):
            w_ih, w_hh = getattr(net, f"weight_ih_l{layer}"), getattr(net, f"weight_hh_l{layer}")
            b_ih, b_hh = getattr(net, f"bias_ih_l{layer}"), getattr(net, f"bias_hh_l{layer}")
            layer_in, _, _ = lstm_layer(F.linear(layer_in, w_ih, b_ih + b_hh), zeros, zeros, w_hh)
        return layer_in

    def step():
        net.zero_grad()
        forward().backward(u)

    return step


def torch_lstm_step(torch, case: str, device: str = "cpu"):
    units = LAYERS[case][2]
    torch.manual_seed(0)
    net = torch.nn.LSTM(units, units, num_layers=NUM_LAYERS).to(device)
    xn, un = _layer_data(case)
    x, u = torch.from_numpy(xn).to(device), torch.from_numpy(un).to(device)

    def step():
        net.zero_grad()
        out, _ = net(x)
        out.backward(u)

    return step


def _sync(fn, device: str, torch=None):
    """fn followed by a device synchronisation on cuda, so a GPU call is timed to its end."""
    if device != "cuda":
        return fn

    def call():
        fn()
        if torch is not None:
            torch.cuda.synchronize()
        else:
            import cupy

            cupy.cuda.runtime.deviceSynchronize()

    return call


# ---------------------------------------------------------------- pytest-benchmark

@pytest.mark.parametrize("variant", ["kernel-fused", "kernel-reference", "gpugrad-op", "pytorch"])
def test_lstm_pointwise(benchmark, dev, variant, request):
    n, hs = POINTWISE
    benchmark.group = "recurrent:lstm-pointwise"
    if variant == "pytorch":
        torch = request.getfixturevalue("torch_mod")
        fn = _sync(pointwise_torch_step(torch, DEVICE), DEVICE, torch)
    elif variant == "gpugrad-op":
        fn = dev.timed(pointwise_op_step(DEVICE))
    else:
        impl = dev.kernel_impl if variant == "kernel-fused" else "reference"
        fn = dev.timed(pointwise_kernel_step(impl, dev.xp))
    # forward reads gates, c_prev, writes h, c, ws; backward reads gh, gc, ws, c_prev, writes d_gates, d_c_prev
    record(benchmark, variant, baseline=int(variant == "pytorch"), bytes=4 * n * hs * ((4 + 1 + 1 + 1 + 5) + (1 + 1 + 5 + 1 + 4 + 1)),
           roof="memory")
    run(benchmark, fn, warmup=3)


@pytest.mark.parametrize("variant", ["gpugrad", "gpugrad-fused-layer", "pytorch"])
@pytest.mark.parametrize("case", list(LAYERS))
def test_lstm_layers(benchmark, dev, case, variant, request):
    seq, batch, units = LAYERS[case]
    benchmark.group = f"recurrent:{case}"
    if variant == "pytorch":
        torch = request.getfixturevalue("torch_mod")
        fn = _sync(torch_lstm_step(torch, case, DEVICE), DEVICE, torch)
    elif variant == "gpugrad":
        fn = dev.timed(gpugrad_lstm_step(case, DEVICE))
    else:
        fn = dev.timed(gpugrad_fused_layer_step(case, DEVICE))
    # GEMM flops: per layer and step, the gate GEMMs forward (x W_ih^T, h W_hh^T) and backward (twice each).
    flops = NUM_LAYERS * seq * 3 * 2 * batch * (4 * units) * (2 * units)
    record(benchmark, variant, baseline=int(variant == "pytorch"), flops=flops, roof="compute")
    run(benchmark, fn, warmup=2)


# ---------------------------------------------------------------- the word-language-model step

WLM = pick((35, 20, 200, 10_000), (5, 2, 8, 50))  # seq, batch, units, vocabulary (the example's medium model)
WLM_TARGET = 1.2


def wlm_step(lib):
    """pytorch/examples' word_language_model training step, written once against the torch API and run
    on ``lib`` (torch or gpugrad): embedding, 2-layer LSTM, decoder, cross-entropy, backward, gradient
    clipping at 0.25, and the example's hand-written SGD update through ``p.data``."""
    seq, batch, units, vocab = WLM
    lib.manual_seed(0)
    nn = lib.nn
    encoder, rnn, decoder = nn.Embedding(vocab, units), nn.LSTM(units, units, 2, dropout=0.2), nn.Linear(units, vocab)
    params = [*encoder.parameters(), *rnn.parameters(), *decoder.parameters()]
    rng = np.random.default_rng(2)
    data = lib.tensor(rng.integers(0, vocab, (seq, batch)))
    targets = lib.tensor(rng.integers(0, vocab, seq * batch))
    hidden = (lib.zeros(2, batch, units), lib.zeros(2, batch, units))

    def step():
        for p in params:
            p.grad = None
        output, _ = rnn(encoder(data), hidden)
        loss = nn.functional.cross_entropy(decoder(output).view(-1, vocab), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.25)
        for p in params:
            p.data.add_(p.grad, alpha=-20.0)

    return step


# ---------------------------------------------------------------- interleaved ratios

def rows_against_one_row(rounds: int) -> list[str]:
    """Each CPU pointwise kernel on 64 rows of 256 units against 1 row of 64 x 256, the same element
    count: vector code in the IR is not enough, since LLVM guards it with run-time overlap checks hoisted
    out of the row loop, which fail for every N > 1 when a loop writes two blocks of one (N, kH) array (the
    loop then runs scalar, ~10x slower). A ratio near 1 says the vector code runs; over 3x that it does not."""
    from targets import interleaved

    rec, z, F32 = krec, np.zeros, np.float32

    def args(name, n, hs):
        return {
            "lstm_forward": (rec._lstm_forward_cpu, (z((n, 4 * hs), F32), z((n, hs), F32), z((n, hs), F32),
                                                     z((n, hs), F32), z((n, 5 * hs), F32))),
            "lstm_backward": (rec._lstm_backward_cpu, (z((n, hs), F32), z((n, hs), F32), z((n, 5 * hs), F32),
                                                       z((n, hs), F32), z((n, 4 * hs), F32), z((n, hs), F32))),
            "gru_forward": (rec._gru_forward_cpu, (z((n, 3 * hs), F32), z((n, 3 * hs), F32), z((n, hs), F32),
                                                   z((n, hs), F32), z((n, 4 * hs), F32))),
            "gru_backward": (rec._gru_backward_cpu, (z((n, hs), F32), z((n, 4 * hs), F32), z((n, hs), F32),
                                                     z((n, 3 * hs), F32), z((n, 3 * hs), F32), z((n, hs), F32))),
        }[name]

    lines = []
    for name in ("lstm_forward", "lstm_backward", "gru_forward", "gru_backward"):
        kernel, one = args(name, 1, 64 * 256)
        many = args(name, 64, 256)[1]
        # the serial build (first argument 0), as launched below PARALLEL_MIN_WORK
        res = interleaved({"one": lambda: kernel(0, *one), "many": lambda: kernel(0, *many)}, rounds, warmup=3)
        ratio = res["many"][0] / res["one"][0]
        lines.append(f"{name} CPU kernel, 64 rows x 256 against 1 row x 16384: {res['many'][0] * 1e6:.1f} against "
                     f"{res['one'][0] * 1e6:.1f} us ({ratio:.2f}x) -> {'vector code runs' if ratio < 3 else 'RUNS SCALAR'}")
    return lines


def main(argv=None) -> int:
    import torch
    from targets import interleaved

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args(argv)
    lines = rows_against_one_row(args.rounds)
    fns = {"kernel-fused": pointwise_kernel_step("cpu"), "kernel-reference": pointwise_kernel_step("reference"),
           "gpugrad-op": pointwise_op_step(), "pytorch": pointwise_torch_step(torch)}
    res = interleaved(fns, args.rounds * 10, warmup=5)
    t = res["pytorch"][0]
    lines.append(f"lstm pointwise fwd+bwd N,H={POINTWISE} (min of {args.rounds * 10} interleaved rounds): " + "; ".join(
        f"{k} {v[0] * 1e6:.1f} us ({v[0] / t:.2f}x pytorch)" for k, v in res.items()))
    for case, (seq, batch, units) in LAYERS.items():
        fns = {"gpugrad": gpugrad_lstm_step(case), "gpugrad-fused-layer": gpugrad_fused_layer_step(case),
               "pytorch": torch_lstm_step(torch, case)}
        res = interleaved(fns, args.rounds)
        t = res["pytorch"][0]
        parts = [f"{k} {v[0] * 1e3:.2f} ms min / {v[1] * 1e3:.2f} ms median ({v[0] / t:.2f}x)" for k, v in res.items()]
        target = TARGETS[case]
        verdict = "; ".join(f"{k} {'MET' if res[k][0] / t <= target else 'MISSED'}" for k in ("gpugrad", "gpugrad-fused-layer"))
        lines.append(f"2-layer LSTM seq {seq} batch {batch} units {units} fwd+bwd (min of {args.rounds} interleaved rounds): "
                     + "; ".join(parts) + f" -> target <= {target}x PyTorch: {verdict}")
    res = interleaved({"gpugrad": wlm_step(gg), "pytorch": wlm_step(torch)}, args.rounds)
    ratio = res["gpugrad"][0] / res["pytorch"][0]
    lines.append(f"word_language_model step seq,batch,units,vocab={WLM} (min of {args.rounds} interleaved rounds): "
                 f"gpugrad {res['gpugrad'][0] * 1e3:.1f} ms, pytorch {res['pytorch'][0] * 1e3:.1f} ms: {ratio:.2f}x "
                 f"-> target <= {WLM_TARGET}x PyTorch: {'MET' if ratio <= WLM_TARGET else 'MISSED'}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
