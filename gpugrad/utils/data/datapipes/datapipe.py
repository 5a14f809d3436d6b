"""``torch.utils.data``'s DataPipes: data sets chained by name. ``IterDataPipe`` is an ``IterableDataset``
and ``MapDataPipe`` a map-style ``Dataset``; a class decorated with ``@functional_datapipe("name")``
becomes a method of every DataPipe of its kind, ``dp.name(*args)`` building ``Class(dp, *args)``::

    dp = IterableWrapper(range(10)).map(lambda x: x * 2).filter(lambda x: x > 4).batch(3)

The DataLoader takes an ``IterDataPipe`` as the ``IterableDataset`` it is. PyTorch's graph hooks
(sharding and shuffling settings applied through the DataLoader, iterator snapshots) are not kept here:
a DataPipe that shards defines ``apply_sharding`` itself and is called so by the user.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from ....errors import ArgumentError
from ..dataset import Dataset, IterableDataset

__all__ = ["DataChunk", "IterDataPipe", "MapDataPipe", "functional_datapipe"]


class _Functional:
    """What both DataPipe kinds share: the table of functional forms, looked up by attribute name."""

    functions: ClassVar[dict[str, Callable]] = {}

    @classmethod
    def register_datapipe_as_function(cls, function_name: str, cls_to_register) -> None:
        if function_name in cls.functions:
            raise ArgumentError(f"Unable to add DataPipe function name {function_name} as it is already taken")
        cls.functions[function_name] = cls_to_register

    def __getattr__(self, attribute_name: str) -> Any:
        # Only names not found otherwise reach here: the registered functional forms.
        cls_to_register = type(self).functions.get(attribute_name)
        if cls_to_register is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{attribute_name}'")
        return functools.partial(cls_to_register, self)

    def __repr__(self) -> str:
        return type(self).__qualname__

    __str__ = __repr__


class IterDataPipe(_Functional, IterableDataset):
    """An iterable DataPipe: subclasses define ``__iter__`` (and ``__len__`` where they know it)."""

    functions: ClassVar[dict[str, Callable]] = {}


class MapDataPipe(_Functional, Dataset):
    """A map-style DataPipe: subclasses define ``__getitem__`` and ``__len__``."""

    functions: ClassVar[dict[str, Callable]] = {}


def functional_datapipe(name: str, enable_df_api_tracing: bool = False) -> Callable:
    """Register the decorated DataPipe class as the method ``name`` of every DataPipe of its kind."""

    def register(cls):
        if issubclass(cls, IterDataPipe):
            IterDataPipe.register_datapipe_as_function(name, cls)
        elif issubclass(cls, MapDataPipe):
            MapDataPipe.register_datapipe_as_function(name, cls)
        else:
            raise TypeError(f"functional_datapipe: `{cls.__name__}` is not a subclass of IterDataPipe or MapDataPipe")
        return cls

    return register


class DataChunk(list):
    """A batch of a ``batch`` DataPipe: a list of its items."""

    def as_str(self, indent: str = "") -> str:
        return indent + "[" + ", ".join(str(item) for item in self) + "]"

    def raw_iterator(self):
        yield from self
