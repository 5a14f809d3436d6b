"""Every CUDA kernel compiles for sm_90 (float32 and float64), assembles with
ptxas without spills, and float32 kernels contain no float64 instructions.

Needs numba-cuda with NVVM and a ptxas from the same CUDA release (the pip
packages nvidia-cuda-nvcc-cu12 / cuda-toolkit), no GPU. Skipped when they
are missing, unless GPUGRAD_REQUIRE_PTX=1 (CI), which turns that into a
failure. Runs in the normal process: compile_ptx is not available under the
CUDA simulator.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import types
from pathlib import Path

import pytest

from .conftest import SIM

REQUIRE = os.environ.get("GPUGRAD_REQUIRE_PTX", "0") == "1"
CC = (9, 0)


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"GPUGRAD_REQUIRE_PTX=1 but {reason}")
    pytest.skip(reason)


def _find_ptxas() -> str | None:
    try:
        from cuda.pathfinder import find_nvidia_binary_utility

        found = find_nvidia_binary_utility("ptxas")
        if found:
            return str(found)
    except Exception:
        pass
    try:
        import nvidia.cuda_nvcc

        for root in nvidia.cuda_nvcc.__path__:
            cand = Path(root) / "bin" / "ptxas"
            if cand.is_file():
                return str(cand)
    except Exception:
        pass
    return shutil.which("ptxas")


def _release(text: str) -> tuple[int, int] | None:
    m = re.search(r"release (\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _specs() -> list[tuple[str, object, object, object]]:
    if SIM:
        return []
    try:
        from gpugrad.kernels import FAMILIES

        return [s for mod in FAMILIES for s in mod.cuda_kernel_specs()]
    except Exception:
        return []  # numba-cuda missing: the test below reports it


SPECS = _specs()


@pytest.fixture(scope="module")
def toolchain():
    if SIM:
        pytest.skip("compile_ptx does not run under the CUDA simulator; runs in the normal process")
    try:
        import numba.cuda
        import numba.cuda.dispatcher as dispatcher
        from numba.cuda.cudadrv import nvvm

        nvvm.NVVM()  # loads libNVVM
    except Exception as e:
        _unavailable(f"numba-cuda with NVVM is not usable ({type(e).__name__}: {e})")
    ptxas = _find_ptxas()
    if ptxas is None:
        _unavailable("ptxas not found (pip install nvidia-cuda-nvcc-cu12)")
    out = subprocess.run([ptxas, "--version"], capture_output=True, text=True)
    ptxas_release = _release(out.stdout)
    if out.returncode != 0 or ptxas_release is None:
        _unavailable(f"ptxas at {ptxas} does not run: {out.stderr.strip()}")
    # numba-cuda compiles called device functions (our scalar helpers) for
    # the *current device*; without a GPU there is none, so the test presents
    # one of the target's compute capability.
    patch = pytest.MonkeyPatch()
    if not numba.cuda.is_available():
        if not hasattr(dispatcher, "get_current_device"):
            _unavailable("numba-cuda changed: numba.cuda.dispatcher.get_current_device is gone")
        fake = types.SimpleNamespace(compute_capability=CC)
        patch.setattr(dispatcher, "get_current_device", lambda: fake)
    yield ptxas, ptxas_release
    patch.undo()


def test_kernels_found():
    if SIM:
        pytest.skip("runs in the normal process")
    if not SPECS:
        _unavailable("no CUDA kernel specs (is numba-cuda installed?)")
    labels = [s[0] for s in SPECS]
    assert len(labels) == len(set(labels))
    assert {"float32", "float64"} <= {str(s[3]) for s in SPECS}


def _loads_before_first_store() -> dict[str, int]:
    """Memory-bound kernels whose first loop trip issues this many global loads before any store: the
    loads a thread keeps in flight (see kernels/_grid.py, UNROLL)."""
    from gpugrad.kernels import activation

    return {"activation.forward": activation.FORWARD_UNROLL, "activation.backward": 2 * activation.UNROLL}


@pytest.mark.parametrize("spec", SPECS, ids=[s[0] for s in SPECS])
def test_ptx(spec, toolchain, tmp_path):
    import numba.cuda

    ptxas, ptxas_release = toolchain
    label, pyfunc, sig, dtype = spec
    ptx, _ = numba.cuda.compile_ptx(pyfunc, sig, cc=CC)
    nvvm_release = _release(ptx)
    if nvvm_release and nvvm_release > ptxas_release:
        _unavailable(f"NVVM {nvvm_release} is newer than ptxas {ptxas_release}; "
                     "install both from the same CUDA release")
    path = tmp_path / "kernel.ptx"
    path.write_text(ptx)
    res = subprocess.run([ptxas, f"-arch=sm_{CC[0]}{CC[1]}", "-v", str(path), "-o", os.devnull],
                         capture_output=True, text=True)
    stderr = res.stderr
    assert res.returncode == 0, f"{label}: ptxas failed:\n{stderr}"
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", stderr)
    assert spills, f"{label}: no resource usage in ptxas -v output:\n{stderr}"
    assert all(s == ("0", "0") for s in spills), f"{label}: register spills:\n{stderr}"
    want = _loads_before_first_store().get(label.split("[")[0])
    if want is not None:
        ops = re.findall(r"\b(ld|st)\.global\b", ptx)
        issued = ops.index("st") if "st" in ops else len(ops)
        assert issued >= want, f"{label}: {issued} global loads before the first store, expected {want}"
    if str(dtype) == "float32":
        f64 = [ln.strip() for ln in ptx.splitlines()
               if re.search(r"\.f64\b", ln) and not ln.lstrip().startswith("//")]
        assert not f64, f"{label}: float64 instructions in a float32 kernel: {f64[:5]}"
