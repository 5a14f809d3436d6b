"""PyTorch's module paths for layers and helpers (gpugrad.nn.modules, gpugrad.types ...) resolve to
gpugrad's own classes."""
import importlib

import pytest

import gpugrad as gg
from gpugrad import nn


def test_torch_nn_modules_paths():
    from gpugrad.nn.modules.batchnorm import BatchNorm2d, _BatchNorm
    from gpugrad.nn.modules.container import Sequential
    from gpugrad.nn.modules.conv import Conv2d, _ConvNd
    from gpugrad.nn.modules.loss import _Loss, _WeightedLoss
    from gpugrad.nn.modules.module import Module
    from gpugrad.nn.modules.utils import _pair, _quadruple, _single, _triple

    assert BatchNorm2d is nn.BatchNorm2d and issubclass(BatchNorm2d, _BatchNorm) and Sequential is nn.Sequential
    assert issubclass(Conv2d, _ConvNd) and issubclass(nn.CrossEntropyLoss, _WeightedLoss) and issubclass(_WeightedLoss, _Loss)
    assert Module is nn.Module and nn.modules.Linear is nn.Linear
    assert _pair(3) == (3, 3) and _pair((1, 2)) == (1, 2) and _single(4) == (4,) and _triple(1) == (1, 1, 1)
    assert _quadruple(0) == (0, 0, 0, 0)

    class Scaled(_Loss):  # the idiom these paths exist for: a loss on PyTorch's base class
        def forward(self, a, b):
            return ((a - b) ** 2).mean() if self.reduction == "mean" else ((a - b) ** 2).sum()

    assert Scaled(reduction="sum")(gg.ones(2), gg.zeros(2)).item() == 2.0


def test_norm_files_hold_sync_and_lazy_norms():
    # PyTorch's batchnorm.py defines SyncBatchNorm and the lazy batch norms; code checks
    # isinstance(m, torch.nn.modules.batchnorm.SyncBatchNorm) through that path.
    from gpugrad.nn.modules import batchnorm, instancenorm

    assert batchnorm.SyncBatchNorm is nn.SyncBatchNorm and issubclass(batchnorm.SyncBatchNorm, batchnorm._BatchNorm)
    assert batchnorm.LazyBatchNorm2d is nn.LazyBatchNorm2d and instancenorm.LazyInstanceNorm1d is nn.LazyInstanceNorm1d
    assert not isinstance(nn.BatchNorm2d(3), batchnorm.SyncBatchNorm)


@pytest.mark.torch
def test_norm_files_export_pytorchs_names():
    torch = pytest.importorskip("torch")
    from gpugrad.nn.modules import batchnorm, instancenorm

    for ours, theirs in ((batchnorm, torch.nn.modules.batchnorm), (instancenorm, torch.nn.modules.instancenorm)):
        assert set(theirs.__all__) <= set(dir(ours))


def test_incompatible_keys_path_is_what_load_state_dict_returns():
    from gpugrad.nn.modules.module import IncompatibleKeys, _IncompatibleKeys

    result = nn.Linear(2, 1).load_state_dict({"weight": gg.ones(1, 2)}, strict=False)
    assert isinstance(result, _IncompatibleKeys) and isinstance(result, IncompatibleKeys)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == []
    made = _IncompatibleKeys([], [])  # what a custom _load_from_state_dict returns (opacus' RenameParamsMixin)
    assert repr(made) == "<All keys matched successfully>" and made == ([], [])


@pytest.mark.torch
def test_every_torch_nn_modules_submodule_imports():
    torch = pytest.importorskip("torch")
    import pkgutil

    missing = {"linear_cross_entropy", "linear_cross_entropy_options"}  # LinearCrossEntropyLoss: not in gpugrad
    names = [m.name for m in pkgutil.iter_modules(torch.nn.modules.__path__)
             if not m.name.startswith("_") and m.name not in missing]
    for name in names:
        importlib.import_module(f"gpugrad.nn.modules.{name}")


def test_type_alias_modules():
    from gpugrad.nn.common_types import _size_2_t
    from gpugrad.types import Device, Number, _dtype, _size

    def conv_size(kernel: _size_2_t, shape: _size, dtype: _dtype, device: Device, scale: Number) -> None:
        return None

    assert conv_size(3, (1, 2), gg.float32, "cpu", 2) is None and _dtype is type(gg.float32)
