"""``gg.testing``: ``assert_close`` and ``make_tensor``, as torch.testing's.

``assert_close`` compares tensors, NumPy arrays, Python numbers, and sequences or mappings of them, with
PyTorch's default tolerances per dtype (``|actual - expected| <= atol + rtol * |expected|``) and its
messages; tensors on different devices, of different dtypes or shapes fail before any value is compared.
"""
from __future__ import annotations

import collections.abc
import math
from typing import Any, Callable

import numpy as np

from .. import dtypes, factory
from ..random import default_generator
from ..tensor import Tensor

# PyTorch's defaults (rtol, atol) by dtype; integer and bool dtypes compare exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7), np.dtype(np.complex64): (1.3e-6, 1e-5),
               np.dtype(np.complex128): (1e-7, 1e-7)}


def _tolerances(dt: np.dtype, rtol, atol) -> tuple[float, float]:
    if rtol is not None:
        return rtol, atol
    return _TOLERANCES.get(np.dtype(dt), (0.0, 0.0))


def _fail(default: str, msg) -> None:
    if callable(msg):
        raise AssertionError(msg(default))
    raise AssertionError(default if msg is None else msg)


def _attribute(name: str, a, b, msg) -> None:
    _fail(f"The values for attribute '{name}' do not match: {a} != {b}.", msg)


def _compare_arrays(actual: np.ndarray, expected: np.ndarray, rtol, atol, equal_nan: bool, msg) -> None:
    exact = actual.dtype.kind in "biu" and expected.dtype.kind in "biu"
    rtol, atol = _tolerances(actual.dtype, rtol, atol)
    if actual.dtype.kind == "b":
        actual, expected = actual.astype(np.int64), expected.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        wide = np.complex128 if "c" in (actual.dtype.kind, expected.dtype.kind) else np.float64
        a64 = actual.astype(wide)
        e64 = expected.astype(wide)
        close = np.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan) if not exact else actual == expected
        if close.all():
            return
        abs_diff = np.abs(a64 - e64)
        rel_diff = abs_diff / np.abs(e64)
    mismatched = int((~close).sum())
    total = close.size
    kind = "equal" if rtol == 0 and atol == 0 else "close"

    def worst(diff):
        masked = np.where(close, -np.inf, np.nan_to_num(diff, nan=np.inf, posinf=np.inf))
        flat = int(np.argmax(masked))
        index = np.unravel_index(flat, diff.shape) if diff.ndim else ()
        value = diff.reshape(-1)[flat] if diff.size else diff
        return value, tuple(int(i) for i in index)

    def number(v):
        return int(v) if exact and np.isfinite(v) and float(v).is_integer() else float(v)

    lines = [f"Tensor-likes are not {kind}!", "", f"Mismatched elements: {mismatched} / {total} "
             f"({100.0 * mismatched / total:.1f}%)"]
    for label, diff, allowed in (("absolute", abs_diff, atol), ("relative", rel_diff, rtol)):
        value, index = worst(diff)
        line = f"Greatest {label} difference: {number(value) if label == 'absolute' else float(value)} at index {index}"
        if kind == "close":
            line += f" (up to {allowed} allowed)"
        lines.append(line)
    _fail("\n".join(lines), msg)


