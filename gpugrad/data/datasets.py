"""Data sets that need no network: the bundled 8x8 digits, synthetic spirals, and MNIST-style IDX files.

Features come back as float32, labels as int64, all as CPU tensors.

The digits file (``digits.csv.gz``, shipped with the package) is the test part of the UCI "Optical
Recognition of Handwritten Digits" data set by E. Alpaydin and C. Kaynak (1998), licensed CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/), in the copy scikit-learn ships; see DIGITS_LICENSE.txt.
"""
from __future__ import annotations

import functools
import gzip
import io
import os
from collections.abc import Sequence
from importlib import resources
from typing import ClassVar

import numpy

from .. import random as _random
from ..backend import cpu as _cpu
from ..tensor import Tensor
from .dataset import Dataset, TensorDataset


def _wrap(array: numpy.ndarray) -> Tensor:
    return Tensor._make(array, _cpu)


# Digits ------------------------------------------------------------------------------------------
DIGITS_FILE = "digits.csv.gz"


@functools.lru_cache(maxsize=1)
def _digits_raw() -> numpy.ndarray:
    """The (1797, 65) uint8 table, parsed once per process; callers copy before wrapping."""
    blob = resources.files(__package__).joinpath(DIGITS_FILE).read_bytes()
    table = numpy.loadtxt(io.BytesIO(gzip.decompress(blob)), delimiter=",", dtype=numpy.int64, ndmin=2)
    if table.shape != (1797, 65):
        raise RuntimeError(f"load_digits: the bundled {DIGITS_FILE} has shape {table.shape}, expected (1797, 65)")
    if table[:, :64].min() < 0 or table[:, :64].max() > 16 or table[:, 64].min() < 0 or table[:, 64].max() > 9:
        raise RuntimeError(f"load_digits: the bundled {DIGITS_FILE} holds values outside 0..16 or labels outside 0..9")
    table = table.astype(numpy.uint8)
    table.flags.writeable = False
    return table


def load_digits(images: bool = False) -> TensorDataset:
    """The 1,797 8x8 handwritten digits (10 classes), bundled with the package.

    Returns a ``TensorDataset`` of float32 pixels scaled from 0..16 to [0, 1], shape (1797, 64), or
    (1797, 1, 8, 8) with ``images=True`` (for a CNN), and int64 labels 0..9, shape (1797,).

        ds = load_digits(images=True)
        X, y = ds.tensors
        train, test = random_split(ds, [0.8, 0.2], generator=gg.Generator(seed=0))
    """
    table = _digits_raw()
    features = table[:, :64].astype(numpy.float32) / numpy.float32(16.0)
    if images:
        features = features.reshape(-1, 1, 8, 8)
    labels = table[:, 64].astype(numpy.int64)
    return TensorDataset(_wrap(numpy.ascontiguousarray(features)), _wrap(labels))


# Spirals -----------------------------------------------------------------------------------------
def _rng(generator: _random.Generator | int | None, where: str) -> numpy.random.Generator:
    if generator is None:
        return _random.default_generator.rng
    if isinstance(generator, _random.Generator):
        return generator.rng
    if isinstance(generator, (int, numpy.integer)) and not isinstance(generator, bool):
        return _random.Generator(seed=int(generator)).rng
    raise TypeError(f"{where}: generator must be a gg.Generator, an int seed or None, got {type(generator).__name__}")


