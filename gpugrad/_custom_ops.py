"""``torch._custom_ops``, PyTorch's older spelling for custom operators' helpers, which libraries still
import (torchvision's shape functions): ``get_ctx``."""
from __future__ import annotations


def get_ctx():
    """The context of a running fake (shape) implementation. gpugrad never runs one (register_fake keeps
    shape functions without calling them), so asking outside one is an error, as in PyTorch."""
    raise RuntimeError("get_ctx(): only a fake implementation (register_fake) may ask for its context, and "
                       "gpugrad runs none")
