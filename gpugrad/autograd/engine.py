"""The backward engine: walks a recorded graph in reverse topological order, without recursion.

Dependencies are counted first (how many recorded edges point at each Node); a Node runs once every
consumer has delivered its gradient. Gradients reaching a leaf are summed within the pass, the leaf's
hooks run once on the total, and the result is accumulated into ``.grad`` (or returned, for ``grad()``).
A Node's saved values are released as soon as it has run, unless ``retain_graph`` is set.

Which gradients become ``.grad`` without a copy, the one rule (``_owned``): memory the pass owns, that
is an array a gpugrad op's backward made (``Function.fresh_gradients``) for this leaf alone, or a reshape
of all of one. What the pass was handed (the caller's gradient, a hook's argument or result, anything an
op passed through or viewed) is copied, so that updating one ``.grad`` in place never reaches another
tensor. A parameter of a fused optimizer takes its copy in the optimizer's flat gradient buffer
(``Tensor._grad_sink``, optim/flat.py).

Sparse gradients, the one rule: a backward may return a sparse COO tensor (``F.embedding(...,
sparse=True)``). Into a leaf it stays sparse, and sums as PyTorch's: sparse + sparse is sparse (indices
and values concatenated, uncoalesced), sparse + dense is dense, within a pass and into ``.grad`` alike
(``_sum_with_sparse``, ``_accumulate_sparse``). Into a node it is made dense first, since every op's
backward works on dense arrays (where PyTorch's sparse gradient would stay sparse through a pointwise
op, the leaf's gradient is then dense here). Each place where a gradient may be
sparse tests ``is_sparse`` (a class attribute: one attribute read per gradient on the dense path).
"""
from __future__ import annotations

import operator

import numpy

from .. import dtypes
from .. import threads as _threads
from ..errors import DTypeError, ShapeError
from . import anomaly, function
from .watch import state as _watch
from .grad_mode import is_grad_enabled, no_grad, set_grad_enabled


_F32, _F64 = numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)  # identity tests: the plain pass's dtypes


def _as_tuple(x):
    """None, one tensor (or a plain number or array, as a gradient), or any iterable of them as PyTorch takes
    them: a generator such as ``module.parameters()`` included."""
    if isinstance(x, (tuple, list)):
        return tuple(x)
    if x is None:
        return ()
    if isinstance(x, (function._Tensor, numpy.ndarray)) or not hasattr(x, "__iter__"):
        return (x,)
    return tuple(x)


def _initial_grads(outputs, grad_outputs, create_graph):
    Tensor = function._Tensor
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        if not isinstance(out, Tensor):
            raise TypeError(f"backward: outputs must be Tensors, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(
                "backward: element %d of tensors does not require grad and does not have a grad_fn" % i
            )
        if g is None:
            if out._array.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for scalar outputs, got shape {tuple(out.shape)}"
                )
            if out._array.dtype.kind == "c":
                raise RuntimeError("backward: grad can be implicitly created only for real scalar outputs; the "
                                   "output is complex (take .real, .abs() or pass gradient=)")
            x, xp = out._array, out._backend.xp
            # Made here with the output's shape, on its backend, in no graph: none of the checks below applies.
            # (NumPy's ones is a Python function; a device's ones fills on the device, as a CUDA graph needs.)
            ones = xp.asarray(1, dtype=x.dtype) if xp is numpy and not x.ndim else xp.ones(x.shape, x.dtype)
            grads.append(Tensor._make(ones, out._backend))
            continue
        if not isinstance(g, Tensor):
            g = Tensor._make(out._backend.asarray(g, dtype=out._array.dtype), out._backend)
        if tuple(g.shape) != tuple(out.shape):
            raise ShapeError(
                f"backward: gradient of shape {tuple(g.shape)} does not match output of shape {tuple(out.shape)}"
            )
        if g._backend is not out._backend:
            raise RuntimeError(f"backward: gradient on {g.device} for an output on {out.device}")
        grads.append(g if create_graph else g.detach())
    return grads


# One entry per backward pass in progress (a pass can run inside another: gg.utils.checkpoint's backward):
# whether it returns gradients (``grad()``) instead of accumulating them into ``.grad``.
_capturing_passes: list[bool] = []


