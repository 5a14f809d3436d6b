"""``torch.func``: function transforms over gpugrad's autograd.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian`` are built on
reverse mode (``autograd.grad``), and compose: an input that already requires a gradient (inside an
outer transform) stays connected to it, so ``grad(grad(f))`` is the second derivative. ``jacfwd`` and
``jvp`` give forward mode's values through reverse mode (the double-vjp identity). ``vmap`` maps the
function over the batch dim one sample at a time and stacks the results: PyTorch's values, not its
speed. ``functional_call`` runs a module with other parameters and buffers in place of its own.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

from . import random as _random
from .autograd import enable_grad
from .factory import zeros, zeros_like
from .autograd import grad as _autograd_grad
from .tensor import Tensor
from .utils._pytree import tree_leaves, tree_map, tree_structure, tree_unflatten

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "stack_module_state",
           "vjp", "vmap"]


def _tracked(x: Tensor) -> Tensor:
    """``x`` as a fresh node to differentiate against: connected to x when x is itself differentiated
    (an outer transform), else a new leaf."""
    if not isinstance(x, Tensor):
        raise TypeError(f"torch.func: expected Tensor inputs to differentiate, got {type(x).__name__}")
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_()


def _argnums(argnums, n: int) -> tuple:
    many = isinstance(argnums, tuple)
    nums = argnums if many else (argnums,)
    for a in nums:
        if not isinstance(a, int) or not -n <= a < n:
            raise RuntimeError(f"Got argnums={argnums} but only {n} positional inputs")
    return tuple(a % n for a in nums), many


def _outer(inputs) -> bool:
    """Whether an outer transform (or the caller) differentiates these inputs: keep the graph then."""
    return any(isinstance(x, Tensor) and x.requires_grad for tree in inputs for x in tree_leaves(tree))


def _pull(outputs, inputs, grad_outputs=None, **kwargs) -> tuple:
    """``autograd.grad`` of ``outputs`` in ``inputs`` (None for an input that none of them reaches), where
    an output that does not require grad is a constant of the inputs, as torch.func reads it: it adds
    nothing (``(x > 0).float()``, a function PyTorch does not differentiate), where autograd.grad raises."""
    outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else tuple(grad_outputs)
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return (None,) * len(inputs)
    return _autograd_grad(tuple(o for o, _ in live), inputs, grad_outputs=tuple(g for _, g in live),
                          allow_unused=True, **kwargs)


def _call_tracked(func: Callable, args: tuple, kwargs: dict, argnums, has_aux: bool):
    """func called with the ``argnums`` inputs tracked (under grad mode), each a Tensor or a tuple, list
    or dict of them (a model's parameters, say): (output, aux, tracked inputs, whether to keep the graph,
    whether argnums was a tuple)."""
    nums, many = _argnums(argnums, len(args))
    keep = _outer([args[i] for i in nums])
    args = list(args)
    for i in nums:
        args[i] = tree_map(_tracked, args[i])
    result = func(*args, **kwargs)
    output, aux = result if has_aux else (result, None)
    return output, aux, [args[i] for i in nums], keep, many


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning (the gradient of func's scalar output with respect to the ``argnums``
    inputs, func's output); with ``has_aux``, func returns (output, aux) and the value is (output, aux)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with enable_grad():
            output, aux, inputs, keep, many = _call_tracked(func, args, kwargs, argnums, has_aux)
            if not isinstance(output, Tensor) or output.numel() != 1:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"{type(output).__name__}" + (f" of shape {tuple(output.shape)}" if isinstance(output, Tensor) else ""))
            flat = [leaf for tree in inputs for leaf in tree_leaves(tree)]
            grads = _pull(output, flat, create_graph=keep)
        grads = [g if g is not None else zeros_like(flat[k]) for k, g in enumerate(grads)]
        if not keep:
            grads, output = [g.detach() for g in grads], output.detach()
        structured, start = [], 0
        for tree in inputs:  # each gradient shaped as its input
            spec = tree_structure(tree)
            structured.append(tree_unflatten(grads[start:start + spec.num_leaves], spec))
            start += spec.num_leaves
        structured = tuple(structured)
        gradient = structured if many else structured[0]
        return (gradient, (output, aux)) if has_aux else (gradient, output)

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """The gradient of ``func``'s scalar output with respect to the ``argnums`` inputs (and aux with
    ``has_aux``)."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn[, aux]) with vjp_fn(cotangents) the tuple of v^T J per primal."""
    keep = _outer(primals)
    with enable_grad():
        tracked = [_tracked(p) for p in primals]
        result = func(*tracked)
    output, aux = result if has_aux else (result, None)
    outputs = output if isinstance(output, (tuple, list)) else (output,)

    def vjp_fn(*cotangents):
        vs = cotangents[0] if len(cotangents) == 1 and isinstance(output, (tuple, list)) else cotangents
        with enable_grad():
            grads = _pull(outputs, tracked, grad_outputs=vs, retain_graph=True,
                          create_graph=keep or any(v.requires_grad for v in vs))
        return tuple(g if g is not None else zeros_like(t) for g, t in zip(grads, tracked))

    value = output if keep else (type(output)(o.detach() for o in output) if isinstance(output, (tuple, list))
                                 else output.detach())
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False):
    """(func(*primals), J tangents) through reverse mode: J t is the gradient in u of (v^T J t) where
    v^T J = vjp(u), a function linear in u."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same length")
    with enable_grad():
        tracked = [_tracked(p) for p in primals]
        result = func(*tracked)
        output, aux = result if has_aux else (result, None)
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        dummies = [zeros_like(o).requires_grad_() for o in outputs]  # u: v^T J = vjp(u) is linear in it
        pulled = _pull(outputs, tracked, grad_outputs=dummies, create_graph=True)
        inner = sum(((p * t).sum() for p, t in zip(pulled, tangents) if p is not None), start=dummies[0].sum() * 0)
        pushed = _autograd_grad(inner, dummies, allow_unused=True)
    pushed = tuple(p.detach() if p is not None else zeros_like(d) for p, d in zip(pushed, dummies))
    value = (type(output)(o.detach() for o in output) if isinstance(output, (tuple, list)) else output.detach())
    tangent_out = type(output)(pushed) if isinstance(output, (tuple, list)) else pushed[0]
    return (value, tangent_out, aux) if has_aux else (value, tangent_out)


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None) -> Callable:
    """The Jacobian of ``func`` with respect to the ``argnums`` inputs, output.shape + input.shape, by
    one reverse pass per output element."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from . import ops

        with enable_grad():
            output, aux, inputs, keep, many = _call_tracked(func, args, kwargs, argnums, has_aux)
            flat = output.reshape(-1)
            rows = [[] for _ in inputs]
            for k in range(flat.shape[0]):
                grads = _pull(flat[k], inputs, retain_graph=True, create_graph=keep)
                for j, (g, x) in enumerate(zip(grads, inputs)):
                    rows[j].append(g if g is not None else zeros_like(x))
        jacobians = tuple(
            (ops.stack(r) if r else inputs[j].detach().new_zeros((0,) + tuple(inputs[j].shape))).reshape(
                tuple(output.shape) + tuple(inputs[j].shape))
            for j, r in enumerate(rows))
        if not keep:
            jacobians = tuple(jac.detach() for jac in jacobians)
        jacobian = jacobians if many else jacobians[0]
        return (jacobian, aux) if has_aux else jacobian

    return wrapper


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """``jacrev``'s Jacobian (forward mode's values, computed in reverse mode)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums=0) -> Callable:
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size: int | None = None) -> Callable:
    """``func`` mapped over dim ``in_dims`` of its inputs (an int, or one per input, None for an input
    taken whole), results stacked along ``out_dims``. One call per sample: PyTorch's values, not its
    batched speed. ``randomness``: "error" refuses random ops inside, "different" lets each sample draw
    its own, "same" gives every sample the same draws."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from . import ops

        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims is not compatible with the structure of `inputs`: in_dims has "
                             f"{len(dims)} elements but there are {len(args)} inputs")
        sizes = set()
        for a, d in zip(args, dims):  # an input may be a tuple, list or dict of tensors, mapped leaf by leaf
            if d is not None:
                tree_map(lambda t, d=d: sizes.add(t.shape[d]) if isinstance(t, Tensor) else None, a)
        if not sizes:
            raise ValueError("vmap: at least one input must be mapped (an in_dim other than None on a Tensor)")
        if len(sizes) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got {sorted(sizes)}")
        (n,) = sizes
        start = _random.default_generator._json_state()
        if n == 0:  # nothing to map: one call on zeros of a sample's shape gives the outputs' shapes, kept empty
            return _empty_batch(func, args, dims, kwargs, out_dims, start)
        results = []
        for i in range(n):
            if randomness == "same":
                _random.default_generator._set_json_state(start)
            sample = [a if d is None else tree_map(
                lambda t, d=d: t.select(d, i) if isinstance(t, Tensor) else t, a) for a, d in zip(args, dims)]
            before = _random.default_generator._json_state() if randomness == "error" else None
            results.append(func(*sample, **kwargs))
            if before is not None and _random.default_generator._json_state() != before:
                raise RuntimeError("vmap: called random operation while in randomness error mode. Please either "
                                   "use the 'same' or 'different' randomness flags on vmap or perform the "
                                   "randomness operation out of vmap")
        first = results[0]
        if isinstance(first, (tuple, list)):
            out = [ops.stack([r[k] for r in results], _out_dim(out_dims, k)) for k in range(len(first))]
            return type(first)(out)
        if isinstance(first, dict):
            return {k: ops.stack([r[k] for r in results], _out_dim(out_dims, k)) for k in first}
        if not isinstance(first, Tensor):
            raise ValueError(f"vmap: `{getattr(func, '__name__', func)}` must only return Tensors, got type "
                             f"{type(first).__name__}")
        return ops.stack(results, _out_dim(out_dims, 0))

    return wrapper


