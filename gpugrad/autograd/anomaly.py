"""``detect_anomaly()``: name the op whose backward first produced a NaN, and where it was created."""
from __future__ import annotations

import traceback
import warnings

from . import watch
from .watch import state as _state


def _set(enabled: bool) -> None:
    _state.anomaly = enabled
    watch.refresh()


def is_anomaly_enabled() -> bool:
    return _state.anomaly


class detect_anomaly:
    """Check every backward's results for NaN while active, as PyTorch's: the first NaN raises
    RuntimeError naming the op and the line of user code that created it. An inf is no anomaly (sqrt's
    gradient at 0 is inf, which a relu before it may mask to 0), nor is anything the forward computes
    (``where(x > 0, x.log(), 0)`` computes log(0) in the branch not taken)::

        with gg.autograd.detect_anomaly():
            loss = model(x).sum()
            loss.backward()
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = is_anomaly_enabled()
        _set(self.check_nan)
        return self

    def __exit__(self, *exc) -> None:
        _set(self._prev)


class set_detect_anomaly:
    """Turn anomaly mode on or off: at once when called, and back as it was when used as a context
    manager's exit (PyTorch's ``set_detect_anomaly``)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = is_anomaly_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        _set(self._prev)


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``torch.set_anomaly_enabled``: gpugrad's anomaly mode is its NaN check, so it is on only when both
    are asked for."""
    _set(bool(enabled) and bool(check_nan))


def is_anomaly_check_nan_enabled() -> bool:
    return _state.anomaly


def creation_site() -> str:
    """The innermost stack frame outside gpugrad, as 'file:line in function: code'."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/gpugrad/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


def _has_nan(xp, array) -> bool:
    return array.dtype.kind in "fc" and bool(xp.isnan(array).any())


def check_backward(node, grads_in: tuple) -> None:
    """A node's gradients in anomaly mode: a NaN raises as PyTorch's does (its message, after its warning
    with the line that created the op)."""
    xp = node.xp
    for i, g in enumerate(grads_in):
        if g is not None and _has_nan(xp, g._array):
            name = node.name()
            warnings.warn(f"Error detected in {name}. Traceback of forward call that caused the error:\n"
                          f"  {node.created_at}", UserWarning, stacklevel=2)
            raise RuntimeError(f"Function '{name}' returned nan values in its {i}th output. "
                               f"(detect_anomaly: the op was created at {node.created_at})")
