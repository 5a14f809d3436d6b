"""PyTorch's ``torch.utils``: ``gpugrad.utils.data``, ``gpugrad.utils.dlpack`` and
``gpugrad.utils.checkpoint``."""
from . import checkpoint, data, dlpack

__all__ = ["checkpoint", "data", "dlpack"]
