"""How tensors cross process boundaries through multiprocessing's pickler (queues, pipes, the arguments of
a spawned process), registered on ``ForkingPickler`` as PyTorch registers its own.

A tensor in shared memory (``share_memory_()``, ``Module.share_memory()``) crosses by reference: the
receiver maps the same memory, so an update on either side is seen by both (Hogwild training). Any other
tensor crosses by value, as plain ``pickle`` takes it (gpugrad/pickling.py): gpugrad does not move a
tensor into shared memory behind the sender's back, where PyTorch does.
"""
from __future__ import annotations

from multiprocessing.reduction import ForkingPickler

from ..pickling import reduce_tensor as reduce_by_value
from ..tensor import Tensor
from . import shared


def _rebuild_shared(cls: type, where: tuple, shape: tuple, strides: tuple, dtype: str, requires_grad: bool) -> Tensor:
    from ..backend import get

    t = Tensor._make(shared.attach(*where, shape, strides, dtype), get("cpu"))
    return _as(cls, t, requires_grad)


def _as(cls: type, t: Tensor, requires_grad: bool) -> Tensor:
    from ..nn.parameter import Parameter

    if cls is Parameter:
        return Parameter(t, requires_grad)
    return t.requires_grad_(requires_grad) if requires_grad else t


def reduce_tensor(t: Tensor):
    if t.grad_fn is not None:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does not support "
            "crossing process boundaries. If you just want to transfer the data, call detach() on the tensor "
            "before serializing (e.g., putting it on the queue).")
    from ..nn.parameter import Parameter

    cls = Parameter if isinstance(t, Parameter) else Tensor
    if t.device.type == "cpu" and shared.is_shared(t._array):
        a = t._array
        return _rebuild_shared, (cls, shared.location(a), a.shape, a.strides, a.dtype.str, t.requires_grad)
    return reduce_by_value(t)


def register() -> None:
    from ..nn.parameter import Buffer, Parameter

    for cls in (Tensor, Parameter, Buffer):
        ForkingPickler.register(cls, reduce_tensor)
