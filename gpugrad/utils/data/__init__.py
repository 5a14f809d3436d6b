"""PyTorch's ``torch.utils.data``: data sets, samplers, collation and the DataLoader (worker processes).

    from gpugrad.utils.data import DataLoader, TensorDataset, random_split
    train, test = random_split(TensorDataset(X, y), [0.8, 0.2], generator=gg.Generator(seed=0))
    for xb, yb in DataLoader(train, batch_size=64, shuffle=True, num_workers=2):
        ...

The bundled data sets (digits, spirals, MNIST) live in ``gpugrad.data``.
"""
from . import datapipes as datapipes
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .datapipes import DataChunk, IterDataPipe, MapDataPipe, functional_datapipe
from .distributed import DistributedSampler
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
                      random_split)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataChunk",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterDataPipe",
    "IterableDataset",
    "MapDataPipe",
    "StackDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "functional_datapipe",
    "get_worker_info",
    "random_split",
]
