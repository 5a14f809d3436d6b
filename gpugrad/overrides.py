"""``torch.overrides``: PyTorch's ``__torch_function__`` protocol, through which a Tensor subclass or a
``TorchFunctionMode`` intercepts every call. gpugrad does not route calls through it: nothing has a torch
function to handle (``has_torch_function`` is False), and entering a mode says so rather than letting it
see nothing. The class exists for code that subclasses it at import (diffusers' layer skipping)."""
from __future__ import annotations

from typing import Any

from .tensor import Tensor

__all__ = ["TorchFunctionMode", "has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "handle_torch_function", "is_tensor_like"]


class TorchFunctionMode:
    """A mode whose ``__torch_function__`` would see every call made inside ``with mode:``."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self) -> "TorchFunctionMode":
        raise NotImplementedError(f"{type(self).__name__}: gpugrad does not route calls through __torch_function__ "
                                  "modes, so this mode would see none of them")

    def __exit__(self, *exc) -> None:
        return None


def has_torch_function(relevant_args: Any) -> bool:
    """False: no argument's ``__torch_function__`` is ever called by gpugrad."""
    return False


def has_torch_function_unary(inp: Any) -> bool:
    return False


def has_torch_function_variadic(*args: Any) -> bool:
    return False


def handle_torch_function(public_api, relevant_args, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("handle_torch_function: gpugrad does not dispatch through __torch_function__")


def is_tensor_like(inp: Any) -> bool:
    """Whether ``inp`` is a gpugrad Tensor."""
    return isinstance(inp, Tensor)