def current_pass_captures() -> bool:
    """Whether the innermost backward pass in progress returns its gradients instead of accumulating them
    into ``.grad`` (``gg.autograd.grad``); False outside any pass."""
    return bool(_capturing_passes) and _capturing_passes[-1]


def run_backward(outputs, grad_outputs=None, retain_graph=None, create_graph=False, inputs=None, allow_unused=False):
    """Backpropagate from ``outputs``. With ``inputs``, return their gradients and leave ``.grad`` alone."""
    _capturing_passes.append(inputs is not None)
    try:
        return _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs, allow_unused)
    finally:
        _capturing_passes.pop()


def backward(outputs, grad_outputs=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    """``Tensor.backward`` and ``gg.autograd.backward``: accumulate into ``.grad`` (of ``inputs`` alone,
    when given)."""
    if inputs is None:
        run_backward(outputs, grad_outputs, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs, allow_unused=True)
    for t, g in zip(inputs, grads):
        if g is None:
            continue
        if g.is_sparse or t.grad is not None and t.grad.is_sparse:
            _accumulate_sparse(t, g, False, create_graph)
        elif t.grad is None:
            t.grad = g if create_graph else g.detach()
        elif create_graph:
            t.grad = t.grad + g
        else:
            with no_grad():
                t.grad.add_(g)


def _run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs, allow_unused):
    Tensor = function._Tensor
    outputs = _as_tuple(outputs)
    grads0 = _initial_grads(outputs, _as_tuple(grad_outputs), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    capturing = inputs is not None
    if capturing:
        inputs = _as_tuple(inputs)
        for t in inputs:
            if not isinstance(t, Tensor) or not t.requires_grad:
                raise RuntimeError("grad: every input must be a Tensor that requires grad")

    # Seed: gradients of outputs that are nodes go into buffers; outputs that are leaves go straight to leaves.
    buffers = {}
    leaf_grads = {}  # id(leaf) -> [leaf, summed grad, whether the pass owns it] (_add_leaf_grad)
    roots = []
    for out, g in zip(outputs, grads0):
        node = out._node
        if node is None:
            _add_leaf_grad(leaf_grads, out, g, create_graph)
        else:
            buf = buffers.get(node)
            if buf is None:
                buf = buffers[node] = [None] * node.n_outputs
                roots.append(node)
            i = out._output_index
            buf[i] = g if buf[i] is None else buf[i] + g

    # Count, for each reachable node and leaf, the edges that point at it: a leaf's gradient is final, and
    # lands in .grad, as soon as its last edge has delivered (so that hooks such as a data-parallel
    # all-reduce can start while the rest of backward runs).
    deps = dict.fromkeys(roots, 0)  # every reachable node (its keys are the nodes seen)
    leaf_deps = {}
    parents = {} if capturing else None
    stack = list(roots)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge.__class__ is tuple:
                child = edge[0]
                count = deps.get(child)
                if count is None:
                    deps[child] = 1
                    stack.append(child)
                else:
                    deps[child] = count + 1
                if capturing:
                    parents.setdefault(child, []).append(node)
            elif edge is not None:
                key = id(edge)
                leaf_deps[key] = leaf_deps.get(key, 0) + 1

    run_set = None
    captured_nodes = {}
    if capturing:
        run_set, captured_nodes = _prune(inputs, deps, parents)

    ready = [n for n in roots if not deps[n]]
    captured = {}

    # Outside create_graph, gradients reaching one place are summed as plain arrays: recording nothing,
    # an op application would only cost time.
    add = _add_recorded if create_graph else _add_arrays

    def finish_leaf(leaf):
        key = id(leaf)
        left = leaf_deps[key] - 1
        leaf_deps[key] = left
        if left == 0:
            entry = leaf_grads.pop(key, None)
            if entry is not None:
                _finish_leaf(leaf, entry[1], entry[2], captured if capturing else None, create_graph)

    check = _watch.watched  # anomaly mode or a profiler: each node through _call_backward
    with set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            gbuf = buffers.pop(node)
            if node.pre_hooks or node.retained:
                _run_pre_hooks(node, gbuf)
            hooks = node.hooks
            if hooks is not None:
                gbuf = _run_node_hooks(node, hooks.pre, gbuf, "grad_outputs", lambda hook, current: hook(current))
            if capturing:
                for idx, key in captured_nodes.get(node, ()):
                    if gbuf[idx] is not None:
                        captured[key] = gbuf[idx]
            if (run_set is None or node in run_set) and (gbuf[0] is not None or any(g is not None for g in gbuf)):
                if check or node.n_outputs > 1:
                    grads_in = _call_backward(node, gbuf, check)
                else:  # the common case, without a call of its own
                    derivative = node.fn.derivative_op
                    grads_in = None
                    if derivative is not None and not create_graph:
                        grads_in = _derivative_on_arrays(node, derivative, gbuf[0])
                    if grads_in is None:
                        grads_in = node.fn.backward(node, gbuf[0])
                if not isinstance(grads_in, tuple):
                    grads_in = (grads_in,)
                if len(grads_in) < len(node.next_edges):
                    raise RuntimeError(
                        f"{node.op_name}: backward returned {len(grads_in)} gradients, expected {len(node.next_edges)} "
                        "(one per forward input)"
                    )
                if hooks is not None and hooks.post:
                    outputs = tuple(gbuf)
                    grads_in = tuple(_run_node_hooks(node, hooks.post, list(grads_in), "grad_inputs",
                                                     lambda hook, current: hook(current, outputs)))
                if not retain_graph and (node._saved is not None or node._to_save):
                    node.release()
            else:
                grads_in = (None,) * len(node.next_edges)
            for edge, g, meta in zip(node.next_edges, grads_in, node.input_meta):
                if edge is None:
                    continue
                if g is not None:
                    if g.is_sparse:  # a sparse gradient (the module's docstring): no dense array to check
                        g = _sparse_arrived(node, edge, g, meta, leaf_grads, gbuf, create_graph)
                    else:
                        array = g._array
                        if array.shape != meta[0]:
                            if not _summable_to(array.shape, meta[0]):
                                raise ShapeError(
                                    f"{node.op_name}: backward returned a gradient of shape {tuple(array.shape)} for "
                                    f"an input of shape {tuple(meta[0])}"
                                )
                            g = g._sum_to(meta[0])
                        if g._array.dtype is not meta[1] and g._array.dtype != meta[1]:
                            g = _to_input_dtype(node, g, meta[1])
                if edge.__class__ is tuple:
                    child, idx = edge
                    if g is not None and (run_set is None or child in run_set or child in captured_nodes):
                        buf = buffers.get(child)
                        if buf is None:
                            buf = buffers[child] = [None] * child.n_outputs
                            buf[idx] = g
                        else:
                            buf[idx] = g if buf[idx] is None else add(buf[idx], g)
                    left = deps[child] - 1
                    deps[child] = left
                    if left == 0:
                        if child in buffers:
                            ready.append(child)
                        else:
                            _release_unreached(child, deps, buffers, ready, finish_leaf)
                else:  # a leaf (inline: this runs per leaf gradient, as finish_leaf does)
                    key = id(edge)
                    if g is not None:
                        entry = leaf_grads.get(key)
                        if entry is not None:
                            _add_to_entry(entry, g, create_graph)
                        elif create_graph:  # every sum a recorded op, never an in-place add
                            leaf_grads[key] = [edge, g, False]
                        else:  # whether the pass owns the leaf's first gradient
                            if g._array is array:  # as backward returned it
                                owned = node.fn.fresh_gradients and _owned(array, grads_in, gbuf)
                            else:  # summed to the input's shape or cast to its dtype above
                                owned = _owned(g._array, (g,), gbuf)
                            leaf_grads[key] = [edge, g, owned]
                    left = leaf_deps[key] - 1
                    leaf_deps[key] = left
                    if left == 0:
                        entry = leaf_grads.pop(key, None)
                        if entry is not None:
                            _finish_leaf(edge, entry[1], entry[2], captured if capturing else None, create_graph)

        for leaf, g, owned in list(leaf_grads.values()):  # outputs that are leaves themselves
            _finish_leaf(leaf, g, owned, captured if capturing else None, create_graph)

    if not capturing:
        return None
    result = []
    for t in inputs:
        key = id(t) if t._node is None else (t._node, t._output_index)
        g = captured.get(key)
        if g is None and not allow_unused:
            raise RuntimeError(
                "grad: one of the differentiated Tensors appears to not have been used in the graph; "
                "set allow_unused=True if this is the desired behavior"
            )
        result.append(g)
    return tuple(result)


def _derivative_on_arrays(node, derivative, g):
    """The plain pass's backward of an op that names a derivative op (Op.derivative): that op's forward
    on the arrays, what its apply would compute with nothing recorded, without the Tensors. None where
    apply's general road is needed (reduced or complex floats, saved values packed by hooks, a CUDA graph
    capture, an error to name): the node's backward runs instead."""
    gy = g._array
    backend = node.backend
    if gy.dtype is not _F32 and gy.dtype is not _F64 or backend.capture is not None:
        return None
    saved = node.saved_arrays()
    if saved is None:
        return None
    ctx = function.Node(derivative, backend, (False,) * (1 + len(saved)))
    kwargs = node.derivative_kwargs
    try:
        out = derivative.forward(ctx, gy, *saved, **kwargs) if kwargs else derivative.forward(ctx, gy, *saved)
    except (ValueError, RuntimeWarning, FloatingPointError):  # apply names the op, or computes quietly
        return None
    Tensor = function._Tensor
    ndarray = backend.ndarray
    if out.__class__ is not tuple:
        return Tensor._make(out if out.__class__ is ndarray else backend.xp.asarray(out), backend)
    return tuple([None if o is None else Tensor._make(o if o.__class__ is ndarray else backend.xp.asarray(o), backend)
                  for o in out])


def _to_input_dtype(node, g, dtype):
    """A gradient in its input's dtype. A complex gradient of a real input is its real part (the loss moves
    only along the real axis), as PyTorch's; a real gradient of a complex input means a backward that knows
    nothing of complex numbers, which gpugrad's own ops refuse rather than pass on."""
    if g._array.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
    elif dtype.kind == "c" and g._array.dtype.kind != "c" and not node.fn.complex_ok:
        raise DTypeError(f"{node.op_name}: gradients for complex tensors are not implemented for this op "
                         f"(its backward gave {g._array.dtype} for a {dtype} input)")
    return g if g._array.dtype == dtype else g.to(dtype)


def _summable_to(shape, target) -> bool:
    """Whether a gradient of ``shape`` is ``target`` broadcast (so summing it back is meaningful)."""
    lead = len(shape) - len(target)
    return lead >= 0 and all(t == 1 or t == s for s, t in zip(shape[lead:], target))


def _release_unreached(node, deps, buffers, ready, finish_leaf):
    """A node no gradient reached still releases its children's (and leaves') dependency counts."""
    stack = [node]
    while stack:
        n = stack.pop()
        for edge in n.next_edges:
            if edge is None:
                continue
            if edge.__class__ is not tuple:
                finish_leaf(edge)
            else:
                child = edge[0]
                deps[child] -= 1
                if deps[child] == 0:
                    if child in buffers:
                        ready.append(child)
                    else:
                        stack.append(child)


def _prune(inputs, seen, parents):
    """For grad(): the nodes whose backward must run, and where each requested gradient is read."""
    captured_nodes = {}
    targets = []
    leaf_ids = set()
    for t in inputs:
        if t._node is None:
            leaf_ids.add(id(t))
        elif t._node in seen:
            captured_nodes.setdefault(t._node, []).append((t._output_index, (t._node, t._output_index)))
            targets.extend(parents.get(t._node, ()))
    for node in seen:
        if any(e.__class__ is not tuple and e is not None and id(e) in leaf_ids for e in node.next_edges):
            targets.append(node)
    run_set = set()
    stack = targets
    while stack:
        node = stack.pop()
        if node in run_set:
            continue
        run_set.add(node)
        stack.extend(parents.get(node, ()))
    return run_set, captured_nodes


def _run_node_hooks(node, hooks, grads: list, what: str, call) -> list:
    """Run a node's own hooks in order, each given the gradients as the previous left them (``call(hook,
    current)``); a returned tuple of as many replaces them."""
    n = len(grads)
    for hook in tuple(hooks):
        new = call(hook, tuple(grads))
        if new is not None:
            new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
            if len(new) != n:
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has returned an incorrect number of values "
                                   f"(got {len(new)}, but expected {n}) for {what} of {node.name()}")
            grads[:] = new
    return grads


