"""``torch._higher_order_ops``: PyTorch's operators that take functions. gpugrad has
``associative_scan``, run eagerly (transformers' Mamba imports it)."""
from .associative_scan import associative_scan

__all__ = ["associative_scan"]
