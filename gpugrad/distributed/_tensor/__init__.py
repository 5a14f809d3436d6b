"""``torch.distributed._tensor``: PyTorch's deprecated path of ``torch.distributed.tensor`` (same objects)."""
from ..tensor import *  # noqa: F401,F403
from ..tensor import __all__  # noqa: F401
