"""F's functions that are C builtins in PyTorch (conv2d, linear, ...) stay unbound when stored as a class
attribute, as PyTorch's do (kornia's Hausdorff loss keeps ``conv = torch.conv2d`` on its class), and still
pickle by name and show their signature."""
from __future__ import annotations

import inspect
import pickle
import types

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F


def _class_attribute_calls(lib):
    class Holder:
        conv = lib.conv2d
        conv3 = lib.nn.functional.conv3d
        linear = lib.nn.functional.linear

    h, x = Holder(), lib.ones(1, 1, 3, 3)
    return [h.conv(x, weight=lib.ones(1, 1, 2, 2), padding=1).shape, h.conv3(x[None], lib.ones(2, 1, 1, 1, 1)).shape,
            h.linear(lib.ones(2, 3), lib.ones(4, 3)).shape]


@pytest.mark.torch
def test_builtins_stored_on_a_class_do_not_bind_as_in_pytorch():
    torch = pytest.importorskip("torch")
    assert [tuple(s) for s in _class_attribute_calls(gg)] == [tuple(s) for s in _class_attribute_calls(torch)]


@pytest.mark.torch
def test_the_set_is_pytorchs_builtins():
    torch = pytest.importorskip("torch")
    for name in F._C_BUILTINS:
        assert isinstance(getattr(torch.nn.functional, name), types.BuiltinFunctionType), name


def test_they_still_pickle_and_show_their_signature():
    for name in F._C_BUILTINS:
        fn = getattr(F, name)
        assert pickle.loads(pickle.dumps(fn)) is fn, name
        assert inspect.signature(fn) == inspect.signature(fn.__func__), name
    assert gg.conv2d is F.conv2d
    np.testing.assert_allclose(F.linear(gg.ones(1, 2), gg.ones(3, 2)).numpy(), np.full((1, 3), 2.0))
