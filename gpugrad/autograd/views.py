"""In-place ops on views while recording, as PyTorch's (its CopySlices): ``x += pos_emb`` where ``x`` is a
transposed or rearranged view of a tensor that has a history.

A view V of a base B shares B's memory and version counter. An in-place op on V computes its result R
out of place (inplace.py) and then:

- B becomes the output of a ``WriteBack`` node: B's previous history with V's positions replaced by R. Its
  backward gives B's old history the gradient with those positions zeroed, and R the gradient read at them;
- R's values are written into V's memory, which is B's;
- V becomes the output of a ``ViewOfBase`` node: the values at its positions of B's new history.

Every other view of B made earlier now has a history that predates the write. Each view records the
version of its base its history was built at (``_view_version``); an op that receives a view whose version
has moved on first gives it the history of its base as it is now (``refresh``), so that no gradient flows
through values that have since changed. A position here is an element's index in B taken in row-major
order (its memory offset when B is row-major).
"""
from __future__ import annotations

from ..storage import _address
from .function import Function


def positions(view, base):
    """Where each element of ``view`` sits in ``base``, as an index into ``base``'s elements in row-major
    order (an int64 array of view's shape), or None when that cannot be said (the view reads the memory
    as another dtype, or the base's own elements overlap)."""
    root, array = base._array, view._array
    if array.dtype != root.dtype:
        return None
    return _positions(view._backend.xp, root, _address(array) - _address(root), array.shape, array.strides)


def part_positions(view, base):
    """For a view that reads the real or the imaginary parts of a complex base (``z.real``, ``z.imag`` and
    views of them): ``(positions, part)``, the positions of the complex elements read (as ``positions``
    gives them) and 0 for real parts or 1 for imaginary ones; None for any other view."""
    root, array = base._array, view._array
    if root.dtype.kind != "c" or array.dtype != root.real.dtype:
        return None
    start = _address(array) - _address(root)
    part = (start % root.itemsize) // array.itemsize
    where = _positions(view._backend.xp, root, start - part * array.itemsize, array.shape, array.strides)
    return None if where is None else (where, part)


