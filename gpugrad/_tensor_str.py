"""``torch._tensor_str``: the print options in force (``PRINT_OPTS``) and a tensor's values as text
without ``tensor(`` and its suffixes (``_tensor_str``), which libraries use to write tensors into text
files. The formatting itself is printing.py's."""
from __future__ import annotations

from .printing import _OPTIONS as PRINT_OPTS
from .printing import tensor_body
from .tensor import Tensor

__all__ = ["PRINT_OPTS"]


def _tensor_str(self: Tensor, indent: int) -> str:
    """``self``'s values, bracketed and laid out as ``repr`` lays them out after a prefix of ``indent``
    characters."""
    return tensor_body(self.detach().cpu().numpy(), indent)
