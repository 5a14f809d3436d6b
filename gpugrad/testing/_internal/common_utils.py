"""``torch.testing._internal.common_utils``: ``TestCase``, whose ``assertEqual`` compares tensors, NumPy
arrays, numbers, booleans, strings and nested sequences or mappings of them as PyTorch's does, and
``run_tests``. Library test suites (timm's optimizer tests) build on it.

As in PyTorch: tensors compare with the default tolerances of their dtypes (or ``atol``/``rtol``), their
dtypes must match unless ``exact_dtype=False``, their devices need not (``exact_device``), NaNs compare
equal; a number or boolean compares with a one-element tensor; 1 equals 1.0; a list compares with a
tensor as a tensor of the tensor's dtype; anything else compares with ``==``. The first mismatch raises
AssertionError (ValueError for an impossible comparison), naming the item where it occurred.
"""
from __future__ import annotations

import cmath
import collections.abc
import contextlib
import enum
import sys
import unittest

import numpy as np

from ... import dtypes as _dtypes
from ... import factory as _factory
from ...tensor import Tensor
from .. import _compare_arrays

__all__ = ["TestCase", "run_tests"]

# PyTorch's default (rtol, atol) by dtype; other dtypes compare exactly
_PRECISIONS = {_dtypes.float16: (1e-3, 1e-5), _dtypes.bfloat16: (0.016, 1e-5), _dtypes.float32: (1.3e-6, 1e-5),
               _dtypes.float64: (1e-7, 1e-7), _dtypes.complex64: (1.3e-6, 1e-5), _dtypes.complex128: (1e-7, 1e-7)}
# Python numbers take these dtypes' tolerances (float as float32: looser than torch.testing.assert_close)
_NUMBER_DTYPES = {int: _dtypes.int64, float: _dtypes.float32, complex: _dtypes.complex64}


class _Mismatch(Exception):
    """One failed comparison: the exception type to raise, its message, and the path to the item."""

    def __init__(self, kind: type, message: str, path: tuple) -> None:
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path

    def error(self, msg) -> Exception:
        if isinstance(msg, str):
            return self.kind(msg)
        text = self.message
        if self.path:
            text += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.path)}"
        return self.kind(msg(text) if callable(msg) else text)


class _Unsupported(Exception):
    """The comparison in hand does not take these inputs: the next one is tried."""


def _tolerances(dts, rtol, atol, path) -> tuple[float, float]:
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise _Mismatch(ValueError, f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                                    f"{missing}.", path)
    if rtol is not None:
        return rtol, atol
    found = [_PRECISIONS.get(dt, (0.0, 0.0)) for dt in dts]
    return max(r for r, _ in found), max(a for _, a in found)


