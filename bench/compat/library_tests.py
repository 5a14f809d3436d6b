"""Run a library's own pytest suite under real torch and under gpugrad (through shim.py), and print each
run's summary line and the tests that fail under one framework only: the library's own checks of its
behaviour, tried unchanged.

usage: python bench/compat/library_tests.py CHECKOUT [--suite-timeout S] [--without NAME] [pytest args ...]

--suite-timeout bounds each framework's whole run; pytest-timeout's own --timeout=S passes through to pytest.

CHECKOUT is the library's checkout (its package importable from there); the pytest arguments default to
its tests/ folder. For example lucidrains/x-transformers or lucidrains/vector-quantize-pytorch; their own
dependencies (einops, einx ...) must be installed beside torch. Each suite runs in a fresh process from
CHECKOUT. A test that draws unseeded random numbers may fail now and then under either framework: rerun
what fails under one alone before reading anything into it.
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# What the shim runs: pytest itself, with the arguments given (every `torch` import then answered by gpugrad).
# Guarded: a process that multiprocessing starts with spawn or forkserver (SB3's SubprocVecEnv) imports the
# main script again, and unguarded that would start the whole suite again in every child.
RUN_PYTEST = "import sys, pytest\n\nif __name__ == '__main__':\n    sys.exit(pytest.main(sys.argv[1:]))\n"


def stand_ins(work: str, without: tuple = ()) -> str:
    """A folder of fake/'s stand-ins for the packages that are not installed (linked), with its
    sitecustomize.py: a library's tests that import matplotlib or PIL get the real one where it is installed
    (captum's import matplotlib.colors, which the stand-in lacks). Those named in `without` are left out
    (transformers takes an importable torchvision for the real one and imports its InterpolationMode)."""
    folder = os.path.join(work, "fake")
    os.makedirs(folder, exist_ok=True)
    fake = os.path.join(HERE, "fake")
    for name in sorted(os.listdir(fake)):
        mod = name.removesuffix(".py")
        link = os.path.join(folder, name)
        if os.path.lexists(link):
            os.remove(link)
        keep = name in ("sitecustomize.py", "compat_data.py") or (importlib.util.find_spec(mod) is None
                                                                   and mod not in without)
        if keep and not name.startswith("__"):
            os.symlink(os.path.join(fake, name), link)
    return folder


def run(fw: str, checkout: str, work: str, args: list, timeout: int, without: tuple = ()) -> tuple[str, set]:
    """(pytest's summary line, the ids of the failed tests) for one framework."""
    script = os.path.join(work, "run_pytest.py")
    with open(script, "w") as f:
        f.write(RUN_PYTEST)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [stand_ins(work, without), checkout,
                                                                        os.environ.get("PYTHONPATH")])))
    try:
        p = subprocess.run([sys.executable, os.path.join(HERE, "shim.py"), "--fw", fw, script, "-q", "-rf",
                            "-p", "no:cacheprovider", *args], cwd=checkout, env=env, capture_output=True, text=True, check=False,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return "TIMEOUT", set()
    lines = p.stdout.splitlines()
    summary = next((line for line in reversed(lines) if re.search(r"\d+ (passed|failed)", line)), f"rc={p.returncode}")
    # pytest-subtests reports a failing subtest as SUBFAILED (torchdiffeq's suite is made of them).
    failed = {line.split()[1] for line in lines if line.startswith(("FAILED ", "SUBFAILED"))}
    return summary.strip("= "), failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("checkout")
    ap.add_argument("--work", default="/tmp/library-tests")
    ap.add_argument("--suite-timeout", type=int, default=3600)
    ap.add_argument("--without", action="append", default=[], metavar="NAME",
                    help="leave fake/'s stand-in for NAME out (repeatable), e.g. torchvision for transformers")
    args, extra = ap.parse_known_args()
    checkout = os.path.abspath(args.checkout)
    os.makedirs(args.work, exist_ok=True)
    results = {fw: run(fw, checkout, args.work, extra or ["tests"], args.suite_timeout,
                        tuple(args.without)) for fw in ("torch", "gg")}
    for fw, (summary, _) in results.items():
        print(f"{'gpugrad' if fw == 'gg' else fw}: {summary}")
    only = results["gg"][1] - results["torch"][1]
    print("fail under gpugrad alone:", " ".join(sorted(only)) if only else "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
