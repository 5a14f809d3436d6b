"""PyTorch's ``torch.utils``: so far ``gpugrad.utils.data``."""
from . import data

__all__ = ["data"]
