"""How tensors print: PyTorch's layout (``tensor([1.0000, 2.7183])``) and ``gg.set_printoptions``.

One formatter per tensor picks a common style from its finite non-zero values, as PyTorch does: integers
(``1.``), fixed point with ``precision`` digits, or scientific when the values span more than three orders
of magnitude, exceed 1e8 or fall below 1e-4. Tensors with more than ``threshold`` elements print their
first and last ``edgeitems`` along each dimension.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from . import dtypes
from .dtypes import FLOAT_KINDS

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


@dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTIONS = _PrintOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how tensors print, with PyTorch's options and profiles ("default", "short", "full").

    ``sci_mode`` True or False forces scientific or fixed notation; None (the default, and what every call
    that omits it restores) lets each tensor choose.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        for name, value in _PROFILES[profile].items():
            setattr(_OPTIONS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(_OPTIONS, name, value)
    _OPTIONS.sci_mode = sci_mode


class _Formatter:
    """The common width and notation for every element of one tensor."""

    def __init__(self, values: numpy.ndarray) -> None:
        self.parts = None
        if values.dtype.kind == "c":  # real and imaginary parts each with a style of their own, as PyTorch's
            self.parts = (_Formatter(values.real), _Formatter(numpy.abs(values.imag)))
            self.width = self.parts[0].width + self.parts[1].width + 2
            return
        self.floating = values.dtype.kind in FLOAT_KINDS
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if not self.floating:
            for v in values.ravel().tolist():
                self.width = max(self.width, len(str(v)))
            return
        finite = values[numpy.isfinite(values) & (values != 0)].astype(numpy.float64).ravel()
        if not finite.size:  # nothing to choose a style from: plain fixed point, whatever sci_mode says
            return
        magnitudes = numpy.abs(finite)
        low, high = magnitudes.min(), magnitudes.max()
        self.int_mode = bool((finite == numpy.ceil(finite)).all())
        if _OPTIONS.sci_mode is None:
            self.sci_mode = bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4)
        else:
            self.sci_mode = _OPTIONS.sci_mode
        p = _OPTIONS.precision
        for v in finite.tolist():
            if self.sci_mode:
                text = f"{v:.{p}e}"
            elif self.int_mode:
                text = f"{v:.0f}."
            else:
                text = f"{v:.{p}f}"
            self.width = max(self.width, len(text))

    def format(self, value) -> str:
        if self.parts is not None:
            imag = value.imag
            sign = "-" if imag < 0 or (imag == 0 and math.copysign(1.0, imag) < 0) else "+"
            text = self.parts[0].format(value.real) + sign + self.parts[1].format(abs(imag)).strip() + "j"
            return text.rjust(self.width)
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{_OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{_OPTIONS.precision}f}"
        return text.rjust(self.width)


def _summarised(values: numpy.ndarray) -> numpy.ndarray:
    """Only the elements a summarised print shows (the edges of every dimension): the formatter's sample."""
    edge = _OPTIONS.edgeitems
    for axis in range(values.ndim):
        n = values.shape[axis]
        if n > 2 * edge:
            keep = list(range(edge)) + list(range(n - edge, n))
            values = numpy.take(values, keep, axis=axis)
    return values


def _vector(values: numpy.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, int(math.floor((_OPTIONS.linewidth - indent) / (fmt.width + 2))))
    edge = _OPTIONS.edgeitems
    if summarize and not edge:
        items = ["..."]
    elif summarize and values.shape[0] > 2 * edge:
        items = [fmt.format(v) for v in values[:edge].tolist()] + [" ..."]
        items += [fmt.format(v) for v in values[-edge:].tolist()]
    else:
        items = [fmt.format(v) for v in values.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: numpy.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if values.ndim == 0:
        return fmt.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, fmt)
    n, edge = values.shape[0], _OPTIONS.edgeitems
    if summarize and n > 2 * edge:
        rows = [_nested(values[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
        rows += [_nested(values[i], indent + 1, summarize, fmt) for i in range(n - edge, n)]
    else:
        rows = [_nested(values[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def meta_repr(shape: tuple, dtype: dtypes.DType, grad_fn: str | None, requires_grad: bool) -> str:
    """PyTorch's text for a meta tensor: ``tensor(..., device='meta', size=(2, 3))``."""
    suffixes = ["device='meta'", f"size={shape}"]
    if dtype is not dtypes.default_float:
        suffixes.append(f"dtype={dtype}")
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return "tensor(..., " + ", ".join(suffixes) + ")"


def tensor_body(values: numpy.ndarray, indent: int) -> str:
    """The bracketed values alone (``[[1., 2.],\n [3., 4.]]``), rows after the first indented by ``indent``
    plus their depth: what PyTorch's ``torch._tensor_str._tensor_str`` gives."""
    if values.size == 0:
        return "[]"
    if values.dtype == numpy.float16:
        values = values.astype(numpy.float32)
    summarize = values.size > _OPTIONS.threshold
    fmt = _Formatter(_summarised(values) if summarize else values)
    return _nested(values, indent, summarize, fmt)


def tensor_repr(values: numpy.ndarray, dtype: dtypes.DType, device: str, grad_fn: str | None, requires_grad: bool) -> str:
    """PyTorch's text for a tensor holding ``values`` (a NumPy array) with these attributes."""
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if device != "cpu":
        suffixes.append(f"device='{device}'")
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype is not dtypes.default_float:
            suffixes.append(f"dtype={dtype}")
        body = "[]"
    else:
        if not _OPTIONS.edgeitems:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype not in (dtypes.default_float, dtypes.default_complex(), dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={dtype}")
        body = tensor_body(values, indent)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
