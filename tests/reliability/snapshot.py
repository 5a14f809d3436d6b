"""One snapshot helper for "a failing call changed nothing": take it before the call, compare after.

It records, recursively, every Tensor (data bits, dtype, shape, requires_grad, leaf-ness, version counter,
and its .grad), Module (parameters, buffers, their grads, training flag), Optimizer (param groups'
hyper-parameters and the identity of their parameters, per-parameter state), DataLoader (state_dict),
NumPy array, file path (its bytes) and plain container; anything else is deep-copied and compared with ==.
"""
from __future__ import annotations

import copy
import os
import pathlib

import numpy as np

import gpugrad as gg
from gpugrad import nn, optim
from gpugrad.data import DataLoader


def _array(a):
    return ("array", a.dtype.str, a.shape, np.array(a, copy=True))


def _take(obj):
    if isinstance(obj, gg.Tensor):
        return (
            "tensor",
            _array(obj._backend.to_numpy(obj._array)),
            str(obj.device),
            obj.requires_grad,
            obj.is_leaf,
            obj._version,
            None if obj.grad is None else _take(obj.grad),
        )
    if isinstance(obj, nn.Module):
        return (
            "module",
            obj.training,
            [(n, _take(p)) for n, p in obj.named_parameters()],
            [(n, _take(b)) for n, b in obj.named_buffers()],
        )
    if isinstance(obj, optim.Optimizer):
        groups = [
            ({k: copy.deepcopy(v) for k, v in g.items() if k != "params"}, [id(p) for p in g["params"]], [_take(p) for p in g["params"]])
            for g in obj.param_groups
        ]
        state = sorted(((id(p), {k: _take(v) for k, v in s.items()}) for p, s in obj.state.items()), key=lambda e: e[0])
        return ("optimizer", groups, state)
    if isinstance(obj, DataLoader):
        return ("loader", copy.deepcopy(obj.state_dict()))
    if isinstance(obj, np.ndarray):
        return _array(obj)
    if isinstance(obj, (pathlib.Path,)):
        return ("file", os.path.exists(obj), obj.read_bytes() if obj.is_file() else None)
    if isinstance(obj, dict):
        return ("dict", [(k, _take(v)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_take(v) for v in obj])
    return ("value", copy.deepcopy(obj))


def _equal(a, b, path):
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{path}: array {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        # Bitwise, so that NaN == NaN and -0.0 != 0.0.
        if a.tobytes() != b.tobytes():
            return f"{path}: values changed"
        return None
    if isinstance(a, (tuple, list)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            bad = _equal(x, y, f"{path}[{i}]")
            if bad:
                return bad
        return None
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            bad = _equal(a[k], b[k], f"{path}.{k}")
            if bad:
                return bad
        return None
    try:
        same = a == b
        same = bool(same) if not isinstance(same, np.ndarray) else bool(same.all())
    except Exception:  # noqa: BLE001 - objects whose == raises compare by repr
        same = repr(a) == repr(b)
    return None if same else f"{path}: {a!r} != {b!r}"


class Snapshot:
    """``snap = Snapshot(x, model, opt)`` ... ``snap.assert_unchanged()``."""

    def __init__(self, *objs) -> None:
        self.objs = objs
        self.before = [_take(o) for o in objs]

    def assert_unchanged(self) -> None:
        after = [_take(o) for o in self.objs]
        bad = _equal(self.before, after, "watched")
        assert bad is None, f"a failing call changed its inputs: {bad}"
