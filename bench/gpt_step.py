"""A small GPT's training step (nanoGPT's shape: token and position embeddings, pre-norm blocks of causal
self-attention written out as q @ k.mT, masked_fill, softmax and att @ v, then a GELU MLP; cross-entropy,
AdamW), gpugrad beside PyTorch in one process, interleaved: what a user training a transformer on the CPU
feels, every op of the step together::

    python bench/gpt_step.py [--rounds 15] [tiny small mid]

Sizes (vocabulary, context, width, heads, layers; batch): tiny (65, 32, 64, 4, 2; 8), small (65, 64, 128,
4, 2; 16), mid (65, 128, 256, 8, 4; 16).
"""
from __future__ import annotations

# isort: off
import gpugrad  # noqa: F401 - before NumPy: gpugrad loads it with OpenBLAS's short spin (gpugrad/_blas_spin.py)
# isort: on
import argparse
import math
import statistics
import time

import numpy as np

SIZES = {"tiny": ((65, 32, 64, 4, 2), 8), "small": ((65, 64, 128, 4, 2), 16), "mid": ((65, 128, 256, 8, 4), 16)}


def build(lib, vocab: int, context: int, width: int, heads: int, layers: int):
    """The model, in ``lib``'s (gpugrad's or torch's) modules, seeded alike."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
            self.register_buffer("mask", lib.tril(lib.ones(context, context)).view(1, 1, context, context))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = (t.view(B, T, heads, C // heads).transpose(1, 2) for t in self.qkv(self.ln1(x)).split(C, dim=2))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = F.softmax(att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf")), dim=-1)
            x = x + self.proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(context, width)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)

        def forward(self, idx, targets):
            x = self.tok(idx) + self.pos(lib.arange(idx.size(1)))
            for block in self.blocks:
                x = block(x)
            logits = self.head(self.ln(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    lib.manual_seed(0)
    return GPT()


def stepper(lib, size: str):
    """One training step of the ``size`` model in ``lib``, as a function of no arguments."""
    (vocab, context, width, heads, layers), batch = SIZES[size]
    model = build(lib, vocab, context, width, heads, layers)
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    idx, targets = (lib.tensor(rng.integers(0, vocab, (batch, context))) for _ in range(2))

    def step():
        opt.zero_grad(set_to_none=True)
        model(idx, targets).backward()
        opt.step()

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=15)
    # checked below, not by choices=: with nargs="*", argparse refuses the empty list as a choice
    p.add_argument("sizes", nargs="*", help=f"of {', '.join(SIZES)} (default: all)")
    args = p.parse_args()
    for size in args.sizes:
        if size not in SIZES:
            p.error(f"unknown size {size!r}: choose from {', '.join(SIZES)}")
    import torch

    import gpugrad as gg

    for size in args.sizes or list(SIZES):
        steps = {"gpugrad": stepper(gg, size), "pytorch": stepper(torch, size)}
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(3):  # warm-up: compiles, caches, allocator
            for step in steps.values():
                step()
        for _ in range(args.rounds):
            for name, step in steps.items():
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
        g, t = min(times["gpugrad"]), min(times["pytorch"])
        print(f"gpt {size}: gpugrad {g * 1e3:.2f} ms, pytorch {t * 1e3:.2f} ms (min of {args.rounds}): {g / t:.2f}x; "
              f"medians {statistics.median(times['gpugrad']) * 1e3:.2f} / {statistics.median(times['pytorch']) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
