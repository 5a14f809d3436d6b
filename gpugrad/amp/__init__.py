"""``torch.amp``: autocast (mixed precision by op: autocast_mode.py, policy.py) and GradScaler (PyTorch's
loss scaling and step skipping)."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from .custom_function import custom_bwd, custom_fwd
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype", "is_autocast_enabled"]