def _single(value, what: str, path):
    """The number a one-element tensor or array holds (a bool as an int when ``what`` is 'number')."""
    if isinstance(value, (Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, Tensor) else value.size
        if size > 1:
            raise _Mismatch(ValueError, f"Only single element tensor-likes can be compared against a {what}. "
                                        f"Got {size} elements instead.", path)
        value = value.item()
        return int(value) if what == "number" and isinstance(value, bool) else value
    return value.item() if isinstance(value, np.generic) else value


def _scalar_message(actual, expected, rtol: float, atol: float, kind: str = "Scalars") -> str:
    equality = rtol == 0 and atol == 0
    diff = abs(actual - expected)
    rel = float("inf") if expected == 0 else diff / abs(expected)
    lines = [f"{kind} are not {'equal' if equality else 'close'}!", "", f"Expected {expected} but got {actual}."]
    for label, value, tol in (("Absolute", diff, atol), ("Relative", rel, rtol)):
        lines.append(f"{label} difference: {value}" + ("" if equality else f" (up to {tol} allowed)"))
    return "\n".join(lines)


def _compare_none(a, e, path, o) -> None:
    if not (a is None or e is None):
        raise _Unsupported
    if not (a is None and e is None):
        raise _Mismatch(AssertionError, f"None mismatch: {a} is not {e}", path)


_BOOLS = (bool, np.bool_)
_NUMBERS = (int, float, complex, np.number)


def _compare_bool(a, e, path, o) -> None:
    others = (*_BOOLS, *_NUMBERS, Tensor, np.ndarray)
    if not ((isinstance(a, _BOOLS) and isinstance(e, others)) or (isinstance(e, _BOOLS) and isinstance(a, others))):
        raise _Unsupported
    a, e = (bool(_single(v, "boolean", path)) for v in (a, e))
    if a is not e:
        raise _Mismatch(AssertionError, f"Booleans mismatch: {a} is not {e}", path)


def _compare_number(a, e, path, o) -> None:
    others = (*_NUMBERS, Tensor, np.ndarray)
    if not ((isinstance(a, _NUMBERS) and isinstance(e, others)) or (isinstance(e, _NUMBERS) and isinstance(a, others))):
        raise _Unsupported
    a, e = (int(v) if isinstance(v, enum.Enum) else _single(v, "number", path) for v in (a, e))
    if type(a) not in _NUMBER_DTYPES or type(e) not in _NUMBER_DTYPES:
        raise _Unsupported
    rtol, atol = _tolerances([_NUMBER_DTYPES[type(a)], _NUMBER_DTYPES[type(e)]], o["rtol"], o["atol"], path)
    rtol, atol = max(rtol, o["rtol_override"]), max(atol, o["atol_override"])
    if a == e or (o["equal_nan"] and cmath.isnan(a) and cmath.isnan(e)):
        return
    diff = abs(a - e)
    if cmath.isfinite(diff) and diff <= atol + rtol * abs(e):
        return
    raise _Mismatch(AssertionError, _scalar_message(a, e, rtol, atol), path)


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else _factory.as_tensor(value)


def _compare_tensor(a, e, path, o) -> None:
    if not (isinstance(a, (Tensor, np.ndarray)) and isinstance(e, (Tensor, np.ndarray))):
        raise _Unsupported
    a, e = _as_tensor(a), _as_tensor(e)
    rtol, atol = _tolerances([a.dtype, e.dtype], o["rtol"], o["atol"], path)
    rtol, atol = max(rtol, o["rtol_override"]), max(atol, o["atol_override"])

    def differ(name, x, y):
        raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: {x} != {y}.", path)

    if a.shape != e.shape:
        differ("shape", a.shape, e.shape)
    if a.is_sparse != e.is_sparse:
        differ("is_sparse", a.is_sparse, e.is_sparse)
    if o["check_layout"] and a.layout != e.layout:
        differ("layout", a.layout, e.layout)
    elif o["check_stride"] and not a.is_sparse and a.stride() != e.stride():
        differ("stride()", a.stride(), e.stride())
    if o["check_device"] and a.device != e.device:
        differ("device", a.device, e.device)
    if o["check_dtype"] and a.dtype != e.dtype:
        differ("dtype", a.dtype, e.dtype)
    common = _dtypes.promote_types(a.dtype, e.dtype)
    arrays = [(t.to_dense() if t.is_sparse else t).detach().cpu().to(common).numpy() for t in (a, e)]
    try:
        _compare_arrays(*arrays, rtol, atol, o["equal_nan"], None)
    except AssertionError as failed:
        raise _Mismatch(AssertionError, str(failed), path) from None


def _unittest_compare(name: str, classes):
    def compare(a, e, path, o) -> None:
        if not (isinstance(a, classes) and isinstance(e, classes)):
            raise _Unsupported
        case = unittest.TestCase()
        try:
            case.assertEqual(a, e)
        except case.failureException as failed:
            raise _Mismatch(AssertionError, f"{name} comparison failed: {failed}", path) from None
    return compare


_COMPARISONS = (_compare_none, _compare_bool, _compare_number, _compare_tensor,
                _unittest_compare("String", (str, bytes)), _unittest_compare("Set", set),
                _unittest_compare("Type", type), _unittest_compare("Object", object))


def _containers():
    from ...nn import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
    from ...utils.data import Subset

    return ((collections.abc.Sequence, Sequential, ModuleList, ParameterList, Subset),
            (collections.abc.Mapping, ModuleDict, ParameterDict))


def _pairs(a, e, path: tuple, out: list) -> list:
    """Every (actual, expected, path) leaf pair of two nested structures; a structural mismatch (lengths,
    keys) raises at once, before any value is compared, as in PyTorch."""
    sequences, mappings = _containers()
    if (isinstance(a, sequences) and not isinstance(a, str) and isinstance(e, sequences)
            and not isinstance(e, str)):
        if len(a) != len(e):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: {len(a)} != {len(e)}", path)
        for i in range(len(a)):
            _pairs(a[i], e[i], (*path, i), out)
    elif isinstance(a, mappings) and isinstance(e, mappings):
        a_keys, e_keys = set(a.keys()), set(e.keys())
        if a_keys != e_keys:
            raise _Mismatch(AssertionError, f"The keys of the mappings do not match:\nMissing keys in the actual "
                                            f"mapping: {sorted(e_keys - a_keys)}\nAdditional keys in the actual "
                                            f"mapping: {sorted(a_keys - e_keys)}", path)
        keys = a_keys
        with contextlib.suppress(TypeError):  # keys of mixed types keep the set's order, as in PyTorch
            keys = sorted(keys)
        for key in keys:
            _pairs(a[key], e[key], (*path, key), out)
    else:
        out.append((a, e, path))
    return out


def _first_mismatch(x, y, options: dict) -> _Mismatch | None:
    try:
        for a, e, path in _pairs(x, y, (), []):
            for compare in _COMPARISONS:
                try:
                    compare(a, e, path, options)
                    break
                except _Unsupported:
                    continue
    except _Mismatch as mismatch:
        return mismatch
    return None


class TestCase(unittest.TestCase):
    """PyTorch's test base class: ``assertEqual`` understands tensors (see the module's docstring);
    ``precision`` and ``rel_tol`` raise every comparison's absolute and relative tolerance."""

    precision: float = 0.0
    rel_tol: float = 0.0

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)

    def assertEqual(self, x, y, msg=None, *, atol=None, rtol=None, equal_nan=True, exact_dtype=True,
                    exact_device=False, exact_layout=False, exact_stride=False, exact_is_coalesced=False) -> None:
        __tracebackhide__ = True
        if isinstance(x, Tensor) and isinstance(y, collections.abc.Sequence) and not isinstance(y, str):
            y = _factory.as_tensor(y, dtype=x.dtype, device=x.device)
        elif isinstance(y, Tensor) and isinstance(x, collections.abc.Sequence) and not isinstance(x, str):
            x = _factory.as_tensor(x, dtype=y.dtype, device=y.device)
        mismatch = _first_mismatch(x, y, {
            "rtol": rtol, "atol": atol, "rtol_override": self.rel_tol, "atol_override": self.precision,
            "equal_nan": equal_nan, "check_dtype": exact_dtype, "check_device": exact_device,
            "check_layout": exact_layout, "check_stride": exact_stride})
        if mismatch is not None:
            raise mismatch.error((lambda generated: f"{generated}\n{msg}") if isinstance(msg, str) and self.longMessage
                                 else msg)

    def assertNotEqual(self, x, y, msg=None, *, atol=None, rtol=None, **kwargs) -> None:
        with self.assertRaises(AssertionError, msg=msg):
            self.assertEqual(x, y, msg, atol=atol, rtol=rtol, **kwargs)

    def assertEqualIgnoreType(self, *args, **kwargs) -> None:
        self.assertEqual(*args, exact_dtype=False, **kwargs)


def run_tests(argv=None) -> None:
    """Run the calling module's TestCase classes with unittest (PyTorch's runner, without its extra options)."""
    unittest.main(module="__main__", argv=sys.argv if argv is None else argv)
