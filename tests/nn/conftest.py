import collections

import pytest

from gpugrad.autograd.function import Function


@pytest.fixture
def count_applies(monkeypatch):
    """Start counting ``Function.apply`` calls, by op class name; returns the live Counter."""

    def start():
        counts = collections.Counter()
        apply = Function.__dict__["apply"].__func__

        def counting(cls, *args, **kwargs):
            counts[cls.__name__] += 1
            return apply(cls, *args, **kwargs)

        monkeypatch.setattr(Function, "apply", classmethod(counting))
        return counts

    return start
