"""Runnable examples: ``python -m gpugrad.examples.newton``."""
