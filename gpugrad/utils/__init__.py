"""PyTorch's ``torch.utils``: ``gpugrad.utils.data`` and ``gpugrad.utils.dlpack``."""
from . import data, dlpack

__all__ = ["data", "dlpack"]
