"""Automatic differentiation: Function, the backward engine, grad modes, grad(), functional, gradcheck."""
from . import functional
from .anomaly import detect_anomaly
from .engine import run_backward
from .function import Function
from . import gradcheck as gradcheck_module
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; ``.grad`` is untouched.

    ``create_graph=True`` records the computation so the result can be differentiated again::

        x = gg.tensor(3.0, requires_grad=True)
        (dy,) = gg.grad(x ** 3, x, create_graph=True)   # 27
        (d2y,) = gg.grad(dy, x)                          # 18
    """
    single = not isinstance(inputs, (tuple, list))
    return run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=(inputs,) if single else inputs, allow_unused=allow_unused)


__all__ = [
    "Function", "grad", "functional", "gradcheck", "gradgradcheck", "detect_anomaly",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
]
