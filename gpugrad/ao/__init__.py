"""``torch.ao``: PyTorch's architecture-optimisation tools. gpugrad has quantization's float-mode stubs only
(``ao.quantization``): int8 tensors, observers and the prepare/convert flow are not built."""
from . import quantization  # noqa: F401
