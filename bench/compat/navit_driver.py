"""vit-pytorch's nested-tensor NaViT (vit_pytorch/na_vit_nested_tensor.py, built on torch.nested's jagged
layout), unchanged, under gpugrad: the same weights (drawn from NumPy) under either framework, six images of
four sizes, forward and the backward of a fixed projection of the logits; outputs and parameter gradients
compared, each relative to its array's largest entry.

    python bench/compat/navit_driver.py CHECKOUT [--dtype float64]

CHECKOUT is lucidrains/vit-pytorch's checkout (fake/ stands in for torchvision, which it imports). Each
framework runs this file in its own process through shim.py (under ``gg`` every ``torch`` import is
gpugrad's). NaViT builds its nested tensors with
``nested_tensor(...)``, which drops history in both frameworks: the patch embedding, the position
embeddings and the pooling queries get no gradient under either, and the comparison checks that too.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(3, 64, 64), (3, 32, 32), (3, 32, 64), (3, 64, 32), (3, 16, 64), (3, 32, 32)]


def run(out_path: str, dtype_name: str) -> None:
    """Under the framework the shim gave this process: build, load the NumPy weights, forward, backward."""
    import torch
    from vit_pytorch.na_vit_nested_tensor import NaViT

    dtype = getattr(torch, dtype_name)
    model = NaViT(image_size=64, patch_size=8, num_classes=10, dim=64, depth=2, heads=4, dim_head=16, mlp_dim=128,
                  dropout=0.0, emb_dropout=0.0, token_dropout_prob=0.0).to(dtype)
    state = {}
    for name, p in model.state_dict().items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        shape = tuple(p.shape)
        if "norm" in name and len(shape) == 1:
            values = 1.0 + 0.1 * rng.standard_normal(shape)  # LayerNorm gains near 1
        else:
            values = rng.standard_normal(shape) / np.sqrt(shape[-1] if len(shape) > 1 else max(shape[0], 1))
        state[name] = torch.tensor(values, dtype=dtype)
    model.load_state_dict(state)
    model.train()
    rng = np.random.default_rng(123)
    out = model([torch.tensor(rng.standard_normal(s), dtype=dtype) for s in SIZES])
    projection = torch.tensor(np.random.default_rng(7).standard_normal(tuple(out.shape)), dtype=dtype)
    (out * projection).sum().backward()
    result = {"out": out.detach().numpy()}
    for name, p in model.named_parameters():
        result["grad:" + name] = p.grad.numpy() if p.grad is not None else np.array(np.nan)  # 0-d: no gradient
    np.savez(out_path, **result)


def compare(theirs: dict, ours: dict) -> int:
    if set(theirs) != set(ours):
        print("the two runs saved different arrays")
        return 1
    worst, same_missing = 0.0, True
    for key in sorted(theirs):
        a, b = theirs[key], ours[key]
        if a.ndim == 0 or b.ndim == 0:
            same_missing &= a.ndim == b.ndim
            print(f"{key:60s} no gradient (PyTorch: {a.ndim == 0}, gpugrad: {b.ndim == 0})")
            continue
        worst = max(worst, np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))
    rel = np.abs(theirs["out"] - ours["out"]).max() / np.abs(theirs["out"]).max()
    print(f"output: {rel:.1e}; worst of the output and the parameter gradients: {worst:.1e}; "
          f"the same parameters without a gradient: {same_missing}")
    return 0 if same_missing else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkout")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--out", help="(internal) run once under the shim's framework, saving here")
    args = p.parse_args()
    if args.out:
        run(args.out, args.dtype)
        return 0
    folder = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(HERE, "fake"), os.path.abspath(args.checkout), HERE]))
    files = {}
    for fw in ("torch", "gg"):
        files[fw] = os.path.join(folder, f"{fw}.npz")
        done = subprocess.run([sys.executable, os.path.join(HERE, "shim.py"), "--fw", fw, __file__, args.checkout,
                               "--dtype", args.dtype, "--out", files[fw]], env=env, check=False)
        if done.returncode:
            print(f"{fw}: failed (exit {done.returncode})")
            return 1
    return compare(dict(np.load(files["torch"])), dict(np.load(files["gg"])))


if __name__ == "__main__":
    sys.exit(main())
