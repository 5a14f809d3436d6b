"""Bitwise ops on integer and bool tensors (logical on bool): and, or, xor, not, shifts."""
from __future__ import annotations

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = ()
DIFFERENTIABLE = ()
METHODS = {}
