"""``torch.amp``: autocast (mixed precision by op: autocast_mode.py, policy.py) and GradScaler (PyTorch's
loss scaling and step skipping)."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