def _empty_batch(func, args, dims, kwargs, out_dims, start):
    """vmap over a mapped dim of size 0: PyTorch gives outputs of batch size 0. ``func`` runs once on zeros of
    one sample's shape (its random draws undone) and each output is stacked as a batch of none of them."""
    from . import ops

    def sample_of(t, d):
        if not isinstance(t, Tensor):
            return t
        d = d % t.ndim
        return zeros(*t.shape[:d], *t.shape[d + 1:], dtype=t.dtype, device=t.device)

    sample = [a if d is None else tree_map(lambda t, d=d: sample_of(t, d), a) for a, d in zip(args, dims)]
    first = func(*sample, **kwargs)
    _random.default_generator._set_json_state(start)

    def empty(r, k):
        if not isinstance(r, Tensor):
            raise ValueError(f"vmap: `{getattr(func, '__name__', func)}` must only return Tensors, got type "
                             f"{type(r).__name__}")
        od = _out_dim(out_dims, k)
        return ops.stack([r], od).narrow(od, 0, 0)

    if isinstance(first, (tuple, list)):
        return type(first)([empty(r, k) for k, r in enumerate(first)])
    if isinstance(first, dict):
        return {k: empty(r, k) for k, r in first.items()}
    return empty(first, 0)


def _out_dim(out_dims, k):
    return out_dims[k] if isinstance(out_dims, (tuple, list)) else out_dims


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with the tensors of ``parameter_and_buffer_dicts`` (dotted names, as
    in ``state_dict``) standing in for the module's own parameters and buffers; the module is as before
    afterwards, whatever happens inside. With ``tie_weights`` a value given for one of several names of a
    shared tensor stands in for all of them."""
    if isinstance(parameter_and_buffer_dicts, dict):
        replacements = parameter_and_buffer_dicts
    else:
        replacements = {}
        for d in parameter_and_buffer_dicts:
            for name, value in d.items():
                if name in replacements:
                    raise ValueError(f"{name} appeared in multiple dictionaries; behavior of functional call is ambiguous")
                replacements[name] = value
    with _reparametrized(module, replacements, tie_weights=tie_weights, strict=strict):
        args = () if args is None else (args if isinstance(args, tuple) else (args,))
        return module(*args, **(kwargs or {}))


_MISSING = object()  # a name the module did not have before a swap


def _swap(owner, leaf: str, value):
    """Put ``value`` (a Tensor, None, or _MISSING to remove it) at ``owner.<leaf>`` -- in its parameter or
    buffer table when the name is there, as a plain attribute otherwise -- and return what was there."""
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value} is not an instance of torch.Tensor")
    for slot in ("_parameters", "_buffers"):
        table = owner.__dict__[slot]
        if leaf in table:
            original = table[leaf]
            if value is _MISSING:
                del table[leaf]
            else:
                table[leaf] = value
            return original
    original = getattr(owner, leaf, _MISSING)
    if original is not _MISSING and original is not None and not isinstance(original, Tensor):
        raise TypeError(f"attribute `{leaf}`: {original} is not an instance of torch.Tensor")
    if value is not _MISSING:
        setattr(owner, leaf, value)
    elif hasattr(owner, leaf):
        delattr(owner, leaf)
    return original


def _untied(module, replacements: dict) -> dict:
    """``replacements`` with each value given for one name of a tensor the module holds under several
    names (tied weights, a shared submodule) given for all of them; two different values for one tied
    tensor are an error."""
    names_of: dict = {}
    for name, t in [*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)]:
        names_of.setdefault(id(t), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    out = dict(replacements)
    for name in [n for n in replacements if n in tied]:
        given = [n for n in tied[name] if n in replacements]
        if len({id(replacements[n]) for n in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(tied[name])}, which are tied. "
                             "Consider using tie_weights=False")
        for other in tied[name]:
            out[other] = replacements[name]
    return out


@contextlib.contextmanager
def _reparametrized(module, parameters_and_buffers: dict, *, tie_weights: bool = False, strict: bool = False):
    """Within the block, ``module``'s parameters and buffers named in ``parameters_and_buffers`` (dotted
    names) are the given tensors (a name the module lacks becomes a plain attribute for the while); on
    leaving, however it is left, the originals are back. A tensor the module put in place of a swapped-in
    one meanwhile (``self.buf = ...`` in forward) is written back into ``parameters_and_buffers``. The one
    swap mechanism of ``functional_call`` and ``nn.utils.stateless._reparametrize_module``."""
    replacements = _untied(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        own = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        own |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        unexpected, missing = sorted(set(replacements) - own), sorted(own - set(replacements))
        errors = ([f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] if unexpected else [])
        errors += [f"Missing key(s): {', '.join(map(repr, missing))}."] if missing else []
        if errors:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(errors))
    saved = []  # (owner, leaf, name, original), restored last in, first out
    try:
        for name, value in replacements.items():
            owner_name, _, leaf = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            saved.append((owner, leaf, name, _swap(owner, leaf, value)))
        yield module
    finally:
        current = {}
        for owner, leaf, name, original in reversed(saved):
            current[name] = _swap(owner, leaf, original)
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers if k in current})


def stack_module_state(models) -> tuple[dict, dict]:
    """The parameters and buffers of same-shaped models stacked along a new first dim (parameters as new
    leaves that require grad): the state ``vmap`` over ``functional_call`` ensembles with."""
    from . import ops

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    params = {name: ops.stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_()
              for name, _ in models[0].named_parameters()}
    buffers = {name: ops.stack([dict(m.named_buffers())[name] for m in models]) for name, _ in models[0].named_buffers()}
    return params, buffers
