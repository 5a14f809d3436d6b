"""``torch.utils.weak``: weak references and weak-keyed dictionaries that key by identity, for objects
(tensors among them) whose ``==`` is elementwise and so cannot key an ordinary ``WeakKeyDictionary``.

``WeakIdKeyDictionary`` maps objects to values by ``id`` without keeping them alive: an entry goes when its
key is collected. ``WeakTensorKeyDictionary`` is the same class under the name libraries import.
"""
from __future__ import annotations

import copy as _copy
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from ..tensor import Tensor

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency

__all__ = ["TensorWeakRef", "WeakIdKeyDictionary", "WeakIdRef", "WeakTensorKeyDictionary"]

WeakRef = weakref.ref


class WeakIdRef(weakref.ref):
    """A weak reference hashed by its referent's ``id``; two are equal when they reach the same live
    object (or, dead, when they are the same reference)."""

    __slots__ = ["_id"]

    def __init__(self, key: Any, callback: Callable | None = None) -> None:
        self._id = id(key)
        super().__init__(key, callback)

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, weakref.ref):
            return NotImplemented
        a, b = self(), other()
        return a is b if a is not None and b is not None else self is other


class WeakIdKeyDictionary(MutableMapping):
    """A dict whose keys are held weakly and compared by identity (``ref_type`` makes the references).

    An entry disappears when its key is garbage collected; while the dictionary is being iterated, those
    removals wait until the iteration ends.
    """

    def __init__(self, dict: Mapping | None = None, ref_type: type = WeakIdRef) -> None:
        self.data: dict = {}
        self.ref_type = ref_type
        self._iterating = 0
        self._pending: list = []
        selfref = weakref.ref(self)

        def remove(key_ref, selfref=selfref) -> None:
            owner = selfref()
            if owner is None:
                return
            if owner._iterating:
                owner._pending.append(key_ref)
            else:
                owner.data.pop(key_ref, None)

        self._remove = remove
        if dict is not None:
            self.update(dict)

    # Iteration defers removals ---------------------------------------------------------------------
    def _live_items(self) -> Iterator[tuple[Any, Any]]:
        self._iterating += 1
        try:
            for key_ref, value in list(self.data.items()):
                key = key_ref()
                if key is not None:
                    yield key, value
        finally:
            self._iterating -= 1
            if not self._iterating:
                while self._pending:
                    self.data.pop(self._pending.pop(), None)

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        yield from self._live_items()

    def keys(self) -> Iterator[Any]:  # type: ignore[override]
        for key, _ in self._live_items():
            yield key

    __iter__ = keys

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        for _, value in self._live_items():
            yield value

    def keyrefs(self) -> list:
        """The weak references to the keys (some may be dead by the time they are called)."""
        return list(self.data)

    # Mapping ---------------------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        return self.data[self.ref_type(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[self.ref_type(key, self._remove)] = value

    def __delitem__(self, key: Any) -> None:
        del self.data[self.ref_type(key)]

    def __contains__(self, key: object) -> bool:
        try:
            return self.ref_type(key) in self.data
        except TypeError:  # an object that cannot be weakly referenced is never a key
            return False

    def __len__(self) -> int:
        dead = sum(1 for r in self._pending if r in self.data)
        return len(self.data) - dead

    def get(self, key: Any, default: Any = None) -> Any:
        return self.data.get(self.ref_type(key), default)

    def pop(self, key: Any, *default: Any) -> Any:
        return self.data.pop(self.ref_type(key), *default)

    def popitem(self) -> tuple[Any, Any]:
        while True:
            key_ref, value = self.data.popitem()
            key = key_ref()
            if key is not None:
                return key, value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return self.data.setdefault(self.ref_type(key, self._remove), default)

    def update(self, dict: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        if dict is not None:
            pairs = dict.items() if hasattr(dict, "items") else dict
            for key, value in pairs:
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    def copy(self) -> WeakIdKeyDictionary:
        new = WeakIdKeyDictionary(ref_type=self.ref_type)
        for key, value in self.items():
            new[key] = value
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> WeakIdKeyDictionary:
        new = self.__class__(ref_type=self.ref_type)
        for key, value in self.items():
            new[key] = _copy.deepcopy(value, memo)
        return new

    def __ior__(self, other: Mapping) -> Self:
        self.update(other)
        return self

    def __or__(self, other: object):
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other: object):
        if not isinstance(other, Mapping):
            return NotImplemented
        merged = self.__class__(ref_type=self.ref_type)
        merged.update(other)
        merged.update(self)
        return merged

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return {id(k): v for k, v in self.items()} == {id(k): v for k, v in other.items()}

    __hash__ = None  # type: ignore[assignment]  (a mutable mapping)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}>"


WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a Tensor: calling it gives the tensor, or None once it is collected."""

    ref: weakref.ref

    def __init__(self, tensor: Tensor) -> None:
        if not isinstance(tensor, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(tensor)}.")  # noqa: TRY004  (PyTorch's)
        self.ref = weakref.ref(tensor)

    def __call__(self) -> Tensor | None:
        return self.ref()
