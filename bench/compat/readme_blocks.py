"""Run every ```python block of a library's README as a script, under real torch and under gpugrad (through
shim.py), and print which run under each: the examples a library shows its users, tried unchanged.

usage: python bench/compat/readme_blocks.py CHECKOUT [--work DIR] [--timeout S]

CHECKOUT is the library's checkout (its README.md and its package, importable from there); for example
lucidrains/vit-pytorch. Each block runs in a fresh process from CHECKOUT, after ``torch.manual_seed(0)``,
with fake/ (the offline torchvision stand-in) on the path; when it leaves a tensor that needs a gradient
under a usual name (preds, loss, logits ...), the sum of it is backpropagated too.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AFTER = '''
import torch as _t
for _name in ("preds", "loss", "logits", "pred", "out", "embeds", "features"):
    _v = globals().get(_name)
    if isinstance(_v, _t.Tensor) and _v.requires_grad:
        _v.float().sum().backward()
        print("COMPAT_BACKWARD", _name)
        break
print("COMPAT_BLOCK_OK")
'''


def run(block: str, fw: str, checkout: str, timeout: int) -> tuple[bool, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(HERE, "fake"), checkout]))
    try:
        p = subprocess.run([sys.executable, os.path.join(HERE, "shim.py"), "--fw", fw, block], cwd=checkout,
                           env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "TIMEOUT"
    out = p.stdout + p.stderr
    if "COMPAT_BLOCK_OK" in out:
        return True, "backward" if "COMPAT_BACKWARD" in out else "forward only"
    errors = [line for line in out.splitlines() if re.match(r"^\S.*(Error|Exception)", line)]
    return False, errors[-1][:200] if errors else f"rc={p.returncode}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkout")
    ap.add_argument("--work", default="/tmp/readme-blocks")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()
    checkout = os.path.abspath(args.checkout)
    blocks = re.findall(r"```python\n(.*?)```", open(os.path.join(checkout, "README.md")).read(), re.S)
    os.makedirs(args.work, exist_ok=True)
    counts = {"torch": 0, "gg": 0}
    print("| block | torch | gpugrad |\n| --- | --- | --- |")
    for i, text in enumerate(blocks):
        path = os.path.join(args.work, f"block{i:02d}.py")
        with open(path, "w") as f:
            f.write("import torch\ntorch.manual_seed(0)\n" + text + AFTER)
        results = {fw: run(path, fw, checkout, args.timeout) for fw in counts}
        for fw, (ok, _) in results.items():
            counts[fw] += ok
        print(f"| {i} | " + " | ".join(("ok, " if ok else "FAIL: ") + why for ok, why in results.values()) + " |",
              flush=True)
    print(f"\n{len(blocks)} blocks: {counts['torch']} run under torch, {counts['gg']} under gpugrad")
    return 0


if __name__ == "__main__":
    sys.exit(main())
