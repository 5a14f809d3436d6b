"""``torch.cpu.amp.autocast_mode``: ``autocast(enabled, dtype, cache_enabled)``, deprecated in PyTorch in
favour of ``torch.amp.autocast("cpu", ...)``, which it is here."""
from __future__ import annotations

import warnings

from ... import dtypes
from ...amp import autocast as _autocast

__all__ = ["autocast"]


class autocast(_autocast):
    """``torch.cpu.amp.autocast(...)``: ``gg.autocast("cpu", ...)`` (bfloat16 by default), with PyTorch's
    FutureWarning."""

    def __init__(self, enabled: bool = True, dtype: dtypes.DType = dtypes.bfloat16, cache_enabled: bool = True) -> None:
        warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('cpu', args...)` "
                      "instead.", FutureWarning, stacklevel=2)
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
