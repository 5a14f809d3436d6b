"""``torch._higher_order_ops``: PyTorch's operators that take functions, run eagerly: ``associative_scan``
(transformers' Mamba imports it), ``cond`` and ``while_loop`` (also ``gg.cond`` and ``gg.while_loop``, as
``torch.cond`` and ``torch.while_loop``)."""
from .associative_scan import associative_scan
from .cond import cond
from .while_loop import while_loop

__all__ = ["associative_scan", "cond", "while_loop"]
