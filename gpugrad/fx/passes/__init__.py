"""``torch.fx.passes``: analyses over an FX graph."""
from . import shape_prop

__all__ = ["shape_prop"]
