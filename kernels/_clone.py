"""Renamed copies of Python functions, and the tag that keeps Numba's on-disk cache honest.

Numba names a cached CPU kernel after its function's qualified name and checks the entry against the
function's own source file only. Two things follow. A kernel compiled twice with different options (the
parallel and serial builds) must be two differently named copies, or the builds would share one entry.
And code from other files that gets compiled into a kernel (the scalar helpers and their CPU twins, the
vectorisable math, the compile options) is invisible to that check: every kernel's name carries
SHARED_SOURCE_TAG, a hash of those files, so that editing one recompiles the kernels instead of loading
stale machine code. The tag also says whether the process runs under the CUDA simulator
(NUMBA_ENABLE_CUDASIM=1): a CPU kernel compiled there is not the same machine code (batch norm's
parallel gradient sums loaded from the simulator run's cache entry differed from the serial build's in
the last bits), so the two never share an entry.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ._cuda import simulator_enabled

_HERE = Path(__file__).resolve().parent

# Helper files whose code runs on the host only and is never compiled into a CPU kernel: editing them
# must not recompile every kernel. Any other kernels/_*.py file is hashed, so a new helper file is
# covered without anyone remembering to list it.
HOST_ONLY = frozenset({"_launch.py", "_numba_cuda_internals.py", "_checks.py", "_cuda.py", "_grid.py"})


def hashed_files(folder: Path = _HERE) -> list[Path]:
    """The helper files (kernels/_*.py, less HOST_ONLY) whose code ends up in compiled CPU kernels."""
    return sorted(p for p in folder.glob("_*.py") if p.name not in HOST_ONLY and p.name != "__init__.py")


def source_tag(files: Iterable[Path], simulated: bool = False) -> str:
    """A short hash of the files' names and contents, and of whether CUDA is simulated."""
    h = hashlib.sha1(b"cuda simulator\0" if simulated else b"")
    for p in files:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:10]


SHARED_SOURCE_TAG = source_tag(hashed_files(), simulator_enabled())


def clone(fn: Callable[..., Any], glob: dict[str, Any], suffix: str = "") -> Callable[..., Any]:
    """A copy of `fn` reading `glob` as its globals, named ``<name><suffix>`` and qualified
    ``<qualname><suffix>_<SHARED_SOURCE_TAG>`` (its own cache entry, stale whenever a helper changes)."""
    copy = type(fn)(fn.__code__, glob, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = f"{fn.__qualname__}{suffix}_{SHARED_SOURCE_TAG}"
    return copy
