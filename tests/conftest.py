import collections
import os
import tempfile

# Under pytest-xdist (the README's test command), each worker keeps its own Numba cache: Numba's on-disk
# cache is not safe when two processes compile the same function at once (numba/numba#10128), and two
# workers did, leaving an index whose float32 entry held float64 code ("can't unbox array" from then on).
# Set before gpugrad imports numba; a cache directory the user chose stands.
if os.environ.get("PYTEST_XDIST_WORKER") and "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), f"gpugrad-numba-cache-{os.environ['PYTEST_XDIST_WORKER']}")

import numpy as np
import pytest
from hypothesis import settings

import gpugrad as gg
from gpugrad._warn_once import forget_warned
from gpugrad.autograd.function import Function

# A bounded profile for CI; GPUGRAD_HYPOTHESIS_PROFILE=long for a longer run by hand.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("GPUGRAD_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seeded_default_generator():
    """Every test starts from seed 0, whatever ran before it (gpugrad, like PyTorch, seeds its default
    generator from the OS otherwise)."""
    gg.manual_seed(0)


@pytest.fixture(autouse=True)
def _once_only_warnings_given_again():
    """Every test sees PyTorch's once-per-process warnings (gg.qr's deprecation and the like) afresh,
    whatever ran before it."""
    forget_warned()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def count_applies(monkeypatch):
    """Start counting op applications (``Function.apply`` and its shapes ``apply_one`` and
    ``apply_pair``, which hand their uncommon cases to apply: counted once), by op class name; returns
    the live Counter."""

    def start():
        counts = collections.Counter()
        depth = [0]

        def counting(original):
            def applied(cls, *args, **kwargs):
                if depth[0] == 0:
                    counts[cls.__name__] += 1
                depth[0] += 1
                try:
                    return original(cls, *args, **kwargs)
                finally:
                    depth[0] -= 1
            return classmethod(applied)

        for name in ("apply", "apply_one", "apply_pair"):
            monkeypatch.setattr(Function, name, counting(Function.__dict__[name].__func__))
        return counts

    return start


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown where it is not installed
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (the README's test command): a worker per core, at most four. Each worker imports gpugrad
    and compiles the kernels its tests use into a cache of its own (above), about a gigabyte of memory each."""
    return max(1, min(os.cpu_count() or 1, 4))


def _in_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_collection_modifyitems(config, items):
    if _in_xdist_worker(config):
        # The CUDA simulator's run (a process of its own, minutes on one core) first: the worker that gets it
        # waits on it while the others run the suite, and they take over its queue (--dist worksteal).
        from tests.test_cuda_simulator import SIMULATOR_TEST

        items.sort(key=lambda item: not item.nodeid.endswith(SIMULATOR_TEST))  # a stable sort: the rest keep their order
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


def pytest_sessionstart(session):
    """Where Python writes no bytecode (PYTHONDONTWRITEBYTECODE, set on this project's machines), every
    process a test starts (ranks, workers, fresh interpreters) would compile gpugrad's few hundred modules
    from source again, about 0.6 s of CPU each: write the bytecode once, here."""
    import sys

    if sys.dont_write_bytecode and not hasattr(session.config, "workerinput"):
        import compileall
        from pathlib import Path

        package = Path(gg.__file__).parent
        for folder in (package, package / "kernels"):  # kernels/ is linked in, and compile_dir skips links
            compileall.compile_dir(folder, quiet=1)


def pytest_collection_finish(session):
    """When the CUDA simulator's run is among the tests, start it now in a process of its own, so that it
    overlaps the rest of the suite (tests/test_cuda_simulator.py waits for it). Under pytest-xdist the test
    starts it itself, first on its worker (pytest_collection_modifyitems)."""
    if (os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or session.config.option.collectonly
            or _in_xdist_worker(session.config)):
        return
    from tests import test_cuda_simulator as sim

    if not any(item.nodeid.endswith(sim.SIMULATOR_TEST) for item in session.items):
        return
    try:
        import numba.cuda  # noqa: F401
    except ImportError:
        return
    import tempfile
    from pathlib import Path

    log_path = Path(tempfile.mkdtemp(prefix="gpugrad-cudasim-")) / "simulator.log"
    session.config.stash[sim.SIMULATOR_RUN] = (sim.start_simulator_run(log_path), log_path)


def pytest_sessionfinish(session):
    """A run stopped early (``-x``, Ctrl-C) must not leave the simulator's run behind."""
    from tests import test_cuda_simulator as sim

    started = session.config.stash.get(sim.SIMULATOR_RUN, None)
    if started is not None and started[0].poll() is None:
        started[0].kill()
