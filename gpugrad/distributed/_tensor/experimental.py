"""``torch.distributed._tensor.experimental``: the same objects as ``gg.distributed.tensor.experimental``."""
from ..tensor.experimental import implicit_replication  # noqa: F401

__all__ = ["implicit_replication"]
