"""The bundled data sets (digits, spirals, MNIST's IDX files), needing no network. The loader and the
general data sets are ``gpugrad.utils.data`` (PyTorch's ``torch.utils.data``); the names below are kept
here for code written against gpugrad.data before.

    from gpugrad.utils.data import DataLoader, random_split
    from gpugrad.data import load_digits
    train, test = random_split(load_digits(), [0.8, 0.2], generator=gg.Generator(seed=0))
    for x, y in DataLoader(train, batch_size=64, shuffle=True):
        ...

See ``gpugrad.utils.data`` for saving and restoring a loader's shuffling state in a checkpoint.
"""
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split, train_test_split
from .datasets import MNIST, FashionMNIST, load_digits, make_spirals, read_idx

__all__ = [
    "DataLoader",
    "Dataset",
    "FashionMNIST",
    "MNIST",
    "Subset",
    "TensorDataset",
    "default_collate",
    "load_digits",
    "make_spirals",
    "random_split",
    "read_idx",
    "train_test_split",
]
