"""HuggingFace transformers and diffusers, unchanged, under gpugrad: tiny models built from configs get the
same weights (drawn from NumPy) under either framework, then run forward, backward, one AdamW step,
greedy generation and a save_pretrained / from_pretrained round trip; the two runs are compared.

    pip install transformers diffusers          # beside torch and gpugrad, in one environment
    python bench/compat/hf_driver.py            # both frameworks, then the comparison table
    python bench/compat/hf_driver.py --dtype bfloat16   # the same models in bfloat16 (the CPU's)
    python bench/compat/hf_driver.py --autocast         # float32 models, forward under CPU autocast

Each framework runs in its own process (``--fw torch`` / ``--fw gg`` with ``--out FILE.npz``); under
``gg`` every ``torch`` import is gpugrad's (alias.py), and gpugrad is imported from this checkout through a
folder holding only its package, so that the checkout's top-level ``kernels`` does not hide the PyPI
package of that name, which transformers imports. Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _models(torch):
    import transformers as tr

    yield "gpt2", lambda: tr.GPT2LMHeadModel(tr.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100,
                                                           n_positions=64)), "causal"
    yield "bert", lambda: tr.BertForSequenceClassification(tr.BertConfig(
        num_hidden_layers=2, hidden_size=32, num_attention_heads=2, intermediate_size=64, vocab_size=100,
        max_position_embeddings=64)), "classify"
    yield "llama", lambda: tr.LlamaForCausalLM(tr.LlamaConfig(
        num_hidden_layers=2, hidden_size=32, num_attention_heads=4, num_key_value_heads=2, intermediate_size=64,
        vocab_size=100, max_position_embeddings=64)), "causal"
    yield "t5", lambda: tr.T5ForConditionalGeneration(tr.T5Config(
        vocab_size=100, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, decoder_start_token_id=0)), "seq2seq"
    try:
        import diffusers
    except ImportError:
        return
    yield "unet2d", lambda: diffusers.UNet2DModel(
        sample_size=16, in_channels=3, out_channels=3, block_out_channels=(32, 64), layers_per_block=1,
        norm_num_groups=8, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D")), "denoise"


def _same_weights(torch, model) -> None:
    rng = np.random.default_rng(0)
    state = {}
    for key, value in sorted(model.state_dict().items()):
        if value.dtype.is_floating_point:
            state[key] = torch.tensor((rng.standard_normal(tuple(value.shape)) * 0.05).astype(np.float32))
    model.load_state_dict(state, strict=False)


def run(fw: str, out: str, dtype_name: str, autocast: bool) -> None:
    if fw == "gg":
        folder = tempfile.mkdtemp()
        os.symlink(os.path.join(REPO, "gpugrad"), os.path.join(folder, "gpugrad"))
        sys.path.insert(0, folder)
        sys.path.append(HERE)
        import alias

        alias.install([])
    import torch

    warnings.filterwarnings("ignore")
    dtype = getattr(torch, dtype_name)

    def host(t):
        return t.detach().float().numpy()  # PyTorch has no NumPy bfloat16

    rng = np.random.default_rng(1)
    ids = torch.tensor(rng.integers(0, 100, (2, 8)))
    results = {}
    region = torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast)
    for name, make, kind in _models(torch):
        model = make()
        model.eval()
        _same_weights(torch, model)
        model.to(dtype)
        with region:
            if kind == "causal":
                outputs = model(input_ids=ids, labels=ids)
            elif kind == "classify":
                outputs = model(input_ids=ids, labels=torch.tensor([0, 1]))
            elif kind == "seq2seq":
                outputs = model(input_ids=ids, labels=ids[:, :5].clone())
            else:
                x = torch.tensor(rng.standard_normal((2, 3, 16, 16)).astype(np.float32)).to(dtype)
                sample = model(x, torch.tensor([10, 50])).sample
                outputs = type("Out", (), {"loss": sample.square().mean(), "logits": sample})()
        outputs.loss.backward()
        results[f"{name}.loss"] = host(outputs.loss)
        results[f"{name}.output"] = host(outputs.logits)
        results[f"{name}.grads"] = np.concatenate([host(p.grad).ravel() for p in model.parameters() if p.grad is not None])
        torch.optim.AdamW(model.parameters(), lr=1e-3).step()
        results[f"{name}.stepped"] = np.concatenate([host(p).ravel() for p in model.parameters()])
        if kind in ("causal", "seq2seq"):
            with torch.no_grad():
                results[f"{name}.generated"] = model.generate(ids[:, :4], max_new_tokens=4, do_sample=False).numpy()
        folder = tempfile.mkdtemp()
        model.save_pretrained(folder)
        again = type(model).from_pretrained(folder, dtype=dtype)
        results[f"{name}.reloaded"] = np.concatenate([host(p).ravel() for p in again.parameters()])
        print(f"{fw} {name}: ran", flush=True)
    np.savez(out, **results)


def compare(a: dict, b: dict) -> int:
    print(f"{'model.what':24} {'max |diff| / max |torch|':>26}")
    worst = 0.0
    for key in sorted(a):
        if key not in b:
            print(f"{key:24} missing under gpugrad")
            return 1
        x, y = a[key].astype(np.float64), b[key].astype(np.float64)
        rel = float(np.max(np.abs(x - y)) / max(np.max(np.abs(x)), 1e-30)) if x.size else 0.0
        print(f"{key:24} {rel:26.2e}")
        if not key.endswith((".stepped", ".reloaded")):  # Adam's step turns noise in ~0 gradients into ~lr moves
            worst = max(worst, rel)
    print(f"largest difference outside the stepped (and reloaded) parameters: {worst:.2e}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fw", choices=("torch", "gg"))
    p.add_argument("--out")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    p.add_argument("--autocast", action="store_true", help="forward passes under autocast('cpu', bfloat16)")
    args = p.parse_args()
    if args.fw:
        run(args.fw, args.out, args.dtype, args.autocast)
        return 0
    folder = tempfile.mkdtemp()
    files = {}
    for fw in ("torch", "gg"):
        files[fw] = os.path.join(folder, f"{fw}.npz")
        done = subprocess.run([sys.executable, __file__, "--fw", fw, "--out", files[fw], "--dtype", args.dtype]
                              + ["--autocast"] * args.autocast)
        if done.returncode:
            print(f"{fw}: failed (exit {done.returncode})")
            return 1
    return compare(dict(np.load(files["torch"])), dict(np.load(files["gg"])))


if __name__ == "__main__":
    sys.exit(main())
