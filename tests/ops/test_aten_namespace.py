"""gg.ops.aten: aten's operators by name, with overload objects that libraries key tables on and call
on plain tensors; compared with torch.ops.aten where PyTorch is installed."""
from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg


def test_overloads_are_stable_objects_with_pytorchs_names():
    aten = gg.ops.aten
    assert aten.add.Tensor is aten.add.Tensor  # usable as dict keys
    assert aten.add is aten.add
    assert aten.add.Tensor.overloadpacket is aten.add
    assert aten.add.Tensor.name() == "aten::add.Tensor"
    assert aten.clone.default.name() == "aten::clone"
    assert repr(aten.add.Tensor) == "<OpOverload(op='aten.add', overload='Tensor')>"
    assert repr(aten.add) == "<OpOverloadPacket(op='aten.add')>"


def test_an_operator_gpugrad_lacks_is_named_when_called():
    op = gg.ops.aten._sparse_addmm.default  # looking it up succeeds: libraries register handlers at import
    with pytest.raises(NotImplementedError, match="_sparse_addmm"):
        op(gg.ones(2, 2), gg.ones(2, 2), gg.ones(2, 2))


def test_calls_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(3, 4)
    idx = np.array([0, 2])
    cases = [
        ("slice", "Tensor", lambda m, t: (t(x), 1, 1, None, 2), {}),
        ("slice", "Tensor", lambda m, t: (t(x), 0, -2), {}),
        ("index", "Tensor", lambda m, t: (t(x), [None, m.tensor(idx)]), {}),
        ("_to_copy", "default", lambda m, t: (t(x),), {"dtype": "int64"}),
        ("add", "Tensor", lambda m, t: (t(x), t(x)), {"alpha": 2}),
        ("add_", "Tensor", lambda m, t: (t(x), t(x)), {}),
        ("index_select", "default", lambda m, t: (t(x), 1, m.tensor(idx)), {}),
        ("cat", "default", lambda m, t: ([t(x), t(x)], 1), {}),
        ("alias", "default", lambda m, t: (t(x),), {}),
        ("select", "int", lambda m, t: (t(x), 1, 3), {}),
    ]
    for name, overload, args, kwargs in cases:
        outs = []
        for m in (gg, torch):
            kw = {k: getattr(m, v) if k == "dtype" else v for k, v in kwargs.items()}
            out = getattr(getattr(m.ops.aten, name), overload)(*args(m, m.tensor), **kw)
            outs.append((out.numpy(), str(out.dtype).split(".")[-1]))
        np.testing.assert_array_equal(outs[0][0], outs[1][0], err_msg=name)
        assert outs[0][1] == outs[1][1], name


def test_to_copy_copies_and_alias_views():
    x = gg.arange(4.0)
    copy = gg.ops.aten._to_copy.default(x)
    view = gg.ops.aten.alias.default(x)
    x.add_(1)
    assert copy.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert view.tolist() == [1.0, 2.0, 3.0, 4.0]
