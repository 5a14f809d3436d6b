"""Run public PyTorch scripts under real torch and under gpugrad (imports aliased by shim.py); print a
markdown table: status, first and last logged loss, seconds, and where gpugrad first stops.

usage: python bench/compat/run_all.py --sources DIR --work WORKDIR [--tag TAG] [--jobs 2] [name ...]
See README.md in this folder for the checkouts DIR must hold.
"""
import argparse
import concurrent.futures as cf
import json
import os
import re
import shutil
import subprocess
import sys
import time

import make_data
from sources import SOURCES

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NUM = r"(-?[\d.]+(?:e[-+]?\d+)?)"

# name, work subfolder, script, args, env, extra shim flags, loss regex.  Sizes are tiny on purpose: the
# question is "does it run and does the loss move like torch's", not speed or final accuracy.
RUNS = [
    ("mnist", "mnist", "main.py", "--epochs 1 --batch-size 32 --test-batch-size 64 --log-interval 2 --no-accel", dict(COMPAT_N_TRAIN=256, COMPAT_N_TEST=128), [], r"\tLoss: " + NUM),
    ("vae", "vae", "main.py", "--epochs 1 --batch-size 32 --log-interval 2 --no-accel", dict(COMPAT_N_TRAIN=256, COMPAT_N_TEST=64), [], r"\tLoss: " + NUM),
    ("regression", "regression", "main.py", "", {}, [], r"Loss: " + NUM),
    ("wlm_lstm", "word_language_model", "main.py", "--epochs 1 --emsize 32 --nhid 32 --bptt 20 --batch_size 10 --log-interval 5", {}, [], r"\| loss\s+" + NUM),
    ("wlm_transformer", "word_language_model", "main.py", "--model Transformer --nhead 2 --epochs 1 --emsize 32 --nhid 32 --bptt 20 --batch_size 10 --log-interval 5 --lr 1", {}, [], r"\| loss\s+" + NUM),
    ("time_seq_pred", "time_sequence_prediction", "train.py", "--steps 2", {}, [], r"^loss: " + NUM),
    ("time_seq_pred+npy", "time_sequence_prediction", "train.py", "--steps 2", {}, ["--npyload"], r"^loss: " + NUM),
    ("dcgan_fake", "dcgan", "main.py", "--dataset fake --niter 1 --batchSize 8 --imageSize 64 --ngf 8 --ndf 8 --workers 0 --outf out --manualSeed 1", dict(COMPAT_N_TRAIN=48), [], r"Loss_D: " + NUM),
    ("mnist_rnn", "mnist_rnn", "main.py", "--epochs 1 --batch-size 32 --test-batch-size 64 --log-interval 2", dict(COMPAT_N_TRAIN=256, COMPAT_N_TEST=64), [], r"\tLoss: " + NUM),
    ("siamese", "siamese_network", "main.py", "--epochs 1 --batch-size 16 --test-batch-size 32 --log-interval 1 --no-accel --lr 0.1", dict(COMPAT_N_TRAIN=96, COMPAT_N_TEST=32), [], r"\tLoss: " + NUM),
    ("super_resolution", "super_resolution", "main.py", "--upscale_factor 3 --batchSize 2 --testBatchSize 2 --nEpochs 1 --threads 0", {}, [], r"\): Loss: " + NUM),
    ("fast_neural_style", "fast_neural_style", "fns_driver.py", "--steps 4 --size 32", {}, [], r"total loss " + NUM),
    ("mnist_fwd_fwd", "mnist_forward_forward", "main.py", "--epochs 30 --train_size 256 --test_size 128 --log-interval 5 --no_accel", dict(COMPAT_N_TRAIN=256, COMPAT_N_TEST=128), [], r"^Loss:\s+" + NUM),
    ("gcn", "gcn", "main.py", "--epochs 20 --val-every 2 --no-accel", {}, [], r"loss_train: " + NUM),
    ("gat", "gat", "main.py", "--epochs 10 --val-every 1 --num-heads 2 --hidden-dim 16 --no-accel", {}, [], r"loss_train: " + NUM),
    ("mnist_hogwild", "mnist_hogwild", "main.py", "--epochs 1 --batch-size 32 --test-batch-size 64 --log-interval 2 --num-processes 2", dict(COMPAT_N_TRAIN=256, COMPAT_N_TEST=64), [], r"\tLoss: " + NUM),
    ("custom_function", "custom_function", "polynomial_custom_function.py", "", {}, [], r"^\d+ " + NUM),
    ("wgan_gp", "wgan_gp", "wgan_gp.py", "--n_epochs 1 --batch_size 16 --n_critic 2 --sample_interval 1000", dict(COMPAT_N_TRAIN=96), [], r"\[D loss: " + NUM),
    # PyTorch-GAN's MNIST models: one epoch of 64 images in batches of 16
    *[(f"pgan_{name}", f"pgan_{name}", f"{name}.py", "--n_epochs 1 --batch_size 16 --n_cpu 0" + extra,
       dict(COMPAT_N_TRAIN=64, COMPAT_N_TEST=32), [], r"\[D loss: " + NUM)
      for name, extra in (("aae", ""), ("acgan", ""), ("cgan", ""), ("dcgan", ""), ("ebgan", ""), ("gan", ""),
                          ("infogan", ""), ("lsgan", ""), ("relativistic_gan", ""), ("sgan", ""),
                          ("wgan", " --n_critic 2"), ("wgan_div", " --n_critic 2"))],
    ("reinforce", "reinforcement_learning", "reinforce.py", "--log-interval 2", dict(COMPAT_REWARD_THRESHOLD=40), [], r"Average reward: " + NUM),
    ("actor_critic", "reinforcement_learning", "actor_critic.py", "--log-interval 2", dict(COMPAT_REWARD_THRESHOLD=40), [], r"Average reward: " + NUM),
    ("imagenet_dummy", "imagenet", "main.py", "--dummy -a resnet18 --epochs 1 -b 8 -j 0 --print-freq 2", dict(COMPAT_N_TRAIN=48), [], r"Epoch: \[0\]\[\s*\d+/\d+\].*?Loss\s+" + NUM),
    ("cifar_models", "cifar_models", "cifar_models_driver.py", "", {}, [], r"step \d loss " + NUM),
    ("nanogpt", "nanogpt", "train.py", "--dataset=synth --device=cpu --compile=False --dtype=float32 --n_layer=2 --n_head=2 --n_embd=64 --block_size=32 --batch_size=8 --gradient_accumulation_steps=2 --max_iters=40 --eval_interval=20 --eval_iters=5 --log_interval=5 --out_dir=out --dropout=0.1", {}, [], r"^iter \d+: loss " + NUM),
]
LOSSRE = {r[0]: r[6] for r in RUNS}
FRAMEWORKS = ("torch", "gg")  # gg: gpugrad through the import alias


