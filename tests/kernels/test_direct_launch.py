"""The direct CUDA launch path (kernels/_numba_cuda_internals.py, used by kernels/_launch.py) packs every kernel's arguments exactly as numba-cuda's
own launch does, so the two paths hand the same parameter list to the same compiled kernel.

No GPU is needed: numba-cuda's argument preparation accepts a StridedMemoryView of a host array, and our
packer is given an object with CuPy's attributes over the same memory. A change in numba-cuda's layout
(field order, what is passed by value) fails here before it can reach a GPU. The launch() tests record
cuda.core's launch instead of running it: configuration, caching and the fallback to numba's path.
The path reads numba-cuda's private code, so it is pinned: the versions it was checked against are named
in _numba_cuda_internals.CHECKED_VERSIONS, and test_installed_numba_cuda_is_a_checked_version fails on
any other (where launch() uses numba-cuda's own path).
"""
from __future__ import annotations

import ctypes
import types as pytypes
import warnings

import numpy as np
import pytest

pytest.importorskip("numba.cuda")
cuda_core_utils = pytest.importorskip("cuda.core.utils")

from gpugrad.kernels import FAMILIES, _launch  # noqa: E402
from gpugrad.kernels import _numba_cuda_internals as internals  # noqa: E402

pytestmark = pytest.mark.skipif(_launch.simulator_enabled(), reason="numba-cuda's real argument layout")

SPECS = [s for family in FAMILIES for s in family.cuda_kernel_specs()]


class CupyLike:
    """The attributes of a cupy.ndarray the packer reads, over a host array's memory."""

    def __init__(self, a: np.ndarray) -> None:
        self.array = a
        self.dtype, self.ndim, self.shape, self.strides = a.dtype, a.ndim, a.shape, a.strides
        self.size, self.itemsize, self.flags = a.size, a.itemsize, a.flags
        self.data = pytypes.SimpleNamespace(ptr=a.ctypes.data)


def example_value(ty, rng: np.random.Generator, index: int):
    from numba.cuda import types

    if isinstance(ty, types.Array):
        shape = (7, 5, 3, 2)[: ty.ndim]
        a = rng.standard_normal(shape).astype(str(ty.dtype)) if ty.dtype != types.int64 else rng.integers(0, 9, shape)
        if ty.layout == "A" and ty.ndim:
            a = np.repeat(a, 2, axis=-1)[..., ::2]  # strided: the strides must travel as they are
        return a
    if ty == types.boolean:
        return bool(index % 2)
    if isinstance(ty, types.Integer):
        return 1000 + index
    return 0.25 + index


def numba_parameters(argtypes, values) -> list:
    from numba.cuda.dispatcher import _Kernel

    stand_in = pytypes.SimpleNamespace(extensions=[])  # _prepare_args reads only this off the kernel
    params: list = []
    for ty, v in zip(argtypes, values):
        if isinstance(v, np.ndarray):
            v = cuda_core_utils.StridedMemoryView.from_dlpack(v, stream_ptr=-1)
        _Kernel._prepare_args(stand_in, ty, v, 0, [], params)
    return params


def as_comparable(p):
    if isinstance(p, ctypes._SimpleCData):
        return (type(p).__name__, p.value)
    return (type(p).__name__, p)


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_direct_packing_matches_numba(spec):
    label, _fn, sig, _dtype = spec
    rng = np.random.default_rng(len(label))
    values = [example_value(ty, rng, i) for i, ty in enumerate(sig.args)]
    expected = numba_parameters(sig.args, values)
    packers = internals.argument_packers(sig.args, label)
    ours = internals.pack_arguments(packers, [CupyLike(v) if isinstance(v, np.ndarray) else v for v in values])
    assert [as_comparable(p) for p in ours] == [as_comparable(p) for p in expected]


def test_packer_rejects_what_numba_typing_would():
    from numba.cuda import types

    (pack,) = internals.argument_packers([types.float32[::1]], "relu")
    good = np.zeros(9, np.float32)
    pack(CupyLike(good), [])
    with pytest.raises(TypeError, match=r"relu argument 0: expected a 1-d float32 array.*float64"):
        pack(CupyLike(good.astype(np.float64)), [])
    with pytest.raises(TypeError, match=r"C-contiguous.*shape \(5,\)"):
        pack(CupyLike(good[::2]), [])
    with pytest.raises(TypeError, match=r"expected a 1-d float32 array.*shape \(3, 3\)"):
        pack(CupyLike(good.reshape(3, 3)), [])
    with pytest.raises(TypeError, match=r"expected a device array.*ndarray"):
        pack(good, [])  # host memory must never reach a kernel as a device pointer


