"""``gg.utils.checkpoint``: activation checkpointing (torch.utils.checkpoint).

``checkpoint(fn, *args)`` runs ``fn`` without recording its graph, keeping only its inputs; backward runs
``fn`` again with gradients on (the random generator set back to its state at the first run, so dropout
draws the same masks) and differentiates that second run. Memory for the activations inside ``fn`` is
traded for a second forward.

When ``fn`` is a module or a module's method, its parameters are inputs of the checkpoint's node, so
their gradients flow out of it like any input's: ``backward()``, ``gg.autograd.grad`` and
``backward(inputs=...)`` all work. For any other callable the parameters it uses cannot be seen: its
backward accumulates their gradients into ``.grad`` in a pass of its own, which serves ``backward()``
only (``grad()`` through it raises, as PyTorch's reentrant variant does).

``use_reentrant=True`` (PyTorch's default when the flag is not given, with its warning) records nothing
when no input requires grad, as PyTorch's does; ``use_reentrant=False`` also records when only ``fn``'s
parameters require grad, and takes keyword arguments for ``fn``. Double backward through a checkpoint is
not supported.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

from .. import factory
from ..autograd import engine, grad
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..errors import ArgumentError
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    """Positional inputs: a marker tensor that requires grad (so that the node is recorded whenever grad
    mode is on), the parameters of ``fn`` when it is a module or a module's method (its gradients then
    flow out of this node like any input's), then ``fn``'s arguments (``tensor_args``: which were
    Tensors)."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, marker, *params_and_args, params, run_function, tensor_args, preserve_rng_state, kwargs,
                layout):
        ctx.params, ctx.n_params = params, len(params or ())
        args = params_and_args[ctx.n_params:]
        ctx.run_function, ctx.tensor_args, ctx.kwargs = run_function, tensor_args, kwargs
        ctx.other_args = {i: a for i, (a, is_tensor) in enumerate(zip(args, tensor_args)) if not is_tensor}
        ctx.rng_state = get_rng_state() if preserve_rng_state else None
        ctx.save_for_backward(*[a for a, is_tensor in zip(args, tensor_args) if is_tensor])
        inputs = [Tensor._make(a, ctx.backend) if is_tensor else a for a, is_tensor in zip(args, tensor_args)]
        with no_grad():
            outputs = run_function(*inputs, **kwargs)
        single = isinstance(outputs, Tensor)
        items = (outputs,) if single else tuple(outputs)
        tensors = [o for o in items if isinstance(o, Tensor)]
        if not tensors:
            raise ArgumentError("checkpoint: the function must return a Tensor, or a tuple holding at least one")
        # Where the other outputs go (T5's blocks return (hidden, bias, None)): checkpoint() puts them back
        layout.append(None if single else [None if isinstance(o, Tensor) else (o,) for o in items])
        return tensors[0]._array if single else tuple(o._array for o in tensors)

    @staticmethod
    def backward(ctx, *grads):
        if is_grad_enabled():
            raise NotImplementedError("checkpoint: backward through a checkpoint with create_graph=True is not "
                                      "supported here")
        if ctx.params is None and engine.current_pass_captures():
            raise RuntimeError("Checkpointing is not compatible with .grad() or when an `inputs` parameter is passed "
                               "to .backward(). Please use .backward() and do not pass its `inputs` argument.")
        needs = ctx.needs_input_grad[1 + ctx.n_params:]
        saved = iter(ctx.saved_tensors)
        inputs = []
        for i, is_tensor in enumerate(ctx.tensor_args):
            if is_tensor:
                t = next(saved).detach()
                inputs.append(t.requires_grad_(True) if needs[i] else t)
            else:
                inputs.append(ctx.other_args[i])
        current = get_rng_state() if ctx.rng_state is not None else None
        try:
            if ctx.rng_state is not None:
                set_rng_state(ctx.rng_state)  # the same dropout masks as the first run
            with enable_grad():
                outputs = ctx.run_function(*inputs, **ctx.kwargs)
        finally:
            if current is not None:
                set_rng_state(current)
        outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(o for o in outputs if isinstance(o, Tensor))
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None and o.requires_grad]
        outputs, grads = tuple(o for o, _ in pairs), tuple(g for _, g in pairs)
        if ctx.params is None:
            # fn's parameters are not inputs of this node: their gradients accumulate into .grad in a
            # backward pass of their own, and the inputs' land in their .grad
            if outputs:
                engine.backward(outputs, grads)
            return (None, *[t.grad if need else None for t, need in zip(inputs, needs)])
        wanted = [t for t, need in zip(inputs, needs) if need] + list(ctx.params)
        found = iter(grad(outputs, wanted, grads, allow_unused=True) if outputs and wanted else [None] * len(wanted))
        input_grads = [next(found) if need else None for need in needs]
        return (None, *[next(found) for _ in ctx.params], *input_grads)


def _parameters(fn: Callable) -> list | None:
    """The parameters that require grad of ``fn`` when it is a module or a bound method of one; None for
    any other callable, whose parameters cannot be seen."""
    from ..nn.module import Module

    owner = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
    if isinstance(owner, Module):
        return [p for p in owner.parameters() if p.requires_grad]
    return None


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None, context_fn=None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs) -> Any:
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept."""
    if use_reentrant is None:
        warnings.warn("checkpoint: the use_reentrant parameter should be passed explicitly; use_reentrant=False "
                      "is recommended (gpugrad follows PyTorch's default, True)", UserWarning, stacklevel=2)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn is not supported by gpugrad")
    params = _parameters(function)
    tensor_args = tuple(isinstance(a, Tensor) for a in args)
    inputs_require_grad = any(a.requires_grad for a in args if isinstance(a, Tensor))
    if use_reentrant and not inputs_require_grad:
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", UserWarning, stacklevel=2)
    if not is_grad_enabled() or (use_reentrant and not inputs_require_grad) or params == [] and not inputs_require_grad:
        with no_grad():
            return function(*args, **kwargs)
    device = next((a.device for a in args if isinstance(a, Tensor)), None)
    marker = factory.zeros(0, device=device, requires_grad=True)
    layout: list = []
    out = _Checkpoint.apply(marker, *(params or ()), *args, params=params, run_function=function,
                            tensor_args=tensor_args, preserve_rng_state=preserve_rng_state, kwargs=kwargs,
                            layout=layout)
    if layout[0] is None:
        return out
    tensors = iter(out if isinstance(out, tuple) else (out,))
    return tuple(next(tensors) if slot is None else slot[0] for slot in layout[0])


def checkpoint_sequential(functions, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs) -> Tensor:
    """Run a Sequential (or list of modules) in ``segments`` checkpointed chunks (the last one plainly)."""
    if use_reentrant is None:
        warnings.warn("checkpoint_sequential: the use_reentrant parameter should be passed explicitly",
                      UserWarning, stacklevel=2)
        use_reentrant = True
    from ..nn.module import Module, Sequential

    functions = list(functions.children()) if isinstance(functions, Module) else list(functions)
    size = len(functions) // segments
    end = -1

    def segment(start: int, stop: int) -> Callable:
        chunk = functions[start:stop + 1]
        if all(isinstance(f, Module) for f in chunk):
            return Sequential(*chunk)  # a module: its parameters are visible to checkpoint

        def forward(x):
            for f in chunk:
                x = f(x)
            return x
        return forward

    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(segment(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return segment(end + 1, len(functions) - 1)(input)
