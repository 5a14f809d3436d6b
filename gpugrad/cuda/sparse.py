"""``gg.cuda.sparse``: the legacy sparse tensor types of CUDA tensors (``torch.cuda.sparse.FloatTensor(indices,
values, size)``), as linear_operator picks them for CUDA indices; without a GPU, making one says none is there."""
from ..legacy import CUDA_SPARSE_TYPES

globals().update(CUDA_SPARSE_TYPES)  # FloatTensor, DoubleTensor, LongTensor ...

__all__ = sorted(CUDA_SPARSE_TYPES)
