"""Automatic differentiation: Function, the backward engine, grad modes, grad(), functional, gradcheck."""
from . import forward_ad, functional, graph, profiler
from .anomaly import detect_anomaly, set_detect_anomaly
from .profiler_state import _disable_profiler, _profiler_enabled  # noqa: F401  (torch.autograd's private names)
from . import anomaly_mode  # noqa: F401  (torch.autograd.anomaly_mode)
from ..errors import ArgumentError, ShapeError
from . import function
from .engine import backward as _engine_backward
from .engine import _as_tuple, run_backward
from .function import Function
from . import gradcheck as gradcheck_module
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled
from .variable import Variable


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, grad_variables=None,
             inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` (weighted by ``grad_tensors``) into the leaves' ``.grad``,
    or into ``inputs``' alone when given (``torch.autograd.backward``)."""
    if grad_variables is not None:
        if grad_tensors is not None:
            raise ArgumentError("backward: give grad_tensors, not both it and its old name grad_variables")
        grad_tensors = grad_variables
    _engine_backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; ``.grad`` is untouched.

    ``create_graph=True`` records the computation so the result can be differentiated again::

        x = gg.tensor(3.0, requires_grad=True)
        (dy,) = gg.grad(x ** 3, x, create_graph=True)   # 27
        (d2y,) = gg.grad(dy, x)                          # 18

    An input the outputs do not depend on is an error unless ``allow_unused=True`` (its gradient is then
    None) or ``materialize_grads=True`` (its gradient is then zeros). ``only_inputs`` is accepted and
    ignored, as PyTorch does.
    """
    # One tensor, or any iterable of them (``model.parameters()``), as PyTorch takes them.
    inputs = (inputs,) if isinstance(inputs, function._Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if is_grads_batched:
        return _grad_batched(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads)
    if materialize_grads and allow_unused is False:
        raise ArgumentError(
            "grad: expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False"
        )
    allow_unused = bool(allow_unused) or bool(materialize_grads)
    grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs, allow_unused=allow_unused)
    if materialize_grads:
        grads = tuple(g if g is not None else _zeros_like(x) for g, x in zip(grads, inputs))
    return grads


def _grad_batched(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    """``is_grads_batched=True``: each grad_output has a leading batch dim; one backward per slice (PyTorch
    vectorises this with vmap; the values are the same), the results stacked along that dim."""
    outs, cots = _as_tuple(outputs), _as_tuple(grad_outputs)
    if grad_outputs is None or len(cots) != len(outs) or any(c is None for c in cots):
        raise ArgumentError("grad: is_grads_batched=True needs a batched grad_output for every output")
    batch = cots[0].shape[0] if cots[0].ndim else None
    for o, c in zip(outs, cots):
        if c.ndim != o.ndim + 1 or c.shape[0] != batch or tuple(c.shape[1:]) != tuple(o.shape):
            raise ShapeError(f"grad: with is_grads_batched=True each grad_output must have shape (B, *output.shape); "
                             f"got {tuple(c.shape)} for an output of shape {tuple(o.shape)}")
    from ..ops import stack  # autograd sits below the ops

    per_slice = []
    for b in range(batch):
        keep = True if b < batch - 1 else retain_graph
        per_slice.append(grad(outs, inputs, tuple(c[b] for c in cots), retain_graph=keep, create_graph=create_graph,
                              allow_unused=allow_unused, materialize_grads=materialize_grads))
    stacked = []
    for i in range(len(per_slice[0])):
        column = [g[i] for g in per_slice]
        stacked.append(None if any(c is None for c in column) else stack(column))
    return tuple(stacked)


def _zeros_like(x):
    return function._Tensor._make(x._backend.xp.zeros_like(x._array), x._backend)


__all__ = [
    "Function", "grad", "functional", "gradcheck", "gradgradcheck", "detect_anomaly",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
    "is_inference_mode_enabled", "Variable",
]