def _run_pre_hooks(node, gbuf):
    if node.pre_hooks:
        for idx, hooks in node.pre_hooks.items():
            for hook in hooks:
                if gbuf[idx] is not None:
                    new = hook(gbuf[idx])
                    if new is not None:
                        gbuf[idx] = new
    if node.retained:
        for idx, ref in node.retained.items():
            t = ref()
            if t is not None and gbuf[idx] is not None:
                g = gbuf[idx] if is_grad_enabled() else gbuf[idx].detach()
                t.grad = g if t.grad is None else t.grad + g


def _call_backward(node, gbuf, watched):
    """A node's backward where it needs more than the plain call: several outputs (a missing gradient is
    materialised as zeros), anomaly mode (checked for NaN and inf) or a profiler (timed)."""
    check = watched and _watch.anomaly
    profiler = _watch.profiler if watched else None
    if profiler is not None:
        return profiler.time_backward(node, lambda: _backward(node, gbuf, check))
    return _backward(node, gbuf, check)


def _backward(node, gbuf, check):
    Tensor = function._Tensor
    if node.n_outputs > 1 and node.materialize_grads and any(g is None for g in gbuf):
        # Outputs that received no gradient contribute zeros, as PyTorch materialises them.
        gbuf = [
            g if g is not None else Tensor._make(node.xp.zeros(*meta), node.backend)
            for g, meta in zip(gbuf, node.output_meta)
        ]
    grads_in = node.fn.backward(node, *gbuf)
    if not isinstance(grads_in, tuple):
        grads_in = (grads_in,)
    if check:
        anomaly.check_backward(node, grads_in)
    return grads_in


