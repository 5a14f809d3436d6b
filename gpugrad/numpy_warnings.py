"""NumPy's floating-point warnings from gpugrad's own calls, silenced once at import.

PyTorch computes inf and NaN (1 / 0, log 0, exp of a large float, inf - inf) without a word; NumPy
reports each as a RuntimeWarning ("divide by zero encountered in divide"), raised as from the Python
frame that called it. ``silence_numpy_warnings`` installs one warnings filter that ignores exactly those:
NumPy's floating-point messages raised from a gpugrad module. The user's own NumPy calls warn as before,
gpugrad's own warnings are untouched, and no op pays for it (NumPy's ``errstate``, the other way, costs
1.4 us per use; a filter is read only when a warning is raised).

A filter installed after this one goes in front of it and takes precedence, as Python's warnings rules
say: ``warnings.simplefilter("error")`` in the user's code, or pytest's ``filterwarnings = error``, turns
these back into errors. ``python -W error`` does not (its filters are installed before gpugrad's import).
"""
from __future__ import annotations

import warnings

__all__ = ["silence_numpy_warnings", "MESSAGES", "MODULES"]

# NumPy's floating-point error messages (numpy/_core/_ufunc_config.py, the "warn" handling).
MESSAGES = r"(divide by zero|invalid value|overflow|underflow) encountered in "
MODULES = r"gpugrad(\.|$)"


def silence_numpy_warnings() -> None:
    """Ignore NumPy's floating-point RuntimeWarnings raised from gpugrad's modules (module docstring)."""
    warnings.filterwarnings("ignore", message=MESSAGES, category=RuntimeWarning, module=MODULES)