def _positions(xp, root, start: int, shape: tuple, strides: tuple):
    """``positions`` of the elements of ``root``'s dtype laid out from ``start`` bytes into its memory with
    ``shape`` and ``strides`` (bytes)."""
    item = root.itemsize
    if start % item or any(st % item for st in strides):
        return None
    offset = start // item
    if root.flags.c_contiguous:  # memory order is row-major order: positions are memory offsets
        flat = xp.arange(root.size, dtype=xp.int64)
        return xp.lib.stride_tricks.as_strided(flat[offset:], shape, tuple(s // item * 8 for s in strides))
    # Any other layout (a transposed einsum result, say): map memory offsets to row-major indices.
    if any(st % item for st in root.strides):
        return None
    in_memory = _offsets(xp, root.shape, root.strides, item)
    low = int(in_memory.min()) if in_memory.size else 0
    inverse = xp.full(int(in_memory.max()) - low + 1 if in_memory.size else 0, -1, dtype=xp.int64)
    inverse[(in_memory - low).reshape(-1)] = xp.arange(root.size, dtype=xp.int64)
    if int((inverse >= 0).sum()) != root.size:  # two of the base's elements share memory
        return None
    at = offset - low + _offsets(xp, shape, strides, item)
    if at.size and (int(at.min()) < 0 or int(at.max()) >= inverse.shape[0]):
        return None
    found = inverse[at]
    return None if bool((found < 0).any()) else found


def _offsets(xp, shape, strides, item):
    """Each element's memory offset, in elements, from the first element of an array of this layout."""
    out = xp.zeros(shape, dtype=xp.int64)
    for axis, (n, stride) in enumerate(zip(shape, strides)):
        out += (xp.arange(n, dtype=xp.int64) * (stride // item)).reshape((n,) + (1,) * (len(shape) - axis - 1))
    return out


class ViewOfBase(Function):
    """The values of ``base`` at ``positions``: a view's history taken from its base's current one."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, base, positions=None):
        ctx.base_shape, ctx.positions = base.shape, positions
        return base.reshape(-1)[positions.reshape(-1)].reshape(positions.shape)

    @staticmethod
    def backward(ctx, g):
        from ..tensor import Tensor

        index = Tensor._make(ctx.positions.reshape(-1), ctx.backend)
        flat = g.new_zeros(_prod(ctx.base_shape))
        return flat.index_put((index,), g.reshape(-1), accumulate=True).reshape(ctx.base_shape)


class WriteBack(Function):
    """``base`` with the elements at ``positions`` replaced by ``values``."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, base, values, positions=None):
        ctx.positions, ctx.base_shape = positions, base.shape
        out = base.copy()
        out.reshape(-1)[positions.reshape(-1)] = values.reshape(-1)
        return out

    @staticmethod
    def backward(ctx, g):
        from ..tensor import Tensor

        index = Tensor._make(ctx.positions.reshape(-1), ctx.backend)
        flat = g.reshape(-1)
        to_base = flat.index_put((index,), flat.new_zeros(index.shape[0])).reshape(ctx.base_shape)
        return to_base, flat[index].reshape(ctx.positions.shape)


class ViewOfPart(Function):
    """The real (``part`` 0) or imaginary (1) parts of ``base`` at ``positions``: a ``.real`` or ``.imag``
    view's history taken from its complex base's current one."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, base, positions=None, part=0):
        ctx.base_shape, ctx.positions, ctx.part = base.shape, positions, part
        taken = base.reshape(-1)[positions.reshape(-1)].reshape(positions.shape)
        return (taken.imag if part else taken.real).copy()

    @staticmethod
    def backward(ctx, g):
        from ..ops.complex_numbers import complex as make_complex
        from ..tensor import Tensor

        index = Tensor._make(ctx.positions.reshape(-1), ctx.backend)
        flat, zeros = g.reshape(-1), g.new_zeros(ctx.positions.size)
        at = make_complex(zeros, flat) if ctx.part else make_complex(flat, zeros)
        return at.new_zeros(_prod(ctx.base_shape)).index_put((index,), at, accumulate=True).reshape(ctx.base_shape)


class WriteBackPart(Function):
    """``base`` with the real (``part`` 0) or imaginary (1) parts of the elements at ``positions`` replaced
    by ``values``: an in-place op through ``z.real`` or ``z.imag``."""

    forward_on_arrays = True  # gpugrad's own: forward takes and returns backend arrays

    @staticmethod
    def forward(ctx, base, values, positions=None, part=0):
        ctx.positions, ctx.base_shape, ctx.part = positions, base.shape, part
        out = base.copy()
        flat, where = out.reshape(-1), positions.reshape(-1)
        written = flat[where]
        if part:
            written.imag = values.reshape(-1)
        else:
            written.real = values.reshape(-1)
        flat[where] = written
        return out

    @staticmethod
    def backward(ctx, g):
        from ..ops.complex_numbers import complex as make_complex
        from ..tensor import Tensor

        index = Tensor._make(ctx.positions.reshape(-1), ctx.backend)
        flat = g.reshape(-1)
        at = flat[index]
        kept = make_complex(at.real, at.real.new_zeros(at.shape)) if ctx.part else make_complex(at.imag.new_zeros(at.shape), at.imag)
        to_base = flat.index_put((index,), kept).reshape(ctx.base_shape)
        return to_base, (at.imag if ctx.part else at.real).reshape(ctx.positions.shape)


def _prod(shape) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def write_through(name: str, view, result) -> None:
    """Commit the recorded in-place result ``result`` of an op on ``view`` (see the module's docstring)."""
    base = view._base
    if view._one_of_several_views:
        raise RuntimeError(f"{name}: this view (shape {tuple(view.shape)}) is one of the outputs of an op that returns "
                           "several views (split, chunk, unbind ...), and such views cannot be modified in place "
                           "while recording gradients; clone it first, or use the out-of-place op")
    if base._node is None and base._requires_grad:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation; wrap it in `with gg.no_grad():` or work on a copy")
    where, part = _where(view, base)
    if where is None:
        raise RuntimeError(f"{name}: in-place modification of this view (shape {tuple(view.shape)}) while recording "
                           "gradients is not supported (it reads its base as another dtype, or the base's elements "
                           "overlap); use the "
                           "out-of-place op")
    xp = view._backend.xp
    if xp.unique(where.reshape(-1)).size != where.size:
        raise RuntimeError(f"{name}: unsupported operation: more than one element of the written-to tensor refers "
                           "to a single memory location (an expanded view); clone it first")
    if part is None:
        new_base = WriteBack.apply(base, result, positions=where)
    else:
        new_base = WriteBackPart.apply(base, result, positions=where, part=part)
    view._array[...] = result._array
    view._version_ref[0] += 1
    base._node, base._output_index = new_base._node, new_base._output_index
    taken = _view_of(base, where, part)
    view._node, view._output_index = taken._node, taken._output_index
    view._view_version = view._version_ref[0]


def refresh(view) -> None:
    """Give a view whose base changed since its history was recorded the base's current history."""
    base = view._base
    if base is None:
        return
    view._view_version = view._version_ref[0]
    where, part = _where(view, base)
    if where is None:  # a bit-cast view (``view(dtype)``) stays outside the graph
        return
    taken = _view_of(base, where, part)
    view._node, view._output_index = taken._node, taken._output_index


def _where(view, base) -> tuple:
    """``(positions, None)`` for a view of its base's elements, ``(positions, part)`` for one of their real or
    imaginary parts, ``(None, None)`` when neither can be said."""
    where = positions(view, base)
    if where is not None:
        return where, None
    found = part_positions(view, base)
    return found if found is not None else (None, None)


def _view_of(base, where, part):
    """The view's new history: ``base``'s elements (or their ``part``) at ``where``."""
    if part is None:
        return ViewOfBase.apply(base, positions=where)
    return ViewOfPart.apply(base, positions=where, part=part)
