"""Random sampling from gpugrad's generators: normal, bernoulli, multinomial, poisson and the in-place fills."""
from __future__ import annotations

# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = ()
DIFFERENTIABLE = ()
METHODS = {}