def _scalars(actual, expected, rtol, atol, equal_nan: bool, msg) -> None:
    dt = np.dtype(np.float64) if isinstance(actual, float) or isinstance(expected, float) else np.dtype(np.int64)
    rtol, atol = _tolerances(dt, rtol, atol)
    a, e = float(actual), float(expected)
    if (math.isnan(a) and math.isnan(e) and equal_nan) or a == e:
        return
    diff = abs(a - e)
    if diff <= atol + rtol * abs(e):
        return
    rel = diff / abs(e) if e != 0 else math.inf
    kind = "equal" if rtol == 0 and atol == 0 else "close"
    _fail(f"Scalars are not {kind}!\n\nExpected {expected} but got {actual}.\nAbsolute difference: {diff} "
          f"(up to {atol} allowed)\nRelative difference: {rel} (up to {rtol} allowed)", msg)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` are close (torch.testing.assert_close)."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.")
    keywords = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                    check_device=check_device, check_dtype=check_dtype, check_layout=check_layout,
                    check_stride=check_stride, msg=msg)
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        if check_device and actual.device != expected.device:
            _attribute("device", actual.device, expected.device, msg)
        if actual.shape != expected.shape:
            _attribute("shape", actual.shape, expected.shape, msg)
        if check_dtype and actual.dtype != expected.dtype:
            _attribute("dtype", actual.dtype, expected.dtype, msg)
        if check_stride and actual.stride() != expected.stride():
            _attribute("stride()", actual.stride(), expected.stride(), msg)
        a, e = actual.detach().cpu().numpy(), expected.detach().cpu().numpy()
        if a.dtype != e.dtype:
            common = np.promote_types(a.dtype, e.dtype)
            a, e = a.astype(common), e.astype(common)
        _compare_arrays(a, e, rtol, atol, equal_nan, msg)
        return
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        if actual.shape != expected.shape:
            _attribute("shape", actual.shape, expected.shape, msg)
        if check_dtype and actual.dtype != expected.dtype:
            _attribute("dtype", actual.dtype, expected.dtype, msg)
        common = np.promote_types(actual.dtype, expected.dtype)
        _compare_arrays(actual.astype(common), expected.astype(common), rtol, atol, equal_nan, msg)
        return
    # NumPy scalars compare as the Python numbers they hold, as in PyTorch (np.float64 is a float subclass)
    if isinstance(actual, np.generic) and not isinstance(actual, (np.str_, np.bytes_, np.void)):
        actual = actual.item()
    if isinstance(expected, np.generic) and not isinstance(expected, (np.str_, np.bytes_, np.void)):
        expected = expected.item()
    numbers = (int, float, bool)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        if check_dtype and type(actual) is not type(expected):
            _fail(f"The (d)types do not match: {type(actual)} != {type(expected)}.", msg)
        _scalars(actual, expected, rtol, atol, equal_nan, msg)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=str)
            extra = sorted(set(actual) - set(expected), key=str)
            _fail(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: {missing}\n"
                  f"Additional keys in the actual mapping: {extra}", msg)
        for key in expected:
            assert_close(actual[key], expected[key], **keywords)
        return
    sequence = (collections.abc.Sequence,)
    if (isinstance(actual, sequence) and isinstance(expected, sequence)
            and not isinstance(actual, str) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", msg)
        for a, e in zip(actual, expected):
            assert_close(a, e, **keywords)
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def make_tensor(*shape, dtype, device=None, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format=None) -> Tensor:
    """A tensor of ``shape`` with random values in ``[low, high)`` (defaults -9 and 9; ints to 10, uint8
    from 0), as torch.testing.make_tensor; ``noncontiguous`` gives a strided view of the same values."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    target = dtypes.to_dtype(dtype)
    kind = target.np.kind
    rng = default_generator.rng
    if kind == "b":
        values = rng.integers(0, 2, size=shape).astype(bool)
    elif kind in "iu":
        lo = (0 if kind == "u" else -9) if low is None else math.ceil(low)
        hi = 10 if high is None else math.ceil(high)
        if lo >= hi:
            raise ValueError(f"make_tensor: `low` ({low}) must be less than `high` ({high})")
        values = rng.integers(lo, hi, size=shape)
        if exclude_zero:
            values[values == 0] = 1 if hi > 1 else -1
    else:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if not lo < hi:
            raise ValueError(f"make_tensor: `low` ({low}) must be less than `high` ({high})")
        values = rng.uniform(lo, hi, size=shape)
        if exclude_zero:
            values[values == 0] = np.finfo(target.np).eps
    values = values.astype(target.np)
    if noncontiguous and values.size > 1:
        doubled = np.repeat(values.reshape(-1), 2)
        values = doubled[::2].reshape(values.shape)
    out = factory.from_numpy(values)
    if device is not None:
        out = out.to(device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan: bool = True, msg: str = "") -> None:
    """The deprecated ``torch.testing.assert_allclose``: assert_close without dtype checks."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_allclose: rtol and atol must both be given or both omitted")
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 msg=msg or None)
