"""The import hook behind shim.py: `torch` / `torch.X` answered by `gpugrad` / `gpugrad.X`."""
import importlib, importlib.abc, importlib.machinery, sys, types


class _Alias(importlib.abc.Loader):
    """Loads `torch.X` as the already-importable `gpugrad.X` (or a stub module for --stub names)."""
    def __init__(self, target, stubs): self.target, self.stubs = target, stubs
    def create_module(self, spec): return types.ModuleType(spec.name)
    def exec_module(self, module):
        name = module.__name__
        if any(name == s or name.startswith(s + ".") for s in self.stubs):
            m = types.ModuleType(name); m.__path__ = []  # stub (second pass only)
            sys.modules[name] = m
            return
        try:
            sys.modules[name] = importlib.import_module(self.target)
            if name == "torch":
                # As `import torch` leaves torch.nn, torch.nn.init ... in sys.modules (transformers looks them
                # up there to patch their init functions): every gpugrad module its import loaded
                for loaded in [m for m in sys.modules if m.startswith("gpugrad.")]:
                    sys.modules.setdefault("torch" + loaded[len("gpugrad"):], sys.modules[loaded])
        except ModuleNotFoundError as e:
            parent, _, leaf = self.target.rpartition(".")
            pm = sys.modules.get(parent)
            if pm is not None and isinstance(getattr(pm, leaf, None), types.ModuleType):
                sys.modules[name] = getattr(pm, leaf); return
            raise ModuleNotFoundError(f"No module named '{self.target}' (script imports '{name}')", name=self.target) from None


class TorchToGpugrad(importlib.abc.MetaPathFinder):
    """Answers every `torch`/`torch.X` import before the real torch's finder can."""
    def __init__(self, stubs): self.stubs = stubs
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            return importlib.machinery.ModuleSpec(fullname, _Alias("gpugrad" + fullname[5:], self.stubs), is_package=True)
        return None


def install(stubs=()):
    """Map every later `torch` / `torch.X` import of this process to `gpugrad` / `gpugrad.X`; the named
    `stubs` (torch.X modules) become empty modules instead."""
    sys.meta_path.insert(0, TorchToGpugrad(list(stubs)))
