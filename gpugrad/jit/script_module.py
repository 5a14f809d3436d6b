"""What ``jit.script`` and ``jit.trace`` make of a module: a ScriptModule that runs the module's own Python.

gpugrad compiles no TorchScript. A scripted module is still a distinct module of class
``RecursiveScriptModule`` (``isinstance(m, torch.jit.ScriptModule)`` holds, as under PyTorch), holding
the same parameters and buffers, its submodules scripted in turn; calling it runs the original forward, and
an exception raised there reaches the caller as ``torch.jit.Error`` (a RuntimeError), as TorchScript's
interpreter reports one."""
from __future__ import annotations

from typing import Any

from ..nn.module import Module


class ScriptModule(Module):
    """TorchScript's compiled module (``torch.jit.ScriptModule``, ``torch.ScriptModule``)."""


class Error(RuntimeError):
    """An exception raised inside a scripted module (``torch.jit.Error``): its message names the original."""


class RecursiveScriptModule(ScriptModule):
    """What ``torch.jit.script(module)`` returns: the module's class, scripted (see the module docstring).
    ``original_name`` is the class it came from."""

    original_name = "RecursiveScriptModule"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Error:
            raise
        except Exception as e:
            raise Error(f"The following operation failed in the TorchScript interpreter.\n"
                        f"{type(e).__name__}: {e}") from e


_script_classes: dict[type, type] = {}


def script_module(module: Module, memo: dict | None = None) -> ScriptModule:
    """``module`` as a RecursiveScriptModule: a shallow copy of it (its own lists of parameters, buffers and
    submodules, the same tensors in them), each submodule scripted once."""
    if isinstance(module, ScriptModule):
        return module
    memo = {} if memo is None else memo
    if id(module) in memo:
        return memo[id(module)]
    kind = type(module)
    scripted_kind = _script_classes.get(kind)
    if scripted_kind is None:
        scripted_kind = type("RecursiveScriptModule", (RecursiveScriptModule, kind),
                             {"original_name": kind.__name__, "__module__": __name__})
        _script_classes[kind] = scripted_kind
    scripted = object.__new__(scripted_kind)  # a shallow copy that asks the module for nothing (no __getstate__)
    scripted.__dict__.update(module.__dict__)
    memo[id(module)] = scripted
    d = scripted.__dict__
    for store in ("_parameters", "_buffers", "_modules"):
        if store in d:
            d[store] = type(d[store])(d[store])
    for name, child in list(d.get("_modules", {}).items()):
        if child is not None:
            d["_modules"][name] = script_module(child, memo)
    return scripted
