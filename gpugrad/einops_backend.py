"""einops' backend for gpugrad tensors: ``rearrange``, ``reduce``, ``repeat``, ``pack`` and ``einsum`` of
einops work on them directly (``import gpugrad as torch`` scripts included), differentiably.

einops finds a backend among the subclasses of its ``AbstractBackend`` whose framework is imported.
gpugrad's is einops' own torch backend pointed at gpugrad (the names and semantics it calls are
PyTorch's, which gpugrad's are), defined at gpugrad's import when einops is installed (a 3 ms import).
einops' layers (``einops.layers.torch``) subclass PyTorch's Module and are not served.
"""
from __future__ import annotations

import importlib.util


def register() -> None:
    """Define the backend if einops is installed (einops then picks it up by itself)."""
    if importlib.util.find_spec("einops") is None:
        return
    from einops._backends import TorchBackend

    class GpugradBackend(TorchBackend):
        framework_name = "gpugrad"

        def __init__(self) -> None:
            import gpugrad

            self.torch = gpugrad  # no torch._dynamo registration, which TorchBackend's own __init__ makes

        def layers(self):
            raise NotImplementedError("einops.layers for gpugrad: einops' layers subclass PyTorch's Module; "
                                      "call rearrange / reduce inside a gpugrad Module instead")

    globals()["GpugradBackend"] = GpugradBackend
