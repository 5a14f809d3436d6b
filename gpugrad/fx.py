"""torch.fx's ``wrap``, for libraries that mark functions as leaves of an FX trace (timm's layers do, at
import). gpugrad records its graphs as the code runs and has no FX tracer: ``wrap`` returns what it is
given, and the rest of torch.fx is absent, saying so."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["wrap"]


def wrap(fn_or_name: str | Callable[..., Any]) -> str | Callable[..., Any]:
    """``fn_or_name`` itself (a function, as a decorator, or a function's name, at module level)."""
    return fn_or_name


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"gpugrad.fx has no {name!r}: gpugrad has no FX graph tracer (only fx.wrap, which changes "
                         "nothing); the model runs as its Python")
