"""The DataLoader, kept under its old path: it lives in ``gpugrad.utils.data`` (see its ``dataloader``
module for resuming a loader mid-epoch from a checkpoint)."""
from ..utils.data.collate import default_collate
from ..utils.data.dataloader import DataLoader

__all__ = ["DataLoader", "default_collate"]
