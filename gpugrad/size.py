"""``gg.Size``: the type of ``x.shape`` and ``x.size()``, a tuple subclass as ``torch.Size``."""
from __future__ import annotations

import operator


class Size(tuple):
    """A tensor's shape: a tuple of ints that also answers ``numel()``. Slicing, ``+`` and ``*`` give
    Sizes; it equals (and hashes as) the plain tuple of the same ints."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        if sizes.__class__ is tuple:  # x.shape's case (a backend array's shape), kept cheap
            for s in sizes:
                if s.__class__ is not int:
                    break
            else:
                return tuple.__new__(cls, sizes)
        try:
            return tuple.__new__(cls, map(operator.index, sizes))
        except TypeError:
            items = list(sizes) if hasattr(sizes, "__iter__") else None
            if items is None:
                raise TypeError(f"Size() takes an iterable of 'int', got {type(sizes).__name__}") from None
            for i, item in enumerate(items):
                if not hasattr(item, "__index__"):
                    raise TypeError(f"Size() takes an iterable of 'int' (item {i} is '{type(item).__name__}')") from None
            raise

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for the empty shape)."""
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"  # PyTorch's text, as dtypes' repr

    __str__ = __repr__

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, times):
        return Size(tuple.__mul__(self, times))

    __rmul__ = __mul__

    def __reduce__(self):
        return Size, (tuple(self),)