def copy_sources(sources: str, base: str, subdirs: set) -> None:
    """Copy each needed example from the user's checkouts into base/<subdir> (a fresh copy each run)."""
    for sub in sorted(subdirs):
        checkout, rel = SOURCES[sub]
        src = os.path.join(sources, checkout, rel)
        dst = os.path.join(base, sub)
        if not os.path.exists(src):
            sys.exit(f"run_all.py: {src} is missing (needed for {sub}; see bench/compat/README.md)")
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            os.makedirs(dst)
            shutil.copy(src, dst)
        if sub == "fast_neural_style":
            shutil.copy(os.path.join(HERE, "fns_driver.py"), dst)
        if sub == "cifar_models":
            shutil.copy(os.path.join(HERE, "cifar_models_driver.py"), dst)


def prepare(sources: str, work: str, runs: list) -> None:
    """One identical work tree per framework, so neither run sees the other's outputs."""
    subdirs = {r[1] for r in runs}
    for fw in FRAMEWORKS:
        base = os.path.join(work, fw)
        if os.path.exists(base):
            shutil.rmtree(base)
        os.makedirs(base)
        copy_sources(sources, base, subdirs)
        make_data.write_data(base)


def _gpugrad_only(work: str) -> str:
    """A folder holding only a link to this checkout's gpugrad package: the checkout's root on the path
    would also expose its top-level ``kernels`` folder, which hides the PyPI package of that name
    (transformers imports it)."""
    folder = os.path.join(work, "gpugrad_path")
    link = os.path.join(folder, "gpugrad")
    if not os.path.islink(link):
        os.makedirs(folder, exist_ok=True)
        os.symlink(os.path.join(REPO, "gpugrad"), link)
    return folder


