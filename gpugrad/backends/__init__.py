"""``torch.backends``: the switches PyTorch scripts set. gpugrad calls neither cuDNN nor oneDNN, so
``cudnn.benchmark`` and friends are accepted and change nothing; ``cuda.matmul.allow_tf32`` is kept and
reported (gpugrad's GEMMs stay full float32); ``mps`` says it is not there; ``cpu`` names the vector
instructions the CPU kernels use."""
from . import cpu, cuda, cudnn, mps

__all__ = ["cpu", "cuda", "cudnn", "mps"]