def _finish_leaf(leaf, g, owned, captured, create_graph) -> None:
    """A leaf's summed gradient: its hooks, then ``.grad`` (or the result of ``grad()``), then the hooks
    that run after accumulation."""
    if leaf._hooks:
        owned = False  # a hook may keep the gradient it is given, or return one it keeps
        for hook in leaf._hooks:
            new = hook(g)
            if new is not None:
                g = new
    if captured is not None:
        captured[id(leaf)] = g
        return
    _accumulate(leaf, g, owned, create_graph)
    for hook in leaf._post_accumulate_hooks or ():
        hook(leaf)


def _add_arrays(a, b):
    x, y = a._array, b._array
    # A large sum goes over the threads (the backend's add: the same bits); a small one costs no call.
    total = x + y if x.size < _threads.PARALLEL_MIN_ELEMENTS else a._backend.arithmetic(operator.add, x, y)
    xp = a._backend.xp
    if not isinstance(total, xp.ndarray):  # NumPy gives a scalar for 0-d arrays
        total = xp.asarray(total)
    return function._Tensor._make(total, a._backend)


def _add_recorded(a, b):
    return a + b


def _owned(array, grads_in, gbuf) -> bool:
    """Whether the pass owns ``array``, one of ``grads_in``, what a backward that keeps nothing (an Op)
    returned for the gradients ``gbuf``: memory the backward made (the array, or a reshape of the whole
    of it), not one of ``gbuf`` passed through or viewed (those reached the node from the caller, a hook,
    or another node's pass-through: checked the same way there), and not returned for two inputs."""
    memory = array.base  # the array owning the memory (inline: this runs per leaf gradient)
    if memory is None:
        memory = array
    elif memory.base is not None or memory.size != array.size or not array.flags.c_contiguous:
        return False
    for g in gbuf:
        if g is not None and (g._array if g._array.base is None else g._array.base) is memory:
            return False
    times = 0
    for g in grads_in:
        if g is not None and (g._array if g._array.base is None else g._array.base) is memory:
            times += 1
    return times == 1


