"""Run a PyTorch script unchanged, with every `torch` / `torch.X` module name mapped to `gpugrad` / `gpugrad.X`.

usage: shim.py --fw gg|torch [--stub torch.onnx,...] [--npyload] SCRIPT [script args...]
Only imports change: a sys.meta_path finder aliases the module names; the script's text is untouched.
--stub   (second pass only, to see past a missing import): named torch.X modules become empty modules.
--npyload (time_sequence_prediction only, both frameworks): torch.load('traindata.pt') returns
          numpy.load('traindata.npy'), since gpugrad never unpickles and torch>=2.6 refuses numpy pickles.
"""
import importlib, importlib.abc, importlib.machinery, os, runpy, sys, traceback, types

argv = sys.argv[1:]
fw, stubs, npyload = "torch", [], False
while argv and argv[0].startswith("--"):
    a = argv.pop(0)
    if a == "--fw": fw = argv.pop(0)
    elif a == "--stub": stubs = [s for s in argv.pop(0).split(",") if s]
    elif a == "--npyload": npyload = True
script = os.path.abspath(argv[0])
sys.argv = [script] + argv[1:]
sys.path.insert(0, os.path.dirname(script))


class _Alias(importlib.abc.Loader):
    """Loads `torch.X` as the already-importable `gpugrad.X` (or a stub module for --stub names)."""
    def __init__(self, target): self.target = target
    def create_module(self, spec): return types.ModuleType(spec.name)
    def exec_module(self, module):
        name = module.__name__
        if any(name == s or name.startswith(s + ".") for s in stubs):
            m = types.ModuleType(name); m.__path__ = []  # stub (second pass only)
            sys.modules[name] = m
            return
        try:
            sys.modules[name] = importlib.import_module(self.target)
        except ModuleNotFoundError as e:
            parent, _, leaf = self.target.rpartition(".")
            pm = sys.modules.get(parent)
            if pm is not None and isinstance(getattr(pm, leaf, None), types.ModuleType):
                sys.modules[name] = getattr(pm, leaf); return
            raise ModuleNotFoundError(f"No module named '{self.target}' (script imports '{name}')", name=self.target) from None


class TorchToGpugrad(importlib.abc.MetaPathFinder):
    """Answers every `torch`/`torch.X` import before the real torch's finder can."""
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.machinery.ModuleSpec(fullname, _Alias("gpugrad" + fullname[5:]), is_package=True)
        return None


if fw == "gg":
    sys.meta_path.insert(0, TorchToGpugrad())

if npyload:
    import numpy as np, torch as _t
    _t.load = lambda f, *a, **k: np.load(os.path.splitext(f if isinstance(f, str) else f.name)[0] + ".npy")

try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    if e.code not in (0, None):
        print(f"COMPAT_EXIT {e.code}", flush=True); raise
except BaseException as e:
    tb = traceback.extract_tb(e.__traceback__)
    # the innermost frame in the work folder (the script or its siblings) says where the script stopped
    user = [f for f in tb if f.filename.startswith(os.path.dirname(script) + os.sep)]
    where = f"{os.path.basename(user[-1].filename)}:{user[-1].lineno}: {user[-1].line}" if user else "?"
    traceback.print_exc()
    msg = str(e).replace("\n", " ")[:300]
    print(f"COMPAT_FAIL {type(e).__name__}: {msg} @@ {where}", flush=True)
    sys.exit(1)
print("COMPAT_DONE", flush=True)
