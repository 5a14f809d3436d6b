"""``gg.jit``: TorchScript's decorators and entry points, for scripts that use them on eager code.

gpugrad has no TorchScript: ``script`` and ``trace`` return a function itself and a module as a
ScriptModule that runs its own Python (script_module.py), and the decorators that steer the TorchScript
compiler (``ignore``, ``unused``, ``export``, ``interface``) leave what they decorate unchanged. Saving or
loading a TorchScript archive is refused with a clear message: save a module's ``state_dict()`` with
``gg.save``. ``ScriptFunction`` exists for type hints and isinstance checks; nothing is made one.
"""
from __future__ import annotations

from typing import Any, Callable, Final  # noqa: F401  (torch.jit.Final is typing.Final)

from ..nn.module import Module
from .script_module import Error, RecursiveScriptModule, ScriptModule, script_module  # noqa: F401  (torch's names)


class ScriptFunction:
    """TorchScript's compiled function (``torch.jit.ScriptFunction``); never made here."""


class TracerWarning(Warning):
    """The warning a trace gives where its graph may not generalise (``torch.jit.TracerWarning``); never
    given here, since ``trace`` records nothing."""


def script(obj: Any, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None) -> Any:
    """A module as a ScriptModule running its own Python (script_module.py); a function itself."""
    return script_module(obj) if isinstance(obj, Module) else obj


def trace(func: Any, example_inputs=None, *args, **kwargs) -> Any:
    """As ``script``: eager code needs no trace (its control flow stays data-dependent, unlike a trace)."""
    return script_module(func) if isinstance(func, Module) else func


def trace_module(mod: Any, inputs=None, *args, **kwargs) -> Any:
    return script_module(mod)


def freeze(mod: Any, preserved_attrs=None, optimize_numerics: bool = True) -> Any:
    return mod


def optimize_for_inference(mod: Any, other_methods=None) -> Any:
    return mod


def _decorator(fn: Callable | None = None, **_options) -> Callable:
    if fn is None or not callable(fn):  # used as @ignore(drop=True)
        return lambda f: f
    return fn


ignore = unused = export = interface = _decorator


def _overload(func: Callable) -> Callable:
    """``torch.jit._overload``: declares one typed signature of a function for TorchScript; the plain
    definition that follows is the one Python calls, so the declaration is returned unchanged."""
    return func


_overload_method = _overload  # the same for a method's signatures


def _script_if_tracing(fn: Callable) -> Callable:
    """``torch.jit._script_if_tracing``: compiled only while a trace runs; gpugrad never traces, so ``fn``."""
    return fn


def is_scripting() -> bool:
    """False: gpugrad code always runs eagerly."""
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    return the_value


def Attribute(value: Any, type: Any) -> Any:  # noqa: N802  (torch's name)
    return value


def save(m, f, _extra_files=None) -> None:
    raise NotImplementedError(
        "gg.jit.save: gpugrad has no TorchScript archives; save the module's state_dict() with gg.save")


def load(f, map_location=None, _extra_files=None):
    raise NotImplementedError(
        "gg.jit.load: gpugrad has no TorchScript archives; load a state_dict with gg.load and load_state_dict")
