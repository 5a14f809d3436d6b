"""``gpugrad.linalg``: PyTorch's ``torch.linalg`` namespace (norms, solves and decompositions)."""
