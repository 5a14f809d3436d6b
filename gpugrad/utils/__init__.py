"""PyTorch's ``torch.utils``: ``gpugrad.utils.data``, ``gpugrad.utils.dlpack``, ``gpugrad.utils.checkpoint``
(``benchmark`` and ``tensorboard`` are imported on use), and ``swap_tensors``."""
import weakref

from ..tensor import Tensor, _instance_dict, _set_instance_dict
from . import checkpoint, data, dlpack, weak  # noqa: F401  (weak: torch.utils.weak, imported with torch)

__all__ = ["checkpoint", "data", "dlpack", "swap_tensors"]


def swap_tensors(t1: Tensor, t2: Tensor) -> None:
    """Swap the contents of two Tensor objects (data, gradient, graph place, class: a Parameter stays where
    it is and holds the other's values), keeping each object's identity, as ``torch.utils.swap_tensors``.
    Like PyTorch's, it refuses tensors something holds a weak reference to (an optimizer's flat buffers
    do), since their holders would see the swap."""
    if not isinstance(t1, Tensor) or not isinstance(t2, Tensor):
        raise TypeError(f"swap_tensors: expected two Tensors, got {type(t1).__name__} and {type(t2).__name__}")
    for name, t in (("t1", t1), ("t2", t2)):
        if weakref.getweakrefs(t):
            raise RuntimeError(f"Cannot swap {name} because it has weakref associated with it")
    d1, d2 = _instance_dict(t1), _instance_dict(t2)  # the whole dicts: gpugrad's own state and attributes
    _set_instance_dict(t1, d2)
    _set_instance_dict(t2, d1)
    t1.__class__, t2.__class__ = t2.__class__, t1.__class__
