"""Host helpers of ``histogram`` and ``histogramdd`` (gpugrad/ops/indexing.py): bin edges as PyTorch makes
them, and the binning of points.

PyTorch's equal-width edges are ``torch.linspace(leftmost, rightmost, bins + 1)`` in the input's dtype,
and its linspace computes ``start + step * i`` for the first half and ``end - step * (steps - 1 - i)``
for the rest, each as one fused multiply-add (one rounding), with ``step`` rounded to the dtype first.
NumPy's linspace rounds differently (and computes in float64), which moves float32 edges by an ulp
almost every time; an edge an ulp away can move a value at that edge into the next bin. So the edges are
computed here as PyTorch's are, the single rounding of the multiply-add done exactly: float32 through
float64 (where the product is exact) with the one double-rounding case corrected, float64 with
error-free transformations (Dekker's product, Knuth's sum).
"""
from __future__ import annotations

import math

import numpy

from ..errors import ArgumentError


def _two_sum(a, b):
    """(s, e) with s = fl(a + b) and a + b = s + e exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    c = 134217729.0 * a  # 2**27 + 1: Veltkamp's split into two halves of 26 bits
    hi = c - (c - a)
    return hi, a - hi


def _two_product(a, b):
    """(p, e) with p = fl(a * b) and a * b = p + e exactly (Dekker)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def linspace_edges(lo: float, hi: float, count: int, np_dtype) -> numpy.ndarray:
    """``torch.linspace(lo, hi, count, dtype)`` for float32 or float64, bit for bit (count >= 2); other
    float dtypes (which PyTorch's histograms refuse) get NumPy's float64 linspace, rounded once."""
    dt = numpy.dtype(np_dtype)
    if dt not in (numpy.float32, numpy.float64):
        return numpy.linspace(lo, hi, count).astype(dt)
    start, end = dt.type(lo), dt.type(hi)
    with numpy.errstate(over="ignore", invalid="ignore"):
        step = (end - start) / dt.type(count - 1)
        i = numpy.arange(count, dtype=numpy.float64)
        first = i < count // 2
        base = numpy.where(first, numpy.float64(start), numpy.float64(end))
        mult = numpy.where(first, i, -(count - 1 - i))
        if dt == numpy.float32:
            # step * i is exact in float64; s + e is the exact sum. Rounding s to float32 rounds the
            # exact value the same way unless s is a tie between two float32s that e would break.
            s, e = _two_sum(base, numpy.float64(step) * mult)
            r = s.astype(numpy.float32)
            r64 = r.astype(numpy.float64)
            toward_s = numpy.where(s > r64, numpy.float32(numpy.inf), numpy.float32(-numpy.inf)).astype(numpy.float32)
            neighbour = numpy.nextafter(r, toward_s).astype(numpy.float64)
            tie = (s != r64) & ((r64 + neighbour) / 2 == s) & (e != 0)
            if tie.any():
                r[tie] = numpy.nextafter(s[tie], s[tie] + e[tie]).astype(numpy.float32)
            return r
        ph, pl = _two_product(numpy.full_like(i, step), mult)
        s, e = _two_sum(base, ph)
        return s + (e + pl)


def _fmt(v: float) -> str:
    """A double as C++'s ostream writes it in PyTorch's messages (1 not 1.0, 1e+30)."""
    return f"{v:g}"


def outer_edges(op: str, columns: numpy.ndarray, range_, dims: int) -> list:
    """[(leftmost, rightmost)] per dim: ``range_`` (2 per dim) or each column's min and max (0 and 1 for
    no data), checked finite and ordered, and widened by 0.5 each way where they are equal, as PyTorch."""
    if range_ is not None:
        values = [float(v) for v in range_]
        if len(values) != 2 * dims:
            raise ArgumentError(f"torch.histogramdd: for a {dims}-dimensional histogram range should have {2 * dims} "
                                f"elements, but got {len(values)}")
        pairs = [(values[2 * d], values[2 * d + 1]) for d in range(dims)]
    elif columns.shape[0]:
        with numpy.errstate(invalid="ignore"):
            pairs = [(float(columns[:, d].min()), float(columns[:, d].max())) for d in range(dims)]
    else:
        pairs = [(0.0, 1.0)] * dims
    edges = []
    for d, (lo, hi) in enumerate(pairs):
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ArgumentError(f"torch.histogramdd: dimension {d}'s range [{_fmt(lo)}, {_fmt(hi)}] is not finite")
        if lo > hi:
            raise ArgumentError(f"{op}: min should not exceed max, but got min {_fmt(lo)} max {_fmt(hi)} for "
                                f"dimension {d}")
        edges.append((lo - 0.5, hi + 0.5) if lo == hi else (lo, hi))
    return edges


def bin_points(points: numpy.ndarray, edges: list, weights, density: bool, np_dtype) -> numpy.ndarray:
    """The histogram (len(edges[d]) - 1 bins per dim) of the rows of ``points`` (M, N): a point counts in
    the bin whose edges hold it, left edge included, the last bin's right edge too; points outside, or
    with a NaN coordinate, count nowhere. ``weights`` (M,) or None; ``density`` divides by the total and
    the bins' volumes. In np_dtype."""
    shape = tuple(len(e) - 1 for e in edges)
    keep = numpy.ones(points.shape[0], dtype=bool)
    flat = numpy.zeros(points.shape[0], dtype=numpy.int64)
    for d, e in enumerate(edges):
        x = points[:, d]
        keep &= (x >= e[0]) & (x <= e[-1])  # False at NaN
        # PyTorch's upper_bound - 1 (numpy's searchsorted, side='right'): the bin whose left edge is the
        # last one <= x; the rightmost edge belongs to the last bin.
        pos = numpy.searchsorted(e, x, side="right") - 1
        pos = numpy.clip(pos, 0, shape[d] - 1)
        flat = flat * shape[d] + pos
    size = math.prod(shape)
    w = None if weights is None else weights[keep].astype(numpy.float64)
    hist = numpy.bincount(flat[keep], weights=w, minlength=size).astype(np_dtype).reshape(shape)
    if density:
        with numpy.errstate(divide="ignore", invalid="ignore"):
            hist = hist / hist.sum(dtype=np_dtype)
            for d, e in enumerate(edges):
                widths = numpy.diff(e).astype(np_dtype)
                hist = hist / widths.reshape((1,) * d + (-1,) + (1,) * (len(edges) - d - 1))
    return hist.astype(np_dtype, copy=False)
