"""``torch.ao.quantization``: the two modules a float model holds to mark where quantization would begin and
end (``QuantStub``, ``DeQuantStub``: torchvision's quantizable models build them). Until a model is
converted they pass their input through, as PyTorch's do, and gpugrad converts nothing: the quantization
flow itself (qconfigs, observers, ``prepare``, ``convert``, ``quantize_dynamic``) is absent and says so."""
from __future__ import annotations

from typing import Any

from ...nn.module import Module
from ...tensor import Tensor


class _Stub(Module):
    """A marker module that passes its input through until a model is converted (never, here)."""

    def __init__(self, qconfig: Any = None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x: Tensor) -> Tensor:
        return x


class QuantStub(_Stub):
    """Where a quantized model would quantize its float input; before conversion, the input itself."""


class DeQuantStub(_Stub):
    """Where a quantized model would return to float; before conversion, the input itself."""


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"gpugrad.ao.quantization.{name}: gpugrad has no quantization (no int8 tensors, "
                         "observers or prepare/convert); only QuantStub and DeQuantStub, which pass float "
                         "tensors through")


__all__ = ["DeQuantStub", "QuantStub"]
