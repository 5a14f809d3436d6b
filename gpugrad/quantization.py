"""``torch.quantization``: PyTorch's older path of ``torch.ao.quantization`` (gpugrad/ao/quantization)."""
from .ao.quantization import *  # noqa: F401,F403
from .ao.quantization import __getattr__  # noqa: F401  (what is absent says so under this path too)
