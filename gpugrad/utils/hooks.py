"""``torch.utils.hooks.RemovableHandle``: a hook's registration in an ordered dict of hooks by id, which
``remove()`` (or leaving the ``with`` block) takes out again. Modules keep their hooks this way, and
libraries (accelerate) make handles for dicts of their own."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Callable

__all__ = ["RemovableHandle", "register"]


class RemovableHandle:
    """An id in ``hooks_dict`` (and in each of ``extra_dict``, a dict or a list of dicts) to remove later;
    the dicts are held weakly, so a handle does not keep its module alive."""

    next_id: int = 0

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = extra_dict if isinstance(extra_dict, list) else [] if extra_dict is None else [extra_dict]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    # A copied handle (``copy.deepcopy`` of its module, pickling) holds the dicts it was copied with: the
    # copied module's own, so removing the copy's hook leaves the original's in place, as PyTorch's.
    def __getstate__(self) -> tuple:
        return self.hooks_dict_ref(), self.id, tuple(ref() for ref in self.extra_dict_ref)

    def __setstate__(self, state: tuple) -> None:
        hooks_dict, self.id, extras = state
        # a dict gone before the copy leaves nothing to remove: a fresh one stands for it
        self.hooks_dict_ref = weakref.ref(OrderedDict() if hooks_dict is None else hooks_dict)
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras if d is not None)
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def register(hooks: OrderedDict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """Add ``hook`` to ``hooks`` (first, with ``prepend``) under a new handle's id."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle
