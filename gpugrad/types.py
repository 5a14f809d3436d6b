"""``torch.types``: the type aliases of PyTorch's signatures, for user code that annotates with them."""
from __future__ import annotations

from typing import Sequence, Union

from .backend import Device as _device
from .dtypes import DType as _dtype  # noqa: F401  (torch.types._dtype)
from .layouts import layout as _layout  # noqa: F401
from .size import Size
from .tensor import Tensor

_int, _float, _bool, _complex, _str, _bytes = int, float, bool, complex, str, bytes
_size = Union[Size, Sequence[int]]
_Number = Union[int, float, bool, complex]
Number = Union[int, float, bool]
Device = Union[_device, str, int, None]
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]
_TensorOrOptionalTensors = Union[Tensor, Sequence[Union[Tensor, None]]]
__all__ = ["Number", "Device", "Size", "Tensor"]
