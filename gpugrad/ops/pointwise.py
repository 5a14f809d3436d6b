"""Elementwise math beyond arithmetic: trigonometric, hyperbolic, exponential and logarithmic functions, rounding, special functions and predicates."""
from __future__ import annotations

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = ()
DIFFERENTIABLE = ()
METHODS = {}
