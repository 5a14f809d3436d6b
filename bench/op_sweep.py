"""Every-op sweep: forward + backward of a dense upstream gradient beside PyTorch, float32, at working
sizes, for 140 ops and losses; the rows sorted by ratio show where the next gap is (issue
"Kernels at the machine's limit": every op at or ahead of PyTorch). Rounds alternate the two libraries
(``targets.interleaved``); the figure is each side's minimum::

    python bench/op_sweep.py                   # every row, a few minutes on 2 cores
    python bench/op_sweep.py log1p cdist       # some rows
    python bench/op_sweep.py --rounds 9 --top 20
    python bench/op_sweep.py --errors          # exactness instead: float32 errors beside PyTorch's

bench/targets.py holds the issue's own rows; this sweep is the wide net around them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import interleaved

import gpugrad as gg
import gpugrad.nn.functional as F

_rng = np.random.default_rng(0)
SQUARE = _rng.standard_normal((2048, 2048), dtype=np.float32)
POSITIVE = _rng.uniform(0.5, 2.0, (2048, 2048)).astype(np.float32)
UNIT = _rng.uniform(-0.9, 0.9, (2048, 2048)).astype(np.float32)
HEADS = _rng.standard_normal((8, 8, 256, 64), dtype=np.float32)  # (batch, heads, tokens, head dim)
IMAGES = _rng.standard_normal((32, 64, 32, 32), dtype=np.float32)
TOKENS = _rng.standard_normal((16, 256, 512), dtype=np.float32)
IDS = _rng.integers(0, 2048, 4096)
BAGS = _rng.integers(0, 2048, (512, 20))  # embedding_bag's ids: 512 bags of 20 rows
CAUSAL = np.triu(np.ones((2048, 2048), bool), 1)  # True above the diagonal: masked
_CONSTANTS: dict = {}


def _const(L, array):
    """``array`` as a tensor of library ``L``, made once: a row's other operand, which needs no gradient."""
    key = (L.__name__, id(array))
    if key not in _CONSTANTS:
        _CONSTANTS[key] = L.tensor(array)
    return _CONSTANTS[key]


