"""The general data sets live in ``gpugrad.utils.data`` and are re-exported here under their old path;
``train_test_split`` (scikit-learn's helper on tensors) is gpugrad's own and stays here."""
from __future__ import annotations

import math

import numpy

from .. import random as _random
from ..tensor import Tensor
from ..utils.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "Subset", "TensorDataset", "random_split", "train_test_split"]


def train_test_split(
    *tensors: Tensor,
    test_size: float | int = 0.25,
    shuffle: bool = True,
    generator: _random.Generator | None = None,
) -> list[Tensor]:
    """Split tensors along their first dim into train and test parts, as scikit-learn's helper does.

    ``test_size`` is a fraction (the test part gets ``ceil(test_size * n)`` rows) or a row count. Returns
    ``[a_train, a_test, b_train, b_test, ...]``; the same rows go to the same side for every tensor.

        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, generator=gg.Generator(seed=0))
    """
    if not tensors:
        raise ValueError("train_test_split: expected at least one tensor")
    ds = TensorDataset(*tensors)  # checks types and that first dims match
    n = len(ds)
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: test_size={test_size} must be in (0, 1) as a fraction")
        n_test = math.ceil(test_size * n)
    else:
        n_test = int(test_size)
        if n_test != test_size or not 0 < n_test < n:
            raise ValueError(f"train_test_split: test_size={test_size} must be a count in (0, {n}) rows")
    if n_test >= n:
        raise ValueError(f"train_test_split: test_size={test_size} leaves no training rows out of {n}")
    if shuffle:
        rng = (generator if generator is not None else _random.default_generator).rng
        order = rng.permutation(n)
    else:
        order = numpy.arange(n)
    train_part = ds._fetch_batch(order[: n - n_test])
    test_part = ds._fetch_batch(order[n - n_test :])
    return [part for pair in zip(train_part, test_part) for part in pair]
