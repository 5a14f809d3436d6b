"""Cumulative ops along a dim: cumsum, cumprod, cummax, cummin, logcumsumexp."""
from __future__ import annotations

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = ()
DIFFERENTIABLE = ()
METHODS = {}