# name: (op(functional module, library, input tensor), input array)
OPS = {
    "sqrt": (lambda m, L, a: a.sqrt(), POSITIVE), "rsqrt": (lambda m, L, a: a.rsqrt(), POSITIVE),
    "reciprocal": (lambda m, L, a: a.reciprocal(), POSITIVE), "exp": (lambda m, L, a: a.exp(), SQUARE),
    "log": (lambda m, L, a: a.log(), POSITIVE), "expm1": (lambda m, L, a: a.expm1(), SQUARE),
    "log1p": (lambda m, L, a: a.log1p(), POSITIVE), "exp2": (lambda m, L, a: a.exp2(), SQUARE),
    "log2": (lambda m, L, a: a.log2(), POSITIVE), "log10": (lambda m, L, a: a.log10(), POSITIVE),
    "sin": (lambda m, L, a: a.sin(), SQUARE), "cos": (lambda m, L, a: a.cos(), SQUARE),
    "tan": (lambda m, L, a: a.tan(), UNIT), "atan": (lambda m, L, a: a.atan(), SQUARE),
    "asin": (lambda m, L, a: a.asin(), UNIT), "acos": (lambda m, L, a: a.acos(), UNIT),
    "sinh": (lambda m, L, a: a.sinh(), SQUARE), "cosh": (lambda m, L, a: a.cosh(), SQUARE),
    "tanh": (lambda m, L, a: a.tanh(), SQUARE), "asinh": (lambda m, L, a: a.asinh(), SQUARE),
    "atanh": (lambda m, L, a: a.atanh(), UNIT), "erf": (lambda m, L, a: a.erf(), SQUARE),
    "erfc": (lambda m, L, a: a.erfc(), SQUARE), "erfinv": (lambda m, L, a: a.erfinv(), UNIT),
    "lgamma": (lambda m, L, a: a.lgamma(), POSITIVE), "digamma": (lambda m, L, a: a.digamma(), POSITIVE),
    "x ** 2": (lambda m, L, a: a ** 2, SQUARE), "x ** 3": (lambda m, L, a: a ** 3, SQUARE),
    "x ** 0.5": (lambda m, L, a: a ** 0.5, POSITIVE), "x ** x": (lambda m, L, a: a ** a, POSITIVE),
    "abs": (lambda m, L, a: a.abs(), SQUARE), "neg": (lambda m, L, a: -a, SQUARE),
    "x - 1.5": (lambda m, L, a: a - 1.5, SQUARE), "x * 1.5": (lambda m, L, a: a * 1.5, SQUARE),
    "1.5 / x": (lambda m, L, a: 1.5 / a, POSITIVE), "clamp": (lambda m, L, a: a.clamp(-0.5, 0.5), SQUARE),
    "addcmul": (lambda m, L, a: a.addcmul(a, a), SQUARE), "lerp": (lambda m, L, a: a.lerp(a * 2, 0.3), SQUARE),
    "sigmoid": (lambda m, L, a: a.sigmoid(), SQUARE), "relu": (lambda m, L, a: m.relu(a), SQUARE),
    "gelu": (lambda m, L, a: m.gelu(a), SQUARE), "silu": (lambda m, L, a: m.silu(a), SQUARE),
    "mish": (lambda m, L, a: m.mish(a), SQUARE), "softplus": (lambda m, L, a: m.softplus(a), SQUARE),
    "elu": (lambda m, L, a: m.elu(a), SQUARE), "selu": (lambda m, L, a: m.selu(a), SQUARE),
    "celu": (lambda m, L, a: m.celu(a), SQUARE), "leaky_relu": (lambda m, L, a: m.leaky_relu(a), SQUARE),
    "hardtanh": (lambda m, L, a: m.hardtanh(a), SQUARE), "relu6": (lambda m, L, a: m.relu6(a), SQUARE),
    "hardsigmoid": (lambda m, L, a: m.hardsigmoid(a), SQUARE), "hardswish": (lambda m, L, a: m.hardswish(a), SQUARE),
    "softshrink": (lambda m, L, a: m.softshrink(a), SQUARE), "softsign": (lambda m, L, a: m.softsign(a), SQUARE),
    "tanhshrink": (lambda m, L, a: m.tanhshrink(a), SQUARE), "logsigmoid": (lambda m, L, a: m.logsigmoid(a), SQUARE),
    "glu": (lambda m, L, a: m.glu(a, -1), SQUARE),
    "sum(dim=1)": (lambda m, L, a: a.sum(1), SQUARE), "sum(dim=0)": (lambda m, L, a: a.sum(0), SQUARE),
    "mean(dim=1)": (lambda m, L, a: a.mean(1), SQUARE), "mean(dim=0)": (lambda m, L, a: a.mean(0), SQUARE),
    "std(dim=0)": (lambda m, L, a: a.std(0), SQUARE),
    "x + (2048,) row": (lambda m, L, a: _const(L, SQUARE) + a, SQUARE[0]),  # the row's gradient: a sum over dim 0
    "var(dim=1)": (lambda m, L, a: a.var(1), SQUARE),
    "std(dim=1)": (lambda m, L, a: a.std(1), SQUARE), "norm(dim=1)": (lambda m, L, a: a.norm(dim=1), SQUARE),
    "amax(dim=1)": (lambda m, L, a: a.amax(1), SQUARE), "prod(dim=1)": (lambda m, L, a: a.prod(1), POSITIVE[:, :64]),
    "logsumexp(dim=1)": (lambda m, L, a: a.logsumexp(1), SQUARE), "cumsum(dim=1)": (lambda m, L, a: a.cumsum(1), SQUARE),
    "softmax(dim=0)": (lambda m, L, a: a.softmax(0), SQUARE), "log_softmax(dim=1)": (lambda m, L, a: a.log_softmax(1), SQUARE),
    "softmax(dim=1), images": (lambda m, L, a: a.softmax(1), IMAGES),  # over the channels: a dim not last
    # a causal mask's -inf (exp's underflow to 0 once cost a microcode assist per element: bench/NOTES.md)
    "softmax, causal mask": (lambda m, L, a: a.masked_fill(_const(L, CAUSAL), float("-inf")).softmax(-1), SQUARE),
    "normalize": (lambda m, L, a: m.normalize(a, dim=1), SQUARE),
    "cosine_similarity": (lambda m, L, a: m.cosine_similarity(a, a * 0.5 + 1, dim=1), SQUARE),
    "cdist": (lambda m, L, a: L.cdist(a[:512, :64], a[512:1024, :64]), SQUARE),
    "dropout": (lambda m, L, a: m.dropout(a, 0.1), SQUARE),
    "mse_loss": (lambda m, L, a: m.mse_loss(a, a * 0.5), SQUARE), "l1_loss": (lambda m, L, a: m.l1_loss(a, a * 0.5), SQUARE),
    "smooth_l1_loss": (lambda m, L, a: m.smooth_l1_loss(a, a * 0.5), SQUARE),
    "huber_loss": (lambda m, L, a: m.huber_loss(a, a * 0.5), SQUARE),
    "bce_with_logits": (lambda m, L, a: m.binary_cross_entropy_with_logits(a, (a > 0).float()), SQUARE),
    "cross_entropy": (lambda m, L, a: m.cross_entropy(a, L.tensor(IDS[:2048])), SQUARE),
    "kl_div": (lambda m, L, a: m.kl_div(a.log_softmax(1), (a * 0.5).softmax(1), reduction="batchmean"), SQUARE),
    "t().contiguous()": (lambda m, L, a: a.t().contiguous(), SQUARE),
    "permute(0, 2, 1).contiguous()": (lambda m, L, a: a.permute(0, 2, 1).contiguous(), TOKENS),
    "cat(dim=1)": (lambda m, L, a: L.cat([a, a * 1.0], 1), SQUARE), "stack": (lambda m, L, a: L.stack([a, a * 1.0], 0), SQUARE),
    "index_select": (lambda m, L, a: a.index_select(0, L.tensor(IDS)), SQUARE),
    "x[ids]": (lambda m, L, a: a[L.tensor(IDS)], SQUARE), "x[:, ::2]": (lambda m, L, a: a[:, ::2], SQUARE),
    "gather": (lambda m, L, a: a.gather(1, L.tensor(np.tile(IDS[:512], (2048, 1)))), SQUARE),
    "masked_fill": (lambda m, L, a: a.masked_fill(a > 0.5, 0.0), SQUARE),
    "where": (lambda m, L, a: L.where(a > 0, a, a * 0.1), SQUARE),
    "flip": (lambda m, L, a: a.flip(1), SQUARE), "roll": (lambda m, L, a: a.roll(3, 1), SQUARE),
    "tril": (lambda m, L, a: a.tril(), SQUARE), "repeat": (lambda m, L, a: a.repeat(2, 1), SQUARE),
    "topk(8, dim=1)": (lambda m, L, a: a.topk(8, dim=1)[0], SQUARE), "sort(dim=1)": (lambda m, L, a: a.sort(dim=1)[0], SQUARE[:512]),
    "scaled_dot_product_attention": (lambda m, L, a: m.scaled_dot_product_attention(a, a * 0.5, a * 0.25), HEADS),
    "sdpa, causal": (lambda m, L, a: m.scaled_dot_product_attention(a, a * 0.5, a * 0.25, is_causal=True), HEADS),
    "einsum bhtd,bhsd->bhts": (lambda m, L, a: L.einsum("bhtd,bhsd->bhts", a, a), HEADS),
    "layer_norm": (lambda m, L, a: m.layer_norm(a, (512,)), TOKENS), "rms_norm": (lambda m, L, a: m.rms_norm(a, (512,)), TOKENS),
    "instance_norm": (lambda m, L, a: m.instance_norm(a), IMAGES),
    "avg_pool2d": (lambda m, L, a: m.avg_pool2d(a, 2), IMAGES), "max_pool2d": (lambda m, L, a: m.max_pool2d(a, 2), IMAGES),
    "adaptive_avg_pool2d(1)": (lambda m, L, a: m.adaptive_avg_pool2d(a, 1), IMAGES),
    "interpolate nearest": (lambda m, L, a: m.interpolate(a, scale_factor=2, mode="nearest"), IMAGES),
    "interpolate bilinear": (lambda m, L, a: m.interpolate(a, scale_factor=2, mode="bilinear"), IMAGES),
    "pad": (lambda m, L, a: m.pad(a, (1, 1, 1, 1)), IMAGES), "pixel_shuffle": (lambda m, L, a: m.pixel_shuffle(a, 2), IMAGES),
    "unfold": (lambda m, L, a: m.unfold(a, 3, padding=1), IMAGES[:8]),
    # beyond the first hundred (forty-third session: found 1.5-21x behind, most as NumPy's calls on one core)
    "sum()": (lambda m, L, a: a.sum(), SQUARE), "mean()": (lambda m, L, a: a.mean(), SQUARE),
    "norm()": (lambda m, L, a: a.norm(), SQUARE), "var()": (lambda m, L, a: a.var(), SQUARE),
    "max()": (lambda m, L, a: a.max(), SQUARE),
    "logaddexp": (lambda m, L, a: L.logaddexp(a, a * 0.5), SQUARE), "hypot": (lambda m, L, a: L.hypot(a, a * 0.5), SQUARE),
    "fmod": (lambda m, L, a: L.fmod(a, 0.3), SQUARE), "remainder": (lambda m, L, a: L.remainder(a, 0.3), SQUARE),
    "sign": (lambda m, L, a: a.sign() * a, SQUARE), "frac": (lambda m, L, a: a.frac(), SQUARE),
    "round": (lambda m, L, a: a.round() + a, SQUARE),
    "clamp(tensor bounds)": (lambda m, L, a: L.clamp(a, a * 0.5 - 1, a * 0.5 + 1), SQUARE),
    "maximum": (lambda m, L, a: L.maximum(a, a * 0.5), SQUARE),
    "softplus(beta=2)": (lambda m, L, a: m.softplus(a, beta=2), SQUARE),
    "prelu": (lambda m, L, a: m.prelu(a, _const(L, SQUARE[0] * 0 + 0.2)), SQUARE),
    "nan_to_num": (lambda m, L, a: a.nan_to_num(), SQUARE),
    "embedding_bag": (lambda m, L, a: m.embedding_bag(_const(L, BAGS), a), SQUARE),
    "trace": (lambda m, L, a: a.trace(), SQUARE), "outer": (lambda m, L, a: L.outer(a[0], a[1]), SQUARE),
    "cumprod(dim=1)": (lambda m, L, a: a.cumprod(1), POSITIVE[:, :256]),
    "cummax(dim=1)": (lambda m, L, a: a.cummax(1)[0], SQUARE[:, :512]),
    "logcumsumexp(dim=1)": (lambda m, L, a: a.logcumsumexp(1), SQUARE[:512]),
    "masked_select": (lambda m, L, a: a.masked_select(a > 0), SQUARE),
    "nll_loss": (lambda m, L, a: m.nll_loss(a, _const(L, IDS[:2048])), SQUARE),
}


