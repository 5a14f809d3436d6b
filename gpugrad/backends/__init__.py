"""``torch.backends``: the switches PyTorch scripts set. gpugrad calls neither cuDNN nor oneDNN, so
``cudnn.benchmark`` and friends are accepted and change nothing."""
from . import cudnn

__all__ = ["cudnn"]
