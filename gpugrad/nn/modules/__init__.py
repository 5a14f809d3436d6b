"""``gg.nn.modules``: PyTorch's module paths for the layers (``from torch.nn.modules.batchnorm import
_BatchNorm``, ``from torch.nn.modules.utils import _pair``), which code written against PyTorch imports.

gpugrad's layers live in the files of ``gpugrad.nn`` (normalization.py holds batch norm, losses.py the
losses ...). ``_PATHS`` names, for each of PyTorch's submodules, the gpugrad file whose public classes it
holds and the private bases code subclasses; each becomes the module ``gpugrad.nn.modules.<name>``.
"""
from __future__ import annotations

import sys
import types

from .. import (activation, adaptive, conv, distance, dropout, fold, lazy, linear, losses, module, normalization,
                padding, pixelshuffle, pooling, rnn, sparse, sync_batchnorm, transformer, upsampling)
from .. import *  # noqa: F401,F403  (torch.nn.modules holds every layer)
from ..module import Module  # noqa: F401


def _ntuple(n: int, name: str = "parse"):
    """PyTorch's helper: ``_pair(3) == (3, 3)``, ``_pair((1, 2)) == (1, 2)``."""
    def parse(x):
        if isinstance(x, (list, tuple)):
            return tuple(x)
        return tuple([x] * n)

    parse.__name__ = name
    return parse


_single, _pair = _ntuple(1, "_single"), _ntuple(2, "_pair")
_triple, _quadruple = _ntuple(3, "_triple"), _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """Each element of ``t`` in reverse order, repeated ``n`` times (F.pad's order from a conv's padding)."""
    return tuple(x for x in reversed(t) for _ in range(n))


# torch.nn.modules.<name> -> (gpugrad.nn file, private names it also holds)
_PATHS = {
    "module": (module, ("Module", "_EXTRA_STATE_KEY_SUFFIX", "IncompatibleKeys", "_IncompatibleKeys",
                        "register_module_forward_pre_hook",
                        "register_module_forward_hook")),
    "container": (module, ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")),
    "linear": (linear, ()),
    "flatten": (linear, ()),
    "conv": (conv, ("_ConvNd", "_ConvTransposeNd")),
    "activation": (activation, ()),
    "batchnorm": (normalization, ("_NormBase", "_BatchNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d")),
    "instancenorm": (normalization, ("_InstanceNorm",)),
    "normalization": (normalization, ()),
    "loss": (losses, ("_Loss", "_WeightedLoss")),
    "linear_cross_entropy_options": (losses, ()),
    "dropout": (dropout, ("_DropoutNd",)),
    "pooling": (pooling, ("_MaxPoolNd", "_AvgPoolNd", "_AdaptiveAvgPoolNd", "_AdaptiveMaxPoolNd", "_LPPoolNd",
                          "_MaxUnpoolNd")),
    "padding": (padding, ("_PadNd", "_ConstantPadNd")),
    "rnn": (rnn, ()),
    "sparse": (sparse, ()),
    "transformer": (transformer, ()),
    "pixelshuffle": (pixelshuffle, ()),
    "channelshuffle": (pixelshuffle, ()),
    "upsampling": (upsampling, ()),
    "fold": (fold, ()),
    "distance": (distance, ()),
    "adaptive": (adaptive, ()),
    "lazy": (lazy, ()),
    "_sync_batchnorm": (sync_batchnorm, ()),
}


def _alias(name: str, source: types.ModuleType, private: tuple) -> types.ModuleType:
    alias = types.ModuleType(f"{__name__}.{name}", f"torch.nn.modules.{name}: gpugrad's {source.__name__}.")
    for attr in tuple(getattr(source, "__all__", ())) + private:
        setattr(alias, attr, getattr(source, attr))
    alias.Module = Module
    return alias


# Classes PyTorch's file holds that live in another gpugrad file: torch.nn.modules.batchnorm.SyncBatchNorm
# (timm's isinstance checks name it there) and the lazy norms.
_ALSO = {
    "batchnorm": (sync_batchnorm.SyncBatchNorm, lazy.LazyBatchNorm1d, lazy.LazyBatchNorm2d, lazy.LazyBatchNorm3d),
    "instancenorm": (lazy.LazyInstanceNorm1d, lazy.LazyInstanceNorm2d, lazy.LazyInstanceNorm3d),
}

for _name, (_source, _private) in _PATHS.items():
    _module = _alias(_name, _source, _private)
    for _cls in _ALSO.get(_name, ()):
        setattr(_module, _cls.__name__, _cls)
    sys.modules[_module.__name__] = _module
    globals()[_name] = _module

utils = types.ModuleType(f"{__name__}.utils", "torch.nn.modules.utils: the tuple helpers layers use.")
for _helper in (_ntuple, _single, _pair, _triple, _quadruple, _reverse_repeat_tuple):
    setattr(utils, _helper.__name__, _helper)
sys.modules[utils.__name__] = utils
