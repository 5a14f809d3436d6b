"""``torch.backends.cudnn``: gpugrad's convolutions are its own kernels (im2col and cuBLAS), not cuDNN's,
so these flags are accepted and have no effect; ``is_available()`` says so."""
from __future__ import annotations

benchmark: bool = False
deterministic: bool = False
enabled: bool = True
allow_tf32: bool = True


def is_available() -> bool:
    """Whether gpugrad uses cuDNN: it does not."""
    return False


def version() -> None:
    """cuDNN's version: None, as PyTorch answers without cuDNN."""
    return None
