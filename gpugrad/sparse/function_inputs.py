"""Sparse COO tensors as inputs of a user's ``autograd.Function``, as PyTorch passes them: ``forward``
gets each sparse tensor itself, ``ctx.save_for_backward`` may keep it, and ``backward`` returns None, a
sparse or a dense gradient for it.

``Function.apply`` reads every input's array, which a sparse tensor does not have, so it hands such a
call here. A sparse tensor carries its graph in its values, so the call is recorded as one application
of ``with_sparse_inputs(cls)``: a subclass of the user's Function (its name, so ``grad_fn`` reads as the
user's) whose inputs are the arguments with each sparse tensor's values in its place. Its forward calls
the user's forward with the sparse tensors themselves; its backward turns the gradient the user returns
for a sparse input into its values' gradient: the gradient's entries at the input's indices (so the
gradient of a sparse tensor made from values that require grad is PyTorch's, and a sparse leaf's
``.grad`` keeps the leaf's own indices).
"""
from __future__ import annotations

import functools

from ..autograd.function import Function
from ..errors import ShapeError
from ..tensor import Tensor
from .coo import SparseTensor


def apply(cls: type, args: tuple, kwargs: dict):
    """``cls.apply(*args, **kwargs)`` where some of ``args`` are sparse tensors."""
    inputs = tuple(a._sparse_values if isinstance(a, SparseTensor) else a for a in args)
    return with_sparse_inputs(cls).apply(*inputs, sparse_call_args=args, **kwargs)


@functools.cache  # one subclass per user Function class that is ever given a sparse tensor
def with_sparse_inputs(cls: type) -> type:
    """The user's Function ``cls`` taking each sparse argument's values in its place (module docstring)."""
    return type(cls.__name__, (cls,), {
        "__qualname__": cls.__qualname__,
        "__module__": cls.__module__,
        "user_function": cls,
        "forward": staticmethod(_forward),
        "backward": staticmethod(_backward),
        "setup_context": Function.__dict__["setup_context"],  # apply calls _forward with ctx, as forward(ctx, ...)
    })


def _forward(ctx, *inputs, sparse_call_args: tuple, **kwargs):
    user = ctx.fn.user_function
    ctx._sparse_inputs = {i: a for i, a in enumerate(sparse_call_args) if isinstance(a, SparseTensor)}
    if user.setup_context is not Function.setup_context:  # PyTorch's forward(*args) with setup_context
        out = user.forward(*sparse_call_args, **kwargs)
        user.setup_context(ctx, sparse_call_args, out)
        return out
    return user.forward(ctx, *sparse_call_args, **kwargs)


def _backward(ctx, *grads):
    grads_in = ctx.fn.user_function.backward(ctx, *grads)
    if not isinstance(grads_in, tuple):
        grads_in = (grads_in,)
    sparse = ctx._sparse_inputs
    return tuple(_values_gradient(ctx.op_name, sparse[i], g) if i in sparse and g is not None else g
                 for i, g in enumerate(grads_in))


def _values_gradient(op: str, sparse: SparseTensor, grad: Tensor) -> Tensor:
    """The gradient of ``sparse``'s values from ``grad`` (dense or sparse), the gradient of ``sparse``
    itself: its entries at ``sparse``'s indices, each repeated index getting the whole entry."""
    if not isinstance(grad, Tensor) or tuple(grad.shape) != tuple(sparse.shape):
        got = tuple(grad.shape) if isinstance(grad, Tensor) else type(grad).__name__
        raise ShapeError(f"{op}: backward returned a gradient of shape {got} for a sparse input of shape "
                         f"{tuple(sparse.shape)}")
    dense = grad.to_dense() if isinstance(grad, SparseTensor) else grad
    return dense[tuple(sparse._indices().unbind(0))]