def make_spirals(
    n_samples: int = 1000,
    noise: float = 0.1,
    turns: float = 1.5,
    generator: _random.Generator | int | None = None,
) -> TensorDataset:
    """Two interleaved spirals in the plane: 2 float32 features, int64 labels 0 and 1, in random order.

    Class k's points lie on ``r * (cos(t + k*pi), sin(t + k*pi))`` with ``t`` in ``[0, turns * 2pi]`` and
    ``r = t / (turns * 2pi)``, plus Gaussian noise of standard deviation ``noise``. Class 0 gets
    ``ceil(n/2)`` points. ``generator`` is a ``gg.Generator``, an int seed, or None for the default
    generator (then ``gg.manual_seed`` fixes the data).

        X, y = make_spirals(400, noise=0.05, generator=0).tensors
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, numpy.integer)) or n_samples < 2:
        raise ValueError(f"make_spirals: n_samples must be an int >= 2, got {n_samples!r}")
    if not noise >= 0:
        raise ValueError(f"make_spirals: noise must be >= 0, got {noise!r}")
    if not turns > 0:
        raise ValueError(f"make_spirals: turns must be > 0, got {turns!r}")
    rng = _rng(generator, "make_spirals")
    n = int(n_samples)
    labels = numpy.repeat(numpy.arange(2, dtype=numpy.int64), [n - n // 2, n // 2])
    span = turns * 2.0 * numpy.pi
    # sqrt spreads points evenly along the arc, whose length grows with t
    t = numpy.sqrt(rng.random(n)) * span
    angle = t + labels * numpy.pi
    r = t / span
    points = numpy.stack([r * numpy.cos(angle), r * numpy.sin(angle)], axis=1)
    points += noise * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return TensorDataset(_wrap(points[order].astype(numpy.float32)), _wrap(labels[order]))


# IDX files (MNIST, Fashion-MNIST) ----------------------------------------------------------------
# Type codes of the IDX format (third byte of the magic number); data are big-endian.
_IDX_DTYPES = {
    0x08: numpy.dtype(numpy.uint8),
    0x09: numpy.dtype(numpy.int8),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the name
        try:
            return gzip.decompress(blob)
        except (OSError, EOFError) as e:
            raise ValueError(f"read_idx: {path} looks gzip-compressed but cannot be decompressed ({e})") from e
    return blob


def read_idx(path: str | os.PathLike) -> numpy.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed, into a NumPy array.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), the number of dims, then each dim as a big-endian int32. The data must fill the dims
    exactly. Returns an array of that shape in native byte order.

        images = read_idx("train-images-idx3-ubyte.gz")   # uint8, (60000, 28, 28)
    """
    path = os.fspath(path)
    blob = _read_bytes(path)
    if len(blob) < 4:
        raise ValueError(f"read_idx: {path} is {len(blob)} bytes long, too short for an IDX header")
    if blob[0] != 0 or blob[1] != 0:
        raise ValueError(
            f"read_idx: {path} has magic number 0x{blob[:4].hex()}, not an IDX file (the first two bytes must be 0)"
        )
    code, ndim = blob[2], blob[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} has unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dims")
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise ValueError(f"read_idx: {path} ends inside its header ({len(blob)} bytes, the header needs {header})")
    dims = tuple(int(d) for d in numpy.frombuffer(blob, dtype=">i4", count=ndim, offset=4))
    if any(d < 0 for d in dims):
        raise ValueError(f"read_idx: {path} declares negative dims {dims}")
    dtype = _IDX_DTYPES[code]
    expected = int(numpy.prod(dims, dtype=numpy.int64)) * dtype.itemsize
    got = len(blob) - header
    if got != expected:
        raise ValueError(
            f"read_idx: {path} holds {got} bytes of data but its header declares dims {dims} of {dtype.name} "
            f"({expected} bytes)"
        )
    data = numpy.frombuffer(blob, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="), copy=True)


class MNIST(Dataset):
    """MNIST from IDX files already on disk (gpugrad never downloads; the machine may have no network).

    ``root`` holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte``, each plain or with ``.gz``; ``root/MNIST/raw`` (torchvision's layout) is
    searched too. A sample is ``(image, label)``: float32 pixels in [0, 1] of shape (1, 28, 28), or (784,)
    with ``flatten=True``, and an int64 label. ``images`` (uint8, N x 28 x 28) and ``targets`` (int64
    Tensor) hold the whole split.

        train = MNIST("~/data/mnist", train=True)
        loader = DataLoader(train, batch_size=128, shuffle=True)
    """

    files: ClassVar[dict[bool, tuple[str, str]]] = {
        True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root: str | os.PathLike, train: bool = True, flatten: bool = False) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = bool(train)
        self.flatten = bool(flatten)
        name = type(self).__name__
        image_file, label_file = self.files[self.train]
        image_path, label_path = self._find([image_file, label_file])
        images = read_idx(image_path)
        labels = read_idx(label_path)
        if images.ndim != 3 or images.dtype != numpy.uint8:
            raise ValueError(f"{name}: {image_path} should hold uint8 images of 3 dims, got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype != numpy.uint8:
            raise ValueError(f"{name}: {label_path} should hold uint8 labels of 1 dim, got {labels.dtype} {labels.shape}")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{name}: {image_path} holds {images.shape[0]} images but {label_path} holds {labels.shape[0]} labels"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(f"{name}: {label_path} holds label {int(labels.max())}, expected 0..{len(self.classes) - 1}")
        self.images = images
        self.targets = _wrap(labels.astype(numpy.int64))

    def _find(self, names: Sequence[str]) -> list[str]:
        dirs = [self.root, os.path.join(self.root, type(self).__name__, "raw")]
        found, missing = [], []
        for base in names:
            hit = next((os.path.join(d, base + ext) for d in dirs for ext in ("", ".gz")
                        if os.path.isfile(os.path.join(d, base + ext))), None)
            (found if hit else missing).append(hit or base)
        if missing:
            raise FileNotFoundError(
                f"{type(self).__name__}: missing {', '.join(m + '[.gz]' for m in missing)} in {dirs[0]} "
                f"(also looked in {dirs[1]}). gpugrad does not download data sets (this machine may have no "
                f"network): copy the IDX files there yourself."
            )
        return found

    def __len__(self) -> int:
        return self.images.shape[0]

    def _features(self, pixels: numpy.ndarray) -> numpy.ndarray:
        x = pixels.astype(numpy.float32) / numpy.float32(255.0)
        lead = pixels.shape[:-2]
        return x.reshape(*lead, -1) if self.flatten else x.reshape(*lead, 1, *pixels.shape[-2:])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, (int, numpy.integer)):
            raise TypeError(f"{type(self).__name__}: index must be an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} samples")
        return _wrap(self._features(self.images[index])), _wrap(numpy.array(self.targets._array[index]))

    def _fetch_batch(self, indices: numpy.ndarray) -> tuple[Tensor, Tensor]:
        return _wrap(self._features(self.images[indices])), _wrap(self.targets._array[indices])


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando) from IDX files on disk: same file names and layout as ``MNIST``
    (torchvision's ``root/FashionMNIST/raw`` is searched too)."""

    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt", "Sandal", "Sneaker", "Bag",
               "Ankle boot")
