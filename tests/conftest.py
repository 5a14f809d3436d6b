import collections
import os

import numpy as np
import pytest
from hypothesis import settings

import gpugrad as gg
from gpugrad.autograd.function import Function

# A bounded profile for CI; GPUGRAD_HYPOTHESIS_PROFILE=long for a longer run by hand.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("GPUGRAD_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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


def pytest_collection_modifyitems(config, items):
    try:
        import torch  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="PyTorch is not installed (pip install torch==2.13.0 to compare with it)")
        for item in items:
            if item.get_closest_marker("torch"):
                item.add_marker(skip)
    if not gg.cuda.is_available():
        # A test marked both cuda and cudasim runs on a GPU (gpu_check.sh: -m cuda) and in the simulator.
        simulating = gg.backend.simulating_cuda()
        skip = pytest.mark.skip(reason=f"no usable CUDA device: {gg.backend.cuda_unavailable_reason()}")
        for item in items:
            if item.get_closest_marker("cuda") and not (simulating and item.get_closest_marker("cudasim")):
                item.add_marker(skip)
