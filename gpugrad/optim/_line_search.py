"""The strong-Wolfe line search behind ``LBFGS(line_search_fn="strong_wolfe")``, as PyTorch's.

Works on flat backend arrays and Python floats. ``evaluate(t)`` returns the loss and the flat gradient
at ``x + t d`` (and puts the parameters back at ``x``); the search brackets a step that satisfies the
strong Wolfe conditions, then zooms in on it by safeguarded cubic interpolation (Nocedal & Wright,
Algorithms 3.5 and 3.6).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["cubic_minimizer", "strong_wolfe"]


def cubic_minimizer(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                    bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clipped to
    ``bounds`` (default: the interval between x1 and x2); the midpoint when the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        point = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        point = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(point, lo), hi)


class _Point:
    """A trial step with its loss, flat gradient and directional derivative."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t: float, f: float, g: Any, gtd: float) -> None:
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(
    evaluate: Callable[[float], tuple[float, Any]],
    dot: Callable[[Any, Any], float],
    t: float,
    d: Any,
    f: float,
    g: Any,
    gtd: float,
    *,
    d_norm: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, Any, float, int]:
    """Search along ``d`` from the current point (loss ``f``, gradient ``g``, slope ``gtd < 0``)
    starting with step ``t``; ``d_norm`` is ``max |d|``. Returns (loss, gradient, step, evaluations)."""

    def trial(step: float) -> _Point:
        f_new, g_new = evaluate(step)
        return _Point(step, f_new, g_new, dot(g_new, d))

    def too_high(p: _Point) -> bool:  # the sufficient-decrease (Armijo) condition fails
        return p.f > f + c1 * p.t * gtd

    def curvature(p: _Point) -> bool:
        return abs(p.gtd) <= -c2 * gtd

    start = _Point(0.0, f, g, gtd)
    prev, new = start, trial(t)
    evals, iters = 1, 0
    bracket: list[_Point] | None = None
    found: _Point | None = None
    # Phase 1: grow the step until an interval holds a point that satisfies both conditions.
    while iters < max_ls:
        if too_high(new) or (iters > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if curvature(new):
            found = new
            break
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        bounds = (new.t + 0.01 * (new.t - prev.t), new.t * 10)
        step = cubic_minimizer(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd, bounds=bounds)
        prev, new = new, trial(step)
        evals += 1
        iters += 1
    if found is not None:
        return found.f, found.g, found.t, evals
    if bracket is None:  # out of evaluations while still growing
        bracket = [_Point(0.0, f, g, gtd), new]
    # Phase 2: shrink the bracket; `low` is its end with the lower loss.
    low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
    stalled = False
    while iters < max_ls:
        a, b = bracket[0].t, bracket[1].t
        if abs(b - a) * d_norm < tolerance_change:
            break
        step = cubic_minimizer(a, bracket[0].f, bracket[0].gtd, b, bracket[1].f, bracket[1].gtd)
        # Keep trial points away from the bracket's ends; after two tries near an end, move inwards.
        margin = 0.1 * (max(a, b) - min(a, b))
        if min(max(a, b) - step, step - min(a, b)) < margin:
            if stalled or step >= max(a, b) or step <= min(a, b):
                step = max(a, b) - margin if abs(step - max(a, b)) < abs(step - min(a, b)) else min(a, b) + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        new = trial(step)
        evals += 1
        iters += 1
        if too_high(new) or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
            continue
        if curvature(new):
            bracket[low] = new
            break
        if new.gtd * (bracket[high].t - bracket[low].t) >= 0:
            bracket[high] = bracket[low]
        bracket[low] = new
    best = bracket[low]
    return best.f, best.g, best.t, evals
