"""``torch._inductor``: the compiler back end gpugrad does not have; ``config`` holds its settings at
PyTorch's defaults for scripts that set them (karpathy/llm.c sets coordinate_descent_tuning)."""
from . import config

__all__ = ["config"]
