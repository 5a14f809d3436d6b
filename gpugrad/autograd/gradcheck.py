"""Finite-difference checks of first and second derivatives.

``gradcheck`` compares the directional derivative <u, J v> computed by backward (a vector-Jacobian
product with a random cotangent u, dotted with a random direction v, both of norm 1 as PyTorch's) against central differences of
<u, f(x + t v)>. On a mismatch it locates the worst element by per-element central differences and
raises with it, so a failure says where, not just that.
"""
from __future__ import annotations

import numpy

from . import function
from ..dtypes import FLOAT_KINDS
from .engine import run_backward
from .grad_mode import enable_grad, no_grad


class GradcheckError(RuntimeError):
    """Analytical and numerical derivatives disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    return tuple(o for o in _as_tuple(fn(*inputs)) if isinstance(o, function._Tensor) and o._array.dtype.kind in FLOAT_KINDS)


def _dot(xs, ys) -> float:
    return float(sum((numpy.asarray(x, dtype=numpy.float64) * numpy.asarray(y, dtype=numpy.float64)).sum() for x, y in zip(xs, ys)))


def _host(t):
    return t._backend.to_numpy(t._array)


def _loss_at(fn, inputs, checked, shifts, cotangents):
    """<u, f(x + shift)> with no graph recorded."""
    Tensor = function._Tensor
    moved = list(inputs)
    for i, s in zip(checked, shifts):
        x = inputs[i]
        # Shifted copies still require grad: a function may differentiate internally (gradgradcheck's does).
        moved[i] = Tensor._make(x._backend.asarray(_host(x) + s), x._backend).requires_grad_()
    with no_grad():
        outs = _outputs(fn, moved)
    return _dot([_host(o) for o in outs], cotangents)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
              seed: int = 0, *, nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked=None) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` (float64 tensors) against central differences.

    Returns True, or raises GradcheckError naming the worst element (False with ``raise_exception=False``)::

        x = gg.randn(3, 4, dtype=gg.float64, requires_grad=True)
        gg.autograd.gradcheck(lambda x: (x.sin() * x).sum(dim=1), (x,))

    PyTorch's options: ``check_forward_ad`` checks forward-mode tangents (``autograd.forward_ad``) the same
    way, ``check_backward_ad=False`` leaves backward out, ``check_grad_dtypes`` checks each gradient's dtype.
    The check is PyTorch's fast mode first (one random projection); where that disagrees and ``fast_mode``
    is False (PyTorch's default), the verdict is element by element (each input element's derivative of
    <u, f>), as PyTorch's slow mode: a random direction can cross a kink that no one element's step
    reaches. Backward is deterministic (``nondet_tol`` is accepted) and a missing gradient reaches backward
    as zeros (``check_undefined_grad`` has nothing to check). Batched checks are not there and say so.
    """
    if check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck: check_batched_grad and check_batched_forward_grad are not supported by "
                                  "gpugrad; check the unbatched function")
    Tensor = function._Tensor
    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: at least one input tensor must require grad")
    for i in checked:
        if inputs[i]._array.dtype != numpy.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 inputs")
    rng = numpy.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn, inputs)
    cotangents = [_unit(rng.standard_normal(o.shape)) for o in outs]
    directions = [_unit(rng.standard_normal(inputs[i].shape)) for i in checked]
    numeric = (
        _loss_at(fn, inputs, checked, [eps * d for d in directions], cotangents)
        - _loss_at(fn, inputs, checked, [-eps * d for d in directions], cotangents)
    ) / (2 * eps)
    failure = None
    if check_backward_ad:
        analytic = _analytic_grads(outs, cotangents, [inputs[i] for i in checked], check_grad_dtypes)
        directional = _dot(analytic, directions)
        if abs(directional - numeric) > atol + rtol * abs(numeric):
            excess, message = _worst_element(fn, inputs, checked, analytic, cotangents, eps, atol, rtol)
            # PyTorch's default (fast_mode=False) checks element by element: a random direction can cross a
            # kink (floor, clamp, a comparison) near x that no single element's step reaches
            if fast_mode or excess > 0:
                failure = (f"gradcheck: directional derivative {directional:.10g} (backward) vs {numeric:.10g} "
                           f"(finite differences); {message}")
    if failure is None and check_forward_ad:
        forward = _forward_directional(fn, inputs, checked, directions, cotangents)
        if abs(forward - numeric) > atol + rtol * abs(numeric):
            failure = (f"gradcheck: directional derivative {forward:.10g} (forward AD) vs {numeric:.10g} "
                       "(finite differences)")
    if failure is None:
        return True
    if raise_exception:
        raise GradcheckError(failure)
    return False


