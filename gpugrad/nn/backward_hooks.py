"""Module backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``), as
PyTorch's: a call of a module with such hooks passes its Tensor inputs and outputs through identity
nodes. The outputs' node sees the gradients with respect to the outputs (``grad_output``; pre-hooks may
replace them); the inputs' node sees those with respect to the inputs (``grad_input``) and calls the hooks
``hook(module, grad_input, grad_output)``, any of which may return new ``grad_input``. When no input
requires grad, the hooks fire at the outputs' node with ``grad_input`` all None (PyTorch warns there too).
"""
from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor


class _Call:
    """One call of the module: what the outputs' node hands to the inputs' node."""

    def __init__(self, module, n_inputs: int) -> None:
        self.module = module
        self.n_inputs = n_inputs
        self.grad_output = None


def _as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _run_hooks(call: _Call, grad_input: tuple) -> tuple:
    for hook in tuple(call.module._backward_hooks.values()):
        result = hook(call.module, grad_input, call.grad_output)
        if result is not None:
            result = _as_tuple(result)
            if len(result) != len(grad_input):
                raise RuntimeError(f"backward hook of {type(call.module).__name__}: returned {len(result)} "
                                   f"gradients, expected {len(grad_input)}")
            grad_input = result
    return grad_input


class _Inputs(Function):
    """Identity on the module's Tensor inputs; its backward calls the full backward hooks."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays
    is_view = True

    @staticmethod
    def forward(ctx, *arrays, call):
        ctx.call = call
        return tuple(a.view() for a in arrays) if len(arrays) > 1 else arrays[0].view()

    @staticmethod
    def backward(ctx, *grads):
        return _run_hooks(ctx.call, grads)


class _Outputs(Function):
    """Identity on the module's Tensor outputs; its backward runs the pre-hooks and keeps grad_output."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays
    is_view = True

    @staticmethod
    def forward(ctx, *arrays, call, inputs_recorded):
        ctx.call, ctx.inputs_recorded = call, inputs_recorded
        return tuple(a.view() for a in arrays) if len(arrays) > 1 else arrays[0].view()

    @staticmethod
    def backward(ctx, *grads):
        call = ctx.call
        for hook in tuple(call.module._backward_pre_hooks.values()):
            result = hook(call.module, grads)
            if result is not None:
                grads = _as_tuple(result)
        call.grad_output = grads
        if not ctx.inputs_recorded and call.module._backward_hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                          "outputs since no inputs require gradients.", UserWarning, stacklevel=2)
            _run_hooks(call, (None,) * call.n_inputs)
        return grads


def call_with_backward_hooks(module, args: tuple, kwargs: dict):
    """``module.forward(*args, **kwargs)`` with its inputs and outputs passed through the hook nodes."""
    if not is_grad_enabled():
        return module.forward(*args, **kwargs)
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    call = _Call(module, len(positions))
    inputs_recorded = any(args[i].requires_grad for i in positions)
    if inputs_recorded:
        wrapped = _as_tuple(_Inputs.apply(*[args[i] for i in positions], call=call))
        args = list(args)
        for i, t in zip(positions, wrapped):
            args[i] = t
        args = tuple(args)
    out = module.forward(*args, **kwargs)
    outs = _as_tuple(out)
    places = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not places:
        return out
    wrapped = _as_tuple(_Outputs.apply(*[outs[i] for i in places], call=call, inputs_recorded=inputs_recorded))
    outs = list(outs)
    for i, t in zip(places, wrapped):
        outs[i] = t
    return tuple(outs) if isinstance(out, tuple) else outs[0]
