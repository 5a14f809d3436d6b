"""NumPy's floating-point warnings from gpugrad's own calls, silenced once at import.

PyTorch computes inf and NaN (1 / 0, log 0, exp of a large float, inf - inf) without a word; NumPy
reports each as a RuntimeWarning ("divide by zero encountered in divide"), raised as from the Python
frame that called it. ``silence_numpy_warnings`` installs one warnings filter that ignores exactly those:
NumPy's floating-point messages raised from a gpugrad module. The user's own NumPy calls warn as before,
gpugrad's own warnings are untouched, and no op pays for it (NumPy's ``errstate``, the other way, costs
1.4 us per use; a filter is read only when a warning is raised).

A filter installed after this one goes in front of it and takes precedence, as Python's warnings rules
say: ``warnings.simplefilter("error")`` in the user's code, or pytest's ``filterwarnings = error`` (a
library's test configuration), makes NumPy raise these as errors; so does ``np.seterr(all="raise")``.
PyTorch raises nothing there, so an op whose computation raised one is computed again with NumPy's
floating-point errors ignored (``Function.apply``; the short roads and the engine's array road hand such an
error to it): a cost only where the values are inf or NaN. Under pytest's own warning capture, which drops
filters added during a test's collection, the warnings themselves may show in its summary.
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
