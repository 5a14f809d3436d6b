"""``torch.nn.utils.stateless``: the older home of ``functional_call``, deprecated in PyTorch in favour of
``torch.func.functional_call``; here it is ``gg.func.functional_call`` after PyTorch's warning. Its
``_reparametrize_module`` (the context manager under ``functional_call``, which libraries use directly:
zuko's Bayesian layers) is the swap ``gg.func.functional_call`` makes."""
from __future__ import annotations

import contextlib
import warnings
from typing import Any

from ...func import _reparametrized, functional_call as _functional_call
from ...tensor import Tensor
from ..module import Module

__all__ = ["functional_call"]


def functional_call(module: Module, parameters_and_buffers: dict[str, Tensor], args: Any = None,
                    kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` (keys as in
    ``state_dict``) in place of the module's own; the module is unchanged afterwards. A non-tuple
    ``args`` is one positional argument. Deprecated: use ``gg.func.functional_call``."""
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in a future "
        "version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in replacement.",
        FutureWarning, stacklevel=2,
    )
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)


@contextlib.contextmanager
def _reparametrize_module(module: Module, parameters_and_buffers: dict[str, Tensor], tie_weights: bool = False,
                          strict: bool = False, stack_weights: bool = False):
    """Within the block, ``module``'s parameters and buffers named in ``parameters_and_buffers`` (keys as
    in ``state_dict``) are the given tensors; afterwards the originals are back, and a tensor the module
    assigned meanwhile in place of a given one is written back into ``parameters_and_buffers``. The
    originals are restored last in, first out whatever ``stack_weights`` says (PyTorch restores in order
    unless it is set, which leaves a submodule reached by two names swapped)."""
    with _reparametrized(module, parameters_and_buffers, tie_weights=tie_weights, strict=strict):
        yield
