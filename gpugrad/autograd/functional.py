"""Higher-level derivatives of a function: ``vjp``, ``jacobian``, ``hessian``, ``hvp`` (as torch.autograd.functional)."""
from __future__ import annotations

from . import function
from .engine import run_backward
from .grad_mode import enable_grad


def _tuple(x):
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _fresh(inputs):
    return tuple(x.detach().requires_grad_() for x in inputs)


def _zeros_like(x):
    return function._Tensor._make(x._backend.xp.zeros_like(x._array), x._backend)


def _grads(outputs, inputs, grad_outputs, create_graph):
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return tuple(_zeros_like(x) for x in inputs)
    gs = run_backward([o for o, _ in live], [g for _, g in live], retain_graph=True, create_graph=create_graph, inputs=inputs, allow_unused=True)
    return tuple(_zeros_like(x) if g is None else g for g, x in zip(gs, inputs))


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product of ``func`` at ``inputs``."""
    xs, many_in = _tuple(inputs)
    with enable_grad():
        xs = _fresh(xs)
        outs, many_out = _tuple(func(*xs))
        if v is None:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("vjp: v can be omitted only for a function with a single scalar output")
            v = function._Tensor._make(outs[0]._backend.xp.ones_like(outs[0]._array), outs[0]._backend)
        vs, _ = _tuple(v)
        grads = _grads(outs, xs, vs, create_graph)
    if not create_graph:
        outs = tuple(o.detach() for o in outs)
        grads = tuple(g.detach() for g in grads)
    return (outs if many_out else outs[0]), (grads if many_in else grads[0])


def _check_strategy(strategy: str, vectorize: bool) -> None:
    """PyTorch's checks of ``strategy``; the result is the same whichever (gpugrad computes rows by reverse mode)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                                  "implemented for `vectorize=True`.")


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: shape ``output.shape + input.shape`` for one input and
    output, else nested tuples (outputs outer, inputs inner), as PyTorch returns. ``vectorize`` and
    ``strategy`` are PyTorch's ways to compute it faster; the Jacobian is the same."""
    from .. import ops

    _check_strategy(strategy, vectorize)

    xs, many_in = _tuple(inputs)
    with enable_grad():
        xs = _fresh(xs)
        outs, many_out = _tuple(func(*xs))
        rows = []
        for out in outs:
            n = out.numel()
            per_input = [[] for _ in xs]
            eye = out._backend.xp.eye(n, dtype=out._array.dtype)
            for k in range(n):
                basis = function._Tensor._make(eye[k].reshape(out.shape), out._backend)
                for j, g in enumerate(_grads((out,), xs, (basis,), create_graph)):
                    per_input[j].append(g)
            rows.append(
                tuple(
                    ops.stack(gs, 0).reshape(tuple(out.shape) + tuple(x.shape)) if gs else _zeros_like(x)
                    for gs, x in zip(per_input, xs)
                )
            )
    if not create_graph:
        rows = [tuple(j.detach() for j in row) for row in rows]
    rows = [row if many_in else row[0] for row in rows]
    return tuple(rows) if many_out else rows[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The matrix of second derivatives of a scalar ``func``: shape ``input.shape + input.shape``."""
    _check_strategy(outer_jacobian_strategy, vectorize)
    xs, many_in = _tuple(inputs)

    def gradient(*args):
        with enable_grad():
            out = func(*args)
            if out.numel() != 1:
                raise RuntimeError(f"hessian: func must return a single-element tensor, got shape {tuple(out.shape)}")
            return _grads((out,), args, (function._Tensor._make(out._backend.xp.ones_like(out._array), out._backend),), True)

    jac = jacobian(gradient, xs, create_graph=create_graph)
    return jac if many_in else jac[0][0]


def hvp(func, inputs, v, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v): a Hessian-vector product by double backward, without forming H."""
    xs, many_in = _tuple(inputs)
    vs, _ = _tuple(v)
    with enable_grad():
        xs = _fresh(xs)
        out = func(*xs)
        ones = function._Tensor._make(out._backend.xp.ones_like(out._array), out._backend)
        grads = _grads((out,), xs, (ones,), True)
        result = _grads(grads, xs, vs, create_graph)
    if not create_graph:
        result = tuple(r.detach() for r in result)
        out = out.detach()
    return out, (result if many_in else result[0])
