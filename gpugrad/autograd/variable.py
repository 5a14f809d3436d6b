"""``Variable``: PyTorch's pre-0.4 wrapper, kept so old code runs. It returns a plain Tensor."""
from __future__ import annotations

from . import function


def Variable(data, requires_grad: bool = False, volatile: bool = False):
    """A new leaf Tensor sharing ``data``'s memory, with ``requires_grad`` set, as PyTorch's Variable
    (merged into Tensor) returns; ``volatile`` is accepted and ignored, as PyTorch does."""
    if not isinstance(data, function._Tensor):
        raise TypeError(f"Variable: data has to be a Tensor, but got {type(data).__name__}")
    return data.detach().requires_grad_(requires_grad)
