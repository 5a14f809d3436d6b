"""``torch.cpu.amp``: the deprecated CPU spellings of ``gg.autocast("cpu")`` (``autocast``) and
``gg.amp.GradScaler("cpu")`` (``GradScaler``); each warns as PyTorch's does (FutureWarning)."""
from .autocast_mode import autocast
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast"]
