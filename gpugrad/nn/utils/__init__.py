"""Parameter utilities: ``clip_grad_norm_`` (``get_total_norm`` then ``clip_grads_with_norm_``),
``clip_grad_value_``, ``parameters_to_vector`` and ``vector_to_parameters`` (also importable from the
submodules ``clip_grad`` and ``convert_parameters``, as in PyTorch); ``weight_norm`` and
``spectral_norm`` (the hook-based forms, weight_norm.py); ``nn.utils.rnn`` holds the packed sequences of
the recurrent layers; ``parametrize`` and ``parametrizations`` the parametrizations; ``stateless``,
``fusion`` (``fuse_conv_bn_eval`` ...) and ``skip_init`` (init.py) the rest of ``torch.nn.utils``."""
from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

from ... import dtypes
from ...autograd.grad_mode import no_grad
from ...errors import DeviceError, ShapeError
from ...tensor import Tensor
from . import parametrizations, parametrize, prune, rnn, stateless  # noqa: F401  (nn.utils.<name>, as in PyTorch)
from .fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: F401
from .init import skip_init  # noqa: F401
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401  (the functions, bound over the submodules)
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401


def _sum_of_squares(backend, g):
    xp = backend.xp
    if g.dtype.kind == "c":  # |z|^2 summed: the squares of the parts
        g = xp.ascontiguousarray(g).reshape(-1).view(g.real.dtype)
    try:
        from ...kernels.optim import sum_of_squares
    except ImportError:
        sum_of_squares = None
    if sum_of_squares is not None:
        return float(sum_of_squares(xp, g, impl=backend.kernel_impl))
    return float((g.astype(xp.float64) ** 2).sum()) if g.dtype != xp.float64 else float((g * g).sum())


def _norm_of(op: str, tensors: list, norm_type: float, error_if_nonfinite: bool) -> float:
    """The norm of ``tensors`` taken together, as if concatenated, as a Python float."""
    backend = tensors[0]._backend
    xp = backend.xp
    if norm_type == math.inf:
        total = max(float(xp.abs(t._array).max()) if t._array.size else 0.0 for t in tensors)
    elif norm_type == 2.0:
        total = math.sqrt(sum(_sum_of_squares(t._backend, t._array) for t in tensors))
    else:
        total = sum(float((xp.abs(t._array).astype(xp.float64) ** norm_type).sum()) for t in tensors) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{op}: the total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, "
            "set `error_if_nonfinite=False`"
        )
    return total


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _scale(grads: list, max_norm: float, total: float) -> None:
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:  # PyTorch clamps the coefficient to 1: gradients are never scaled up
        with no_grad():
            for g in grads:
                g.mul_(coef)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The norm of ``tensors`` (usually gradients) taken together, as if concatenated; 0 for none."""
    from ... import factory

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if not tensors:
        return factory.tensor(0.0)
    total = _norm_of("get_total_norm", tensors, float(norm_type), error_if_nonfinite)
    return factory.tensor(total, dtype=dtypes.real_of(tensors[0].dtype), device=tensors[0].device)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor | float, foreach=None) -> None:
    """Scale the gradients of ``parameters`` by max_norm / (total_norm + 1e-6) when that is below 1, given
    a ``total_norm`` already computed (by ``get_total_norm``, possibly over more parameters)."""
    _scale(_grads(parameters), max_norm, float(total_norm))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their joint norm is at most ``max_norm``.

    The total norm is taken over all gradients together, as if concatenated; gradients are multiplied
    by max_norm / (total + 1e-6) only when that is below 1. Returns the total norm (before clipping)::

        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    """
    from ... import factory

    grads = _grads(parameters)
    max_norm = float(max_norm)
    if not grads:
        return factory.tensor(0.0)
    total = _norm_of("clip_grad_norm_", grads, float(norm_type), error_if_nonfinite)
    _scale(grads, max_norm, total)
    return factory.tensor(total, dtype=dtypes.real_of(grads[0].dtype), device=grads[0].device)


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_`` (PyTorch's old name; it warns as PyTorch's does)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element of ``parameters`` into [-clip_value, clip_value], in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    for p in parameters:
        if p.grad is not None:
            xp = p.grad._backend.xp
            xp.clip(p.grad._array, -clip_value, clip_value, out=p.grad._array)
            p.grad._version_ref[0] += 1


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable, as PyTorch's)."""
    from ...ops.shape import cat

    parameters = list(parameters)
    _check_same_device("parameters_to_vector", parameters)
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters``, in order (the inverse of
    ``parameters_to_vector``). Values are copied into each parameter's own memory, which optimizers may
    hold views of; PyTorch instead rebinds each parameter to a view of ``vec``."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got: {type(vec).__name__}")
    parameters = list(parameters)
    _check_same_device("vector_to_parameters", parameters)
    needed = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() < needed:
        raise ShapeError(
            f"vector_to_parameters: expected a 1-D vector of at least {needed} elements for the parameters, "
            f"got shape {tuple(vec.shape)}"
        )
    if parameters and vec.device != parameters[0].device:
        raise DeviceError(f"vector_to_parameters: vec is on {vec.device}, the parameters on {parameters[0].device}")
    start = 0
    for p in parameters:
        n = p.numel()
        p._array[...] = vec._array[start : start + n].reshape(p._array.shape)
        p._version_ref[0] += 1
        start += n


def _check_same_device(op: str, parameters: list) -> None:
    devices = {str(p.device) for p in parameters}
    if len(devices) > 1:
        raise DeviceError(f"{op}: found parameters on different devices {sorted(devices)}")


# Last: these submodules re-export the functions defined above (nn.utils.clip_grad.clip_grad_norm_ ...).
from . import clip_grad, convert_parameters  # noqa: E402,F401
