"""``torch._dynamo.eval_frame.OptimizedModule``: what PyTorch's torch.compile wraps a module in. gpugrad's
compile returns the module itself, so none is made by gpugrad; code that checks for one (accelerate's
``isinstance(model, OptimizedModule)`` before taking ``model._orig_mod``) finds none, and one made by hand
runs the module it wraps."""
from __future__ import annotations

from typing import Any

from ..nn.module import Module


class OptimizedModule(Module):
    """``mod``, called through: ``_orig_mod`` is the module, as in PyTorch."""

    def __init__(self, mod: Module, dynamo_ctx: Any = None) -> None:
        super().__init__()
        self._orig_mod = mod

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._orig_mod(*args, **kwargs)


def is_dynamo_supported() -> bool:
    """False: gpugrad has no TorchDynamo (``compile`` runs the Python as it is), so code that needs its
    frame tracing (or tests that ask for it) sees it absent."""
    return False