def _add_leaf_grad(leaf_grads, leaf, g, create_graph, owned=False) -> None:
    """Sum the gradients reaching ``leaf`` within a pass: [leaf, total, whether the pass owns total]
    (the engine's loop does the same inline)."""
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g, owned]
    else:
        _add_to_entry(entry, g, create_graph)


def _add_to_entry(entry, g, create_graph) -> None:
    """Add ``g`` to a leaf's total within a pass. A gradient the pass does not own may be shared (add
    passes one array to both inputs), so the first sum is a new array; later ones are added into an
    owned total in place. Under create_graph every sum is a recorded op."""
    if entry[1].is_sparse or g.is_sparse:
        entry[1], entry[2] = _sum_with_sparse(entry[1], g, create_graph)
    elif entry[2]:
        entry[1]._array += g._array
    elif create_graph:
        entry[1] = entry[1] + g
    else:
        entry[1] = _add_arrays(entry[1], g)
        entry[2] = True


def _sparse_arrived(node, edge, g, meta, leaf_grads, gbuf, create_graph):
    """A sparse gradient ``g`` that ``node``'s backward returned for the input at ``edge``. For a leaf it is
    summed into the leaf's total for the pass, and None is returned (the caller still counts the edge);
    for a node it is returned dense."""
    if tuple(g.shape) != tuple(meta[0]):
        raise ShapeError(f"{node.op_name}: backward returned a sparse gradient of shape {tuple(g.shape)} for an "
                         f"input of shape {tuple(meta[0])}")
    values = g._values()
    if values._array.dtype != meta[1]:
        g = g.to(dtypes.to_dtype(meta[1]))
        values = g._values()
    if edge.__class__ is tuple:
        return g.to_dense()
    entry = leaf_grads.get(id(edge))
    if entry is not None:
        entry[1], entry[2] = _sum_with_sparse(entry[1], g, create_graph)
        return None
    # Owned as a dense gradient is (_owned): its values made by the backward, not one of gbuf or a view;
    # an op's indices are its own (embedding_sparse_grad copies them).
    owned = not create_graph and node.fn.fresh_gradients and _owned(values._array, (values,), gbuf)
    leaf_grads[id(edge)] = [edge, g, owned]
    return None


