"""Data sets and loaders with ``torch.utils.data``'s names and semantics, plus data sets needing no network.

    from gpugrad.data import DataLoader, load_digits, random_split
    train, test = random_split(load_digits(), [0.8, 0.2], generator=gg.Generator(0))
    for x, y in DataLoader(train, batch_size=64, shuffle=True):
        ...

See ``gpugrad.data.dataloader`` for saving and restoring a loader's shuffling state in a checkpoint.
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
