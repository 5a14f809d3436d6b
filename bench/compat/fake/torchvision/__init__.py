"""Fake torchvision (synthetic stand-in, no downloads). `import torch` here resolves to gpugrad under the shim."""
from . import datasets, transforms, utils, models  # noqa
__version__ = "0.0-fake"
