"""``torch.backends.mps``: Apple's Metal backend, which gpugrad has not (CPU and NVIDIA GPUs only)."""
from __future__ import annotations


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
