"""Hyper-parameter checks shared by the optimizers (PyTorch's messages, naming the value)."""
from __future__ import annotations

from typing import Any


def nonneg(opt: str, name: str, value: Any, what: str | None = None) -> None:
    try:
        ok = float(value) >= 0.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{opt}: invalid {what or name} value: {name}={value!r} (must be >= 0)")


def betas(opt: str, value: Any) -> None:
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError(f"{opt}: betas must be a pair (beta1, beta2), got {value!r}") from None
    for i, b in enumerate((b1, b2)):
        try:
            ok = 0.0 <= float(b) < 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{opt}: invalid beta parameter at index {i}: betas={value!r} (each must be in [0, 1))")
