"""``torch.torch_version``: ``TorchVersion``, the class of ``gg.__version__``: a str that compares as a
version number with strings, tuples and ``packaging.version.Version`` objects, so that the checks written
against ``torch.__version__`` work::

    gg.__version__ >= "2.0"          # True: 2.13.0+gpugrad.0.1.0 is PyTorch 2.13's API
    gg.__version__ >= (2, 1)         # True: the tuple is read as "2.1"
    gg.__version__ < "2.13.0a0"      # False

Versions are ordered by PEP 440 (epoch, release, pre-, post- and dev-releases, local part), as
``packaging`` orders them (which is what PyTorch's vendored copy does); gpugrad parses them itself, without
``packaging``. A string that is not a version (``"parrot"``) compares as a string; ``!=`` is str's, and so is
the hash, as in PyTorch.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from .version import __version__ as internal_version

__all__ = ["TorchVersion"]

_PATTERN = re.compile(
    r"""^\s*v?
    (?:(?P<epoch>\d+)!)?
    (?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>\d+)?)?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version."""


def _key(text: str) -> tuple:
    """A sort key that orders versions as PEP 440 does."""
    m = _PATTERN.match(text)
    if m is None:
        raise InvalidVersion(f"Invalid version: {text!r}")
    release = [int(p) for p in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:  # 2.0.0 == 2.0 == 2
        release.pop()
    post = None
    if m["post_n1"] is not None or m["post_l"] is not None:
        post = int(m["post_n1"] or m["post_n2"] or 0)
    dev = int(m["dev_n"] or 0) if m["dev_l"] is not None else None
    if m["pre_l"] is not None:
        pre = (_PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0))
    elif post is None and dev is not None:
        pre = (-1, 0)  # 2.0.dev1 sorts before 2.0a1
    else:
        pre = (3, 0)  # a final release sorts after its pre-releases
    if m["local"] is None:
        local: tuple = (0,)
    else:
        parts = re.split(r"[-_.]", m["local"].lower())
        local = (1, tuple((1, int(p), "") if p.isdigit() else (0, 0, p) for p in parts))
    return (int(m["epoch"] or 0), tuple(release), pre, -1 if post is None else post,
            math.inf if dev is None else dev, local)


def _other_key(other: Any) -> tuple:
    if isinstance(other, str):
        return _key(other)
    if hasattr(other, "release") and hasattr(other, "epoch"):  # a packaging.version.Version
        return _key(str(other))
    if isinstance(other, Iterable):  # (2, 1) reads as "2.1"
        return _key(".".join(str(item) for item in other))
    raise InvalidVersion(f"cannot read {other!r} as a version")


class TorchVersion(str):
    """A version string that compares by version number with strings, tuples of numbers and
    ``packaging.version.Version`` objects (a string that is no version compares as a string)."""

    __slots__ = ()

    def _compare(self, other: Any, method: str) -> bool:
        try:
            mine, theirs = _key(self), _other_key(other)
        except InvalidVersion:
            return getattr(str, method)(self, other)
        return getattr(mine, method)(theirs)

    def __gt__(self, other: Any) -> bool:
        return self._compare(other, "__gt__")

    def __ge__(self, other: Any) -> bool:
        return self._compare(other, "__ge__")

    def __lt__(self, other: Any) -> bool:
        return self._compare(other, "__lt__")

    def __le__(self, other: Any) -> bool:
        return self._compare(other, "__le__")

    def __eq__(self, other: object) -> bool:
        return self._compare(other, "__eq__")

    __hash__ = str.__hash__


__version__ = TorchVersion(internal_version)
