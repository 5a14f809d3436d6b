"""``gpugrad.autograd.graph``: PyTorch's ``torch.autograd.graph``: the recorded graph's node type and edges,
and hooks on the tensors that ops save for backward (``saved_tensors_hooks``, ``save_on_cpu``).

Saved-tensor hooks: while ``saved_tensors_hooks(pack_hook, unpack_hook)`` is active on a thread, every
tensor an op recorded there saves for its backward (an input, an output, or an array its forward kept)
is handed to ``pack_hook`` and only what that returns is kept; backward gets it back through
``unpack_hook``, which must return a Tensor with the same values. The unpacked values keep their place in
the graph (the op that made a saved input, the node itself for a saved output, a saved leaf through an
identity node), so ``create_graph=True`` differentiates through them as without hooks. Entries are packed
in ``Function.apply``'s general path (the hooks make every op take it) and unpacked in
``Node.saved_tensors``.
"""
from __future__ import annotations

from collections import namedtuple

from .function import _PACKED, _IN, _OUT, _OUT_CONST, AccumulateGrad, Function
from .function import Node  # noqa: F401  (torch.autograd.graph.Node: the type of every grad_fn)
from . import watch
from .watch import state as _watch

__all__ = ["GradientEdge", "Node", "disable_saved_tensors_hooks", "get_gradient_edge", "increment_version",
           "save_on_cpu", "saved_tensors_hooks"]

GradientEdge = namedtuple("GradientEdge", ["node", "output_nr"])
GradientEdge.__doc__ = "Where a tensor's gradient goes: its grad_fn (or a leaf's AccumulateGrad) and output index."


def get_gradient_edge(tensor) -> GradientEdge:
    """The edge ``tensor``'s gradient flows along (for ``gg.autograd.grad(..., inputs=edge)`` in PyTorch)."""
    if not tensor.requires_grad:
        raise RuntimeError("get_gradient_edge: it is not possible to get the gradient edge for a Tensor that does not "
                           "require gradients")
    if tensor.grad_fn is None:
        return GradientEdge(AccumulateGrad(tensor), 0)
    return GradientEdge(tensor.grad_fn, tensor._output_index)


def increment_version(tensor) -> None:
    """Mark ``tensor`` as modified in place (its saved copies then refuse to be used in backward)."""
    tensor._version_ref[0] += 1


class saved_tensors_hooks:
    """``pack_hook(tensor) -> anything`` runs when an op saves a tensor for backward, ``unpack_hook(packed)
    -> Tensor`` when backward needs it; for the ops recorded inside the ``with`` block, on this thread::

        with gg.autograd.graph.saved_tensors_hooks(lambda t: t.cpu(), lambda t: t.to("cuda")):
            loss = model(x).sum()
        loss.backward()
    """

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> "saved_tensors_hooks":
        if _watch.saved_hooks_disabled is not None:
            raise RuntimeError(_watch.saved_hooks_disabled)
        _watch.saved_hooks = _watch.saved_hooks + ((self.pack_hook, self.unpack_hook),)
        watch.refresh()  # ops then take apply's general path, where saved values are packed
        return self

    def __exit__(self, *exc) -> None:
        _watch.saved_hooks = _watch.saved_hooks[:-1]
        watch.refresh()


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors in host memory and bring them back to their device for backward (GPU memory for
    activations traded for copies). ``pin_memory`` is accepted; gpugrad's host copies are not pinned."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t):
            return t.device, t.detach().cpu()

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Inside it, ``saved_tensors_hooks`` raises RuntimeError(error_message) (for code that must not be
    run with them)."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> "disable_saved_tensors_hooks":
        self._previous = _watch.saved_hooks_disabled
        _watch.saved_hooks_disabled = self.error_message
        return self

    def __exit__(self, *exc) -> None:
        _watch.saved_hooks_disabled = self._previous


# Used by function.py ------------------------------------------------------------------------------------
_SELF = "self"  # a saved output's place in the graph: the node that saved it (no reference cycle kept)


def pack(saved: list, hooks: tuple, backend) -> list:
    """Saved entries (function._resolve_saved's) with every tensor among them packed by ``hooks``."""
    pack_hook, unpack_hook = hooks
    Tensor = _tensor_type()
    out = []
    for entry in saved:
        kind = None if entry is None else entry[0]
        if kind == _IN:
            t = entry[1]
            leaf = t if t._node is None and t._requires_grad else None
            out.append((_PACKED, leaf, t._node, t._output_index, pack_hook(t), unpack_hook))
        elif kind == _OUT or kind == _OUT_CONST:
            link = _SELF if kind == _OUT else None
            out.append((_PACKED, None, link, entry[2], pack_hook(Tensor._make(entry[1], backend)), unpack_hook))
        elif kind is not None and hasattr(entry[1], "shape"):  # an array its forward kept
            out.append((_PACKED, None, None, 0, pack_hook(Tensor._make(entry[1], backend)), unpack_hook))
        else:
            out.append(entry)
    return out


def unpack(entry: tuple, node):
    """A packed entry's Tensor, back in its place in the graph."""
    _, leaf, link, index, packed, unpack_hook = entry
    value = unpack_hook(packed)
    Tensor = _tensor_type()
    if not isinstance(value, Tensor):
        raise TypeError(f"saved_tensors_hooks: unpack_hook must return a Tensor, got {type(value).__name__}")
    if leaf is not None:
        return _LeafValue.apply(leaf, value=value._array)  # recorded (create_graph) only: an edge to the leaf
    return Tensor._make(value._array, value._backend, node if link == _SELF else link, index)


class _LeafValue(Function):
    """A saved leaf's unpacked values, standing for the leaf: the gradient passes to it unchanged."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, leaf, value=None):
        return value

    @staticmethod
    def backward(ctx, g):
        return g


def _tensor_type():
    from . import function

    return function._Tensor
