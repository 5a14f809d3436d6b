"""``torch.fx.immutable_collections``: the list and dict a node keeps its arguments in."""
from __future__ import annotations

from typing import Any

__all__ = ["immutable_dict", "immutable_list"]


class immutable_list(list):
    """A node's list argument: editing it in place would leave the graph's uses stale, so it refuses."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"'{type(self).__name__}' object does not support mutation: assign a new list to "
                                  "the node's args instead")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = sort = \
        reverse = _refuse

    def __reduce__(self):
        return (immutable_list, (list(self),))


class immutable_dict(dict):
    """A node's dict argument (its kwargs): refuses in-place edits, as ``immutable_list``."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"'{type(self).__name__}' object does not support mutation: assign a new dict to "
                                  "the node's kwargs instead")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (immutable_dict, (dict(self),))