def sweep(names: list[str], rounds: int) -> list[tuple[float, str, float, float]]:
    """(ratio, name, gpugrad ms, PyTorch ms) for each op of ``names``, printed as it goes."""
    import torch
    import torch.nn.functional as TF

    rows = []
    for name in names:
        fn, array = OPS[name]
        steps = {}
        for lib, L, m in (("gpugrad", gg, F), ("pytorch", torch, TF)):
            a = L.tensor(array, requires_grad=True)
            shape = tuple(fn(m, L, a).shape)
            upstream = L.tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32))

            def step(a=a, L=L, m=m, upstream=upstream, fn=fn):
                a.grad = None
                fn(m, L, a).backward(upstream)

            steps[lib] = step
        res = interleaved(steps, rounds)
        ours, theirs = res["gpugrad"][0] * 1e3, res["pytorch"][0] * 1e3
        rows.append((ours / theirs, name, ours, theirs))
        print(f"{name:32s} gpugrad {ours:8.2f} ms  pytorch {theirs:8.2f} ms  {ours / theirs:5.2f}x", flush=True)
    return rows


def _run_once(fn, array, lib, dtype):
    """(value, input gradient) of one row in ``lib`` ("gpugrad" or "pytorch") at ``dtype``, seeded alike."""
    import torch
    import torch.nn.functional as TF

    L, m = (gg, F) if lib == "gpugrad" else (torch, TF)
    L.manual_seed(0)
    a = L.tensor(array.astype(dtype), requires_grad=True)
    y = fn(m, L, a)
    y.backward(L.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(dtype)))
    return y.detach().numpy(), a.grad.numpy()


def _errors(got, truth):
    """|got - truth| per element in float32 spacings of max(|truth|, 1e-6 max|truth|) (the floor keeps values
    that cancel to near zero from reading as huge relative errors)."""
    got, truth = np.atleast_1d(got).astype(np.float64), np.atleast_1d(truth).astype(np.float64)
    scale = np.maximum(np.abs(truth), 1e-6 * np.nanmax(np.abs(truth), initial=0.0))
    e = np.abs(got - truth) / np.spacing(scale.astype(np.float32)).astype(np.float64)
    e[np.isnan(got) & np.isnan(truth)] = 0.0
    return e


def error_sweep(names: list[str]) -> None:
    """Each row's float32 value and input gradient, gpugrad's and PyTorch's, against PyTorch's float64
    (max and 99.9th percentile, in float32 spacings); rows where gpugrad's is clearly the further off are
    marked (a few minutes in all)."""
    print(f"{'':32s} {'value: gpugrad pytorch (max; 99.9%)':38s} {'gradient: gpugrad pytorch (max; 99.9%)'}")
    for name in names:
        fn, array = OPS[name]
        if name in ("dropout", "sort(dim=1)", "topk(8, dim=1)"):  # random draws; ties ordered otherwise
            continue
        try:
            ours, theirs, truth = (_run_once(fn, array, lib, dt) for lib, dt in
                                   (("gpugrad", np.float32), ("pytorch", np.float32), ("pytorch", np.float64)))
        except Exception as exc:  # noqa: BLE001 - a row that fails says so, and the sweep goes on
            print(f"{name:32s} {type(exc).__name__}: {exc}"[:120])
            continue
        cells, worse = [], False
        for i in (0, 1):
            eo, et = _errors(ours[i], truth[i]), _errors(theirs[i], truth[i])
            mo, mt, po, pt = eo.max(), et.max(), np.percentile(eo, 99.9), np.percentile(et, 99.9)
            worse |= mo > max(2 * mt, mt + 0.5) or po > max(2 * pt, pt + 0.5)
            cells.append(f"{mo:9.1f} {mt:9.1f} ({po:7.1f} {pt:7.1f})")
        print(f"{name:32s} " + "  |  ".join(cells) + ("   <- gpugrad further off" if worse else ""), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help=f"rows to run (default: all {len(OPS)})")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per row (default 5)")
    p.add_argument("--top", type=int, default=25, help="how many of the slowest rows to list at the end")
    p.add_argument("--errors", action="store_true",
                   help="no timing: each row's float32 error beside PyTorch's, against PyTorch's float64")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in OPS]
    if unknown:
        p.error(f"unknown rows {unknown}; known: {sorted(OPS)}")
    if args.errors:
        error_sweep(args.names or list(OPS))
        return 0
    rows = sweep(args.names or list(OPS), args.rounds)
    print(f"--- the {min(args.top, len(rows))} slowest against PyTorch")
    for ratio, name, ours, theirs in sorted(rows, reverse=True)[:args.top]:
        print(f"{name:32s} {ratio:5.2f}x  ({ours:.2f} against {theirs:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