def _unit(v: numpy.ndarray) -> numpy.ndarray:
    """``v`` scaled to norm 1, as PyTorch's fast mode scales its random vectors: each element's step is
    then eps / sqrt(n), not eps, and a kink near x is crossed as rarely as there."""
    norm = numpy.linalg.norm(v)
    return v / norm if norm > 0 else v


def _forward_directional(fn, inputs, checked, directions, cotangents) -> float:
    """<u, J v> from forward mode: the outputs' tangents for the inputs' tangents v."""
    from . import forward_ad

    Tensor = function._Tensor
    with forward_ad.dual_level(), enable_grad():
        duals = list(inputs)
        for i, d in zip(checked, directions):
            x = inputs[i]
            duals[i] = forward_ad.make_dual(x.detach(), Tensor._make(x._backend.asarray(d), x._backend))
        outs = _outputs(fn, duals)
        tangents = [forward_ad.unpack_dual(o).tangent for o in outs]
    return _dot([numpy.zeros(o.shape) if t is None else _host(t) for o, t in zip(outs, tangents)], cotangents)


def _analytic_grads(outs, cotangents, wrt, check_dtypes: bool = False):
    Tensor = function._Tensor
    live = [(o, u) for o, u in zip(outs, cotangents) if o.requires_grad]
    if not live:
        return [numpy.zeros(x.shape) for x in wrt]
    grads = run_backward(
        [o for o, _ in live],
        [Tensor._make(o._backend.asarray(u.astype(o._array.dtype)), o._backend) for o, u in live],
        retain_graph=True,
        inputs=wrt,
        allow_unused=True,
    )
    if check_dtypes:
        for g, x in zip(grads, wrt):
            if g is not None and (g._array.dtype != x._array.dtype or g.device != x.device):
                raise GradcheckError(f"gradcheck: a gradient is {g.dtype} on {g.device} for an input of {x.dtype} on "
                                     f"{x.device}")
    return [numpy.zeros(x.shape) if g is None else _host(g).astype(numpy.float64) for g, x in zip(grads, wrt)]


def _worst_element(fn, inputs, checked, analytic, cotangents, eps, atol, rtol) -> tuple[float, str]:
    """(how far the worst element's difference exceeds the tolerance, a sentence naming it): each input
    element's derivative of <u, f> by central differences against backward's."""
    worst = None
    for k, i in enumerate(checked):
        shape = inputs[i].shape
        for flat in range(int(numpy.prod(shape))):
            shifts = [numpy.zeros(inputs[j].shape) for j in checked]
            shifts[k].flat[flat] = eps
            plus = _loss_at(fn, inputs, checked, shifts, cotangents)
            shifts[k].flat[flat] = -eps
            minus = _loss_at(fn, inputs, checked, shifts, cotangents)
            num = (plus - minus) / (2 * eps)
            ana = float(analytic[k].flat[flat])
            excess = abs(ana - num) - (atol + rtol * abs(num))
            if worst is None or excess > worst[0]:
                worst = (excess, i, numpy.unravel_index(flat, shape), ana, num)
    _, i, index, ana, num = worst
    excess = worst[0]
    return excess, (f"worst element: input {i} at index {tuple(int(v) for v in index)}: backward {ana:.10g}, "
                    f"finite differences {num:.10g}")


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, seed: int = 0, gen_non_contig_grad_outputs: bool = False,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False, check_rev_over_rev: bool = True,
                  fast_mode: bool = False, masked: bool = False) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn`` (built with
    ``create_graph=True``) with respect to the inputs and the cotangent (``grad_outputs``, random by
    default). PyTorch's other options as in ``gradcheck``; forward-over-reverse is not checked."""
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck: check_fwd_over_rev is not supported by gpugrad")
    Tensor = function._Tensor
    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    rng = numpy.random.default_rng(seed + 1)
    with enable_grad():
        outs = _outputs(fn, inputs)
    if grad_outputs is not None:
        cotangents = [g.detach().requires_grad_() for g in _as_tuple(grad_outputs)]
    else:
        cotangents = [
            Tensor._make(o._backend.asarray(rng.standard_normal(o.shape)), o._backend).requires_grad_() for o in outs
        ]
    n = len(inputs)

    def vjp(*args):
        xs, us = args[:n], args[n:]
        with enable_grad():
            ys = _outputs(fn, xs)
            live = [(y, u) for y, u in zip(ys, us) if y.requires_grad]
            if not live:
                return tuple(xs[i] * 0.0 for i in checked)
            grads = run_backward(
                [y for y, _ in live], [u for _, u in live], create_graph=True, inputs=[xs[i] for i in checked], allow_unused=True
            )
        return tuple(g if g is not None else xs[i] * 0.0 for g, i in zip(grads, checked))

    if not check_rev_over_rev:
        return True
    return gradcheck(vjp, inputs + tuple(cotangents), eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception,
                     seed=seed + 2, check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode)