def run_one(ctx: dict, fw: str, run: tuple, stubs=()) -> dict:
    """Run one script under one framework; return status, failure line, seconds and the logged losses."""
    name, sub, script, args, env, flags, _ = run
    e = dict(os.environ, PYTHONPATH=os.path.join(HERE, "fake"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
             NUMBA_NUM_THREADS="1", PYTHONHASHSEED="0", PYTHONUNBUFFERED="1", **{k: str(v) for k, v in env.items()})
    if fw == "gg":  # gpugrad from this checkout, whether or not it is installed
        e["PYTHONPATH"] += os.pathsep + _gpugrad_only(ctx["work"])
    cwd = os.path.join(ctx["work"], fw, sub)
    stub = ["--stub", ",".join(stubs)] if stubs else []
    cmd = (["timeout", str(ctx["timeout"]), sys.executable, os.path.join(HERE, "shim.py"), "--fw", fw]
           + stub + flags + [os.path.join(cwd, script)] + args.split())
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True)
    dt = time.time() - t0
    out = p.stdout + p.stderr
    suffix = "_stub" + str(len(stubs)) if stubs else ""
    with open(os.path.join(ctx["logs"], f"{fw}_{name}{suffix}.log"), "w") as f:
        f.write(" ".join(cmd) + "\n" + out)
    fail = re.search(r"COMPAT_FAIL (.*)", out)
    if p.returncode == 124:
        status = "TIMEOUT"
    elif fail:
        status = "FAIL"
    elif p.returncode == 0 and "COMPAT_DONE" in out:
        status = "OK"
    else:
        status = f"rc={p.returncode}"
    if fail:
        why = fail.group(1)
    elif status != "OK":
        why = (out.strip().splitlines() or [""])[-1][:300]
    else:
        why = ""
    return dict(status=status, fail=why, secs=round(dt),
                losses=[float(x) for x in re.findall(LOSSRE[name], out, re.M)])


MISSING = r"ModuleNotFoundError: No module named 'gpugrad[.\w]*' \(script imports '([\w.]+)'\)"


def run_pair(ctx: dict, run: tuple):
    """torch, then gpugrad; if gpugrad stops at a missing torch.X module, rerun with it stubbed (up to
    3 modules) to see whether the import was only unused or what fails next."""
    ref = run_one(ctx, "torch", run)
    gg = run_one(ctx, "gg", run)
    deeper, stubs = [], []
    while gg["status"] == "FAIL" and len(stubs) < 3:
        m = re.match(MISSING, deeper[-1]["fail"] if deeper else gg["fail"])
        if not m:
            break
        stubs.append(m.group(1))
        deeper.append(dict(run_one(ctx, "gg", run, stubs), stubs=list(stubs)))
        if deeper[-1]["status"] != "FAIL":
            break
    return run[0], ref, gg, deeper


def fmt(losses: list) -> str:
    if not losses:
        return "-"
    if len(losses) == 1:
        return f"{losses[0]:.4g} (1)"
    return f"{losses[0]:.4g}->{losses[-1]:.4g} ({len(losses)})"


def table(tag: str, results: list) -> str:
    head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    lines = [f"# run {tag}  gpugrad checkout: " + head.stdout.strip()[:90],
             "| script | torch | torch loss first->last (n) | gpugrad | gpugrad loss first->last (n) | s torch/gg | first gpugrad failure | deeper (unused imports stubbed) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, ref, gg, deeper in results:
        dp = "; ".join(f"stub {','.join(x['stubs'])}: {x['status']} {x['fail'][:160]} loss {fmt(x['losses'])}"
                       for x in deeper[-1:])
        lines.append(f"| {name} | {ref['status']} | {fmt(ref['losses'])} | {gg['status']} | {fmt(gg['losses'])} | "
                     f"{ref['secs']}/{gg['secs']} | {gg['fail'][:260]} | {dp} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", required=True, help="folder holding pytorch-examples/, pytorch-tutorials/, PyTorch-GAN/")
    ap.add_argument("--work", required=True, help="scratch folder (work trees and logs are written here)")
    ap.add_argument("--tag", default=time.strftime("%H%M"), help="name of this run's log folder")
    ap.add_argument("--jobs", type=int, default=2, help="scripts run at once (torch and gpugrad of one script run in turn)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per script run")
    ap.add_argument("names", nargs="*", help="run names (default: all)")
    a = ap.parse_args()
    known = [r[0] for r in RUNS]
    unknown = [n for n in a.names if n not in known]
    if unknown:
        ap.error(f"unknown run names {unknown}; choose from {known}")
    runs = [r for r in RUNS if not a.names or r[0] in a.names]
    work = os.path.abspath(a.work)
    ctx = dict(work=work, timeout=a.timeout, logs=os.path.join(work, "logs", a.tag))
    os.makedirs(ctx["logs"], exist_ok=True)
    prepare(os.path.abspath(a.sources), work, runs)
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        results = list(ex.map(lambda r: run_pair(ctx, r), runs))
    with open(os.path.join(ctx["logs"], "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    txt = table(a.tag, results)
    with open(os.path.join(ctx["logs"], "table.md"), "w") as f:
        f.write(txt + "\n")
    print(txt)


if __name__ == "__main__":
    main()
