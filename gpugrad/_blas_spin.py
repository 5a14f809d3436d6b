"""NumPy loaded with OpenBLAS's idle threads spinning for tens of microseconds, not its default ~0.1 s.

After each multithreaded GEMM, OpenBLAS's worker threads spin for 2**28 cycles before they sleep; a
training step runs its large GEMMs every few milliseconds, so on a small machine a worker holds a core
all step long, and every other thread that wants that core waits for it: gpugrad's own pool (``threads``),
Numba's parallel loops, and PyTorch's threads in the same process (bench/NOTES.md, thirty-seventh
session). OpenBLAS reads its spin (``OPENBLAS_THREAD_TIMEOUT``, 2**n cycles) once, when it loads, which is
when NumPy is first imported: so this module, imported first by gpugrad/__init__.py, loads NumPy with a
short spin, unless NumPy was imported before gpugrad or the environment sets the variable itself. The
environment is restored at once, so that other libraries' copies of OpenBLAS keep their own defaults.
"""
import os
import sys

OPENBLAS_THREAD_TIMEOUT = "16"  # 2**16 cycles: tens of microseconds, as Numba's OpenMP spin (threads.py)


def _load_numpy() -> bool:
    """Import NumPy with OpenBLAS's short spin; whether the spin was set here."""
    if "numpy" in sys.modules or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = OPENBLAS_THREAD_TIMEOUT
    try:
        import numpy  # noqa: F401 - loads OpenBLAS, which reads the variable now
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]
    return True


short_spin = _load_numpy()  # False: NumPy came first, and OpenBLAS keeps the spin it loaded with