def test_installed_numba_cuda_is_a_checked_version():
    installed = internals.installed_version()
    assert installed in internals.CHECKED_VERSIONS == ("0.30.4",), (
        f"numba-cuda {installed} is installed, but the direct launch path (kernels/_numba_cuda_internals.py) "
        f"was checked against {internals.CHECKED_VERSIONS} only, so launch() takes numba-cuda's own (slower) "
        "path here. If every other test in this file passes on this version, add it to CHECKED_VERSIONS "
        "(and to this test); if not, fix the packing first."
    )


def test_launch_path_names_the_fallback(monkeypatch):
    monkeypatch.setattr(internals, "installed_version", lambda: internals.CHECKED_VERSIONS[0])
    monkeypatch.setattr(_launch, "DIRECT_LAUNCH", True)
    monkeypatch.setattr(_launch, "FORCE_DIRECT", False)
    monkeypatch.setattr(_launch, "_direct_unavailable", None)
    assert _launch.launch_path() == "direct"
    monkeypatch.setattr(_launch, "_direct_unavailable", "direct launch unavailable: ImportError: cuda.core")
    assert _launch.launch_path() == "numba (direct launch unavailable: ImportError: cuda.core)"
    monkeypatch.setattr(_launch, "DIRECT_LAUNCH", False)
    assert _launch.launch_path() == "numba (GPUGRAD_CUDA_LAUNCH=numba)"


class FakeDispatcher:
    """What launch() reads off a numba-cuda dispatcher compiled for one signature; kernel[config](*args)
    (numba's own path) is recorded instead of run."""

    __name__ = "forward_kernel"

    def __init__(self, compiled) -> None:
        self.overloads = {"the signature": compiled}
        self.numba_calls: list = []

    def __getitem__(self, config):
        return lambda *args: self.numba_calls.append((config, args))


def compiled_kernel(**changes):
    from numba.cuda import types

    fields = dict(
        argument_types=(types.int64, types.float32[::1], types.float32[::1], types.float32),
        debug=False, cooperative=False,
        _codelibrary=pytypes.SimpleNamespace(get_cufunc=lambda: pytypes.SimpleNamespace(kernel="the CUfunction")),
    )
    fields.update(changes)
    return pytypes.SimpleNamespace(**fields)


@pytest.fixture
def launches(monkeypatch):
    """cuda.core's launch recorded instead of run, numba's stream conversion stubbed, a fresh cache."""
    import cuda.core
    import numba.cuda.cudadrv.driver as driver

    calls: list = []
    monkeypatch.setattr(cuda.core, "launch", lambda stream, config, fn, *params: calls.append((stream, config, fn, params)))
    monkeypatch.setattr(driver, "_to_core_stream", lambda s: ("core stream of", s))
    monkeypatch.setattr(_launch, "DIRECT_LAUNCH", True)
    monkeypatch.setattr(_launch, "FORCE_DIRECT", False)
    monkeypatch.setattr(_launch, "_direct_unavailable", None)
    monkeypatch.setattr(_launch, "_CONFIGURED", {})
    monkeypatch.setattr(internals, "installed_version", lambda: internals.CHECKED_VERSIONS[0])
    return calls


def test_launch_packs_once_configured_and_reuses_the_configuration(launches):
    kernel = FakeDispatcher(compiled_kernel())
    x, y = CupyLike(np.arange(1000, dtype=np.float32)), CupyLike(np.zeros(1000, np.float32))
    for _ in range(2):
        _launch.launch(kernel, 1000, 256, "stream", 3, x, y, np.float32(0.5), per_thread=4)
    assert len(launches) == 2 and not kernel.numba_calls and len(_launch._CONFIGURED) == 1
    stream, config, fn, params = launches[0]
    assert stream == ("core stream of", "stream") and fn == "the CUfunction"
    assert config.grid == (1, 1, 1) and config.block == (256, 1, 1)  # 1000 elements, 4 per thread
    expected = [("c_long", 3),
                *[("int", v) for v in (0, 0, 1000, 4, x.data.ptr, 1000, 4)],
                *[("int", v) for v in (0, 0, 1000, 4, y.data.ptr, 1000, 4)],
                ("c_float", 0.5)]
    assert [as_comparable(p) for p in params] == expected