def _sum_with_sparse(total, g, create_graph):
    """``total + g`` for a leaf's gradients within a pass where one is sparse, by PyTorch's rules (sparse +
    sparse stays sparse, concatenated; with a dense one the sum is dense): the new total, and whether the
    pass owns it (a new tensor, outside create_graph). A sparse total goes second, as in PyTorch's
    input buffer (the newer gradient's entries first); under create_graph it goes first unless ``g`` is
    dense (a sparse tensor does not add a dense one to itself)."""
    if total.is_sparse and (not create_graph or not g.is_sparse):
        return g + total, not create_graph
    return total + g, not create_graph


def _accumulate_sparse(leaf, g, owned, create_graph):
    """``_accumulate`` where ``g`` or ``leaf.grad`` is sparse, as PyTorch's AccumulateGrad: a first sparse
    gradient is kept (copied unless the pass owns it; never into a fused optimizer's flat buffer, which
    holds dense gradients); sparse into sparse concatenates in place and dense .grad takes a sparse
    gradient in place; a dense gradient into a sparse .grad makes a new, dense one. Under create_graph,
    or onto a .grad that requires grad, every sum is a new tensor."""
    grad = leaf._grad
    if grad is None:
        leaf.grad = g if create_graph or owned else g.detach().clone()
        return
    if create_graph or grad.requires_grad:
        if not create_graph:
            grad, g = grad.detach(), g.detach()
        leaf.grad = g + grad if grad.is_sparse and not g.is_sparse else grad + g
        return
    with no_grad():
        if not grad.is_sparse:
            grad.index_put_(tuple(g._indices().unbind(0)), g._values().to(grad.dtype), accumulate=True)
        elif g.is_sparse:
            grad.add_(g)
        else:
            leaf.grad = g + grad


def _accumulate(leaf, g, owned, create_graph):
    """Add ``g`` into ``leaf.grad``, the one place gradients land on leaves."""
    Tensor = function._Tensor
    if g.is_sparse or leaf._grad is not None and leaf._grad.is_sparse:
        _accumulate_sparse(leaf, g, owned, create_graph)
        return
    if create_graph:
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None:
        # A fused optimizer's parameter takes a copy in the flat gradient buffer (so that the step need
        # not copy again); otherwise .grad is the pass's own array, or a copy of one it does not own.
        sink = leaf._grad_sink
        data = None
        if sink is not None:
            owner = sink()
            data = None if owner is None else owner.take_grad(leaf, g._array)
        if data is None:
            data = g._array if owned else leaf._backend.copy(g._array)
        leaf.grad = Tensor._make(data, leaf._backend)
    elif leaf.grad.requires_grad:
        leaf.grad = leaf.grad.detach() + g.detach()
    else:
        leaf.grad._array += g._array
        leaf.grad._version_ref[0] += 1
