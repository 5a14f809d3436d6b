"""torch.fx's ``wrap``, for libraries that mark functions as leaves of an FX trace (timm's layers do, at
import). gpugrad records its graphs as the code runs and has no FX tracer: ``wrap`` returns what it is
given. ``Graph`` and ``GraphModule`` are there for type hints and isinstance checks (Lightning's annotations
name them) and refuse to be made; the rest of torch.fx is absent, saying so."""
from __future__ import annotations

from typing import Any, Callable

from .nn.module import Module

__all__ = ["Graph", "GraphModule", "wrap"]

_NO_FX = "gpugrad has no FX graph tracer (only fx.wrap, which changes nothing); the model runs as its Python"


class Graph:
    """An FX graph (PyTorch's ``torch.fx.Graph``): never made here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"gpugrad.fx.Graph: {_NO_FX}")


class GraphModule(Module):
    """A module made from an FX graph (PyTorch's ``torch.fx.GraphModule``): never made here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"gpugrad.fx.GraphModule: {_NO_FX}")


def wrap(fn_or_name: str | Callable[..., Any]) -> str | Callable[..., Any]:
    """``fn_or_name`` itself (a function, as a decorator, or a function's name, at module level)."""
    return fn_or_name


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"gpugrad.fx has no {name!r}: {_NO_FX}")