def test_launch_falls_back_to_numba_when_the_direct_path_cannot_be_set_up(launches):
    kernel = FakeDispatcher(compiled_kernel(_codelibrary=None))  # a numba-cuda without get_cufunc there
    x, y = CupyLike(np.ones(7, np.float32)), CupyLike(np.zeros(7, np.float32))
    with pytest.warns(RuntimeWarning, match="direct launch unavailable: AttributeError"):
        _launch.launch(kernel, 7, 256, "stream", 3, x, y, np.float32(0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, not per launch
        _launch.launch(kernel, 7, 256, "stream", 3, x, y, np.float32(0.5))
    assert not launches and len(kernel.numba_calls) == 2
    assert _launch.launch_path().startswith("numba (direct launch unavailable: AttributeError")
    config, args = kernel.numba_calls[0]
    assert config == (1, 256, "stream") and args[1] is x and args[3] == np.float32(0.5)


def test_launch_takes_numba_path_when_asked(launches, monkeypatch):
    monkeypatch.setattr(_launch, "DIRECT_LAUNCH", False)
    kernel = FakeDispatcher(compiled_kernel())
    _launch.launch(kernel, 7, 256, "stream", 3, CupyLike(np.ones(7, np.float32)), CupyLike(np.zeros(7, np.float32)),
                   np.float32(0.5))
    assert not launches and len(kernel.numba_calls) == 1


def test_unchecked_numba_cuda_version_takes_numbas_path(launches, monkeypatch):
    monkeypatch.setattr(internals, "installed_version", lambda: "0.99.0")
    assert _launch.launch_path() == (
        "numba (numba-cuda 0.99.0 is not a version the direct launch was checked against (0.30.4))")
    kernel = FakeDispatcher(compiled_kernel())
    x, y = CupyLike(np.ones(7, np.float32)), CupyLike(np.zeros(7, np.float32))
    with pytest.warns(RuntimeWarning, match=r"numba-cuda 0\.99\.0 is not a version.*using numba-cuda's launch path"):
        _launch.launch(kernel, 7, 256, "stream", 3, x, y, np.float32(0.5))
    assert not launches and len(kernel.numba_calls) == 1


def test_direct_forced_on_an_unchecked_version(launches, monkeypatch):
    """GPUGRAD_CUDA_LAUNCH=direct (FORCE_DIRECT) takes the direct path on any version, to try a new one."""
    monkeypatch.setattr(internals, "installed_version", lambda: "0.99.0")
    monkeypatch.setattr(_launch, "FORCE_DIRECT", True)
    assert _launch.launch_path() == "direct"
    kernel = FakeDispatcher(compiled_kernel())
    _launch.launch(kernel, 7, 256, "stream", 3, CupyLike(np.ones(7, np.float32)), CupyLike(np.zeros(7, np.float32)),
                   np.float32(0.5))
    assert len(launches) == 1 and not kernel.numba_calls


@pytest.mark.cuda
def test_both_launch_paths_give_the_same_result_on_the_gpu(monkeypatch):
    """On a real GPU: a kernel launched through the direct path and through numba-cuda's own writes the
    same output (each into a NaN-filled array, so an element either path skips fails)."""
    cupy = pytest.importorskip("cupy")
    from gpugrad.kernels import activation as act

    x = cupy.asarray(np.random.default_rng(0).standard_normal(100_003).astype(np.float32))
    expected = act.forward(cupy, "relu", x, impl="reference")
    kern = act._cuda_kernel("forward", np.dtype(np.float32))
    stream = _launch.cuda_stream(cupy)
    for direct in (True, False):
        monkeypatch.setattr(_launch, "DIRECT_LAUNCH", direct)
        y = cupy.full_like(x, np.nan)
        _launch.launch(kern, x.size, 256, stream, act.CODES["relu"], x, y, np.float32(0), per_thread=act.FORWARD_UNROLL)
        cupy.cuda.runtime.deviceSynchronize()
        np.testing.assert_array_equal(cupy.asnumpy(y), cupy.asnumpy(expected), err_msg=f"direct={direct}")
