"""The Optimizer base: parameter groups, per-parameter state, zero_grad, step, state_dict.

Subclasses describe their algorithm with four things: ``_state_spec(group)`` (the state arrays a
parameter needs and how they start), ``_scalar_spec(group)`` (per-parameter scalar state, such as
NAdam's ``mu_product``, and its starting values), ``_counts_steps`` (whether the state keeps a
``step``), and ``_apply(...)`` (one call into ``gpugrad.kernels.optim`` for a parameter, or for a run
of parameters laid out in a flat buffer). The update math itself lives in the kernels only.

Two paths share that description:

- the fused path (default): per group and (dtype, device) one flat buffer for the parameters, one for
  the gradients and one per state array; each parameter's ``.data`` is a view into the parameter
  buffer, and a step is one kernel launch over the whole buffer (see ``flat.py``);
- the reference path (``fused=False``, or ``GPUGRAD_FUSED=0``): PyTorch's per-parameter loop calling
  the kernels' reference formulas.

Sparse gradients (``nn.Embedding(sparse=True)``) are refused with PyTorch's message by every optimizer
but those whose ``_sparse_refusal`` allows them (SGD, Adagrad, SparseAdam, LBFGS). A group with a sparse
gradient takes the per-parameter path for that step, whatever ``fused`` says: the flat buffers hold
dense gradients only. Each sparse one goes to ``_sparse_update``, the dense ones to the reference path.
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy

from .. import dtypes as _dtypes
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.reduced_float import is_reduced
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from ..kernels._dispatch import fused_enabled
from ..tensor import Tensor
from . import flat as _flat

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()  # a default that a param group must supply, as torch.optim.optimizer.required


def _fused_default() -> bool:
    return fused_enabled()


def _parts(array: Any) -> Any:
    """A complex array as its (real, imag) pairs, as PyTorch's optimizers update complex parameters (through
    ``view_as_real``); a real array as is. The update writes through this view, so it must be one."""
    if array.dtype.kind != "c":
        return array
    if not array.flags.c_contiguous:
        raise ShapeError(f"optimizer step: a complex parameter, gradient or state of shape {tuple(array.shape)} is not "
                         "contiguous; make it contiguous (p.data = p.data.contiguous())")
    return array.reshape(-1).view(_flat.parts_dtype(array.dtype))


def _is_tensor_like(v: Any) -> bool:
    return isinstance(v, Tensor) or hasattr(v, "__array_interface__") or hasattr(v, "__cuda_array_interface__")


class Optimizer:
    """Base class of every optimizer: holds ``param_groups`` and ``state``, as ``torch.optim.Optimizer``.

    ``params`` is an iterable of Tensors, or of dicts (param groups) each with a ``"params"`` entry and
    any hyper-parameters that override ``defaults``::

        opt = optim.SGD([{"params": body, "lr": 0.01}, {"params": head}], lr=0.1, momentum=0.9)
        opt.zero_grad(); loss.backward(); opt.step()

    ``fused`` (default: on unless ``GPUGRAD_FUSED=0``) keeps each group's parameters, gradients and
    state in flat buffers and updates each buffer with one kernel launch; the parameters' ``.data``
    become views into those buffers, when nothing else holds their memory (optim/flat.py: take_over).
    ``fused=False`` runs PyTorch's per-parameter loop.
    """

    _counts_steps: bool = True  # the state keeps a "step" count (SGD's does not, as in PyTorch)
    _supports_capturable: bool = False  # capturable=True accepted (Adam, AdamW, RMSprop)
    _supports_complex: bool = True  # complex parameters, updated as their (real, imag) pairs (PyTorch's rule)
    _stepping: bool = False  # inside step(): hyper-parameter checks read nothing back from a device
    # Whether lr is checked: for gpugrad's optimizers and their subclasses (as each of PyTorch's checks its
    # own), not for a class derived from the base alone, whose step may mean anything by lr
    # (transformers' Adafactor passes None).
    _checks_lr: bool = False
    _sparse_hint: str = ""  # said after PyTorch's refusal of a sparse gradient (Adam names SparseAdam)
    # Whether a state tensor is sparse (SGD's momentum from sparse gradients): the flat buffers cannot
    # hold it, so every step of such an optimizer takes the per-parameter path.
    _holds_sparse_state: bool = False
    _sparse_groups: frozenset = frozenset()  # the groups with a sparse gradient at this step (_check_grads)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._checks_lr = cls._checks_lr or cls.__module__.startswith("gpugrad.optim")

    def __init__(self, params: Iterable, defaults: dict, *, fused: bool | None = None) -> None:
        self.defaults = dict(defaults)
        self._validate_hparams(self.defaults)
        self.fused = _fused_default() if fused is None else bool(fused)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        self._flat: list[_flat.FlatGroup | _flat.InPlace | None] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params argument given to the optimizer should be an iterable of "
                f"Tensors or dicts, but got a Tensor of shape {tuple(params.shape)}"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: params must be an ordered iterable (a list), not a set")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # Hooks for subclasses --------------------------------------------------------------------------
    def _validate_hparams(self, group: dict) -> None:
        """Raise ValueError naming a hyper-parameter whose value is out of range."""
        name = type(self).__name__
        lr = group.get("lr", required)
        if isinstance(lr, Tensor):
            if lr.numel() != 1:
                raise ValueError(f"{name}: Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
            if lr._array.dtype.kind not in FLOAT_KINDS:
                raise ValueError(f"{name}: Tensor lr must be floating point, got dtype {lr.dtype}")
        # A Tensor lr is checked at construction only: reading it inside step() would stop a CUDA graph.
        if self._checks_lr and lr is not required and not (self._stepping and isinstance(lr, Tensor)) and not _ge0(lr):
            raise ValueError(f"{name}: invalid learning rate lr={lr!r} (must be >= 0)")
        if group.get("differentiable"):
            raise ArgumentError(f"{name}: differentiable=True is not supported (gpugrad's optimizer step is "
                                "never recorded for autograd); use differentiable=False")
        if group.get("capturable") and not self._supports_capturable:
            raise ArgumentError(f"{name}: capturable=True is not supported (the step count and learning "
                                "rate stay on the host); use capturable=False (Adam, AdamW and RMSprop support it)")

    def _state_spec(self, group: dict) -> dict[str, float]:
        """State arrays a parameter needs under ``group``, each with its starting fill value."""
        raise NotImplementedError

    def _scalar_spec(self, group: dict) -> dict[str, float]:
        """Per-parameter scalar state (Python floats) under ``group``, each with its starting value."""
        return {}

    def _is_first(self, state: dict) -> bool:
        """Whether the kernel must treat this as the parameter's first step (SGD's momentum buffer)."""
        return False

    def _apply(
        self, xp, p, g, bufs: dict, group: dict, *, step: int, first: bool, scalars: dict, impl: str | None
    ) -> None:
        """Update ``p`` and the arrays in ``bufs`` in place with one kernel call, and the values in
        ``scalars`` (the ``_scalar_spec`` state) to those after this step."""
        raise NotImplementedError

    def _update(self, xp, p, g, bufs: dict, group: dict, **step_args) -> None:
        """``_apply``, with bfloat16 and CPU float16 arrays updated in float32 and each rounded once, as
        PyTorch's fused steps compute them (autograd/reduced_float.py; the kernels take float32 and float64)."""
        if not is_reduced(p):
            return self._apply(xp, p, g, bufs, group, **step_args)
        wide_p = p.astype(numpy.float32)
        wide = {key: b.astype(numpy.float32) for key, b in bufs.items()}
        self._apply(xp, wide_p, g.astype(numpy.float32), wide, group, **step_args)
        p[...] = wide_p
        for key, b in bufs.items():
            b[...] = wide[key]

    def _sparse_refusal(self, group: dict) -> str | None:
        """Why a sparse gradient cannot be used under ``group`` (PyTorch's message), or None where
        ``_sparse_update`` takes it."""
        return f"{type(self).__name__} does not support sparse gradients{self._sparse_hint}"

    def _sparse_update(self, p: Tensor, g: Tensor, group: dict) -> None:
        """Update ``p`` and its state in place from its sparse gradient ``g`` (or from a dense one while
        its state is sparse), as PyTorch's per-parameter loop does."""
        raise NotImplementedError(f"{type(self).__name__}: no update from sparse gradients")

    # Param groups ----------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (missing ones come from ``defaults``).

        Example: ``opt.add_param_group({"params": new_layer_params, "lr": 1e-4})``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}.add_param_group: the param group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered collections, not a set")
        else:
            params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i}, shape {tuple(p.shape)})")
            kind = p._array.dtype.kind
            # Integer and bool tensors are taken, as PyTorch takes them: they cannot require grad, so autograd
            # never gives them a gradient and every step passes them by.
            if kind not in FLOAT_KINDS and kind not in "iub" and not (kind == "c" and self._supports_complex):
                raise DTypeError(
                    f"{name}: can only optimize floating point{' and complex' if self._supports_complex else ''} "
                    f"Tensors, parameter {i} has dtype {p.dtype}"
                )
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):  # PyTorch's warning: each listing is one more update per step
            warnings.warn(f"{name}: optimizer contains a parameter group with duplicate parameters; in future, "
                          "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          UserWarning, stacklevel=3)
        for default_name, default in self.defaults.items():
            if default is required and default_name not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required optimization parameter {default_name}")
            group.setdefault(default_name, default)
        self._validate_hparams(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group["params"] = params
        self.param_groups.append(group)
        self._flat.append(_flat.take_over(params) if self.fused and not _outside_flat_buffers(params) else None)

    # zero_grad / step ------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (the default), or to zeros in place.

        With the fused path, zeros in place keep each ``.grad`` a view of the flat gradient buffer, so
        the next backward accumulates straight into it and ``step`` copies nothing.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g = p.grad = g.detach()
                    else:
                        g.requires_grad_(False)
                    if g.is_sparse:  # emptied, as PyTorch's: nnz 0, the same tensor
                        g.zero_()
                        continue
                    g._array[...] = 0
                    g._version_ref[0] += 1

    def step(self, closure: Callable | None = None):
        """One optimization step over every parameter that has a gradient; returns ``closure()``'s loss.

        Parameters whose ``.grad`` is None are skipped and their state does not advance. Gradients are
        checked (shape, dtype, device) before anything changes, so a failing step leaves parameters and
        state as they were.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            self._stepping = True
            try:
                self._check_step_inputs()
                sparse = self._sparse_groups
                for gi, group in enumerate(self.param_groups):
                    if sparse and gi in sparse or self._holds_sparse_state:
                        self._step_sparse(group)
                    elif self.fused:
                        self._step_flat(gi, group)
                    else:
                        self._step_reference(group)
            finally:
                self._stepping = False
        return loss

    def _check_step_inputs(self) -> None:
        self._check_grads()
        name = type(self).__name__
        for gi, group in enumerate(self.param_groups):
            _flat.check_state(group["params"], self.state, name, self._param_index_base(gi))
            if group.get("capturable"):
                _check_capturable_devices(name, group)

    def _check_grads(self) -> None:
        """Every group's hyper-parameters are valid and every gradient matches its parameter."""
        name = type(self).__name__
        index = 0
        sparse = None
        for gi, group in enumerate(self.param_groups):
            self._validate_hparams(group)
            for p in group["params"]:
                g = p.grad
                # One cheap test per parameter on every step; the message is built only on failure.
                if g is not None:
                    if not g.is_sparse:
                        bad = (g._array.shape != p._array.shape or g._array.dtype != p._array.dtype
                               or (g._backend is not p._backend and g.device != p.device))
                    else:
                        refusal = self._sparse_refusal(group)
                        if refusal is not None:
                            raise RuntimeError(refusal) from None
                        bad = (tuple(g.shape) != p._array.shape or g.dtype != p.dtype
                               or (g._backend is not p._backend and g.device != p.device))
                        sparse = {gi} if sparse is None else sparse | {gi}
                    if bad:
                        _raise_bad_grad(f"{name}.step: the gradient of parameter {index} (group {gi})", g, p)
                index += 1
        self._sparse_groups = frozenset() if sparse is None else frozenset(sparse)

    def _param_index_base(self, gi: int) -> int:
        return sum(len(g["params"]) for g in self.param_groups[:gi])

    def _step_reference(self, group: dict) -> None:
        spec = self._state_spec(group)
        sspec = self._scalar_spec(group)
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if not spec and not sspec and not self._counts_steps and p not in self.state:
                self._update(p._backend.xp, _parts(p._array), _parts(g._array), {}, group, step=1, first=True, scalars={},
                            impl="reference")
                p._version_ref[0] += 1
                continue
            state = self.state[p]
            capturable = self._counts_steps and bool(group.get("capturable"))
            if self._counts_steps:
                state.setdefault("step", 0)  # first, as PyTorch orders its state
            if capturable:
                st = state["step"]
                if not (isinstance(st, Tensor) and st._backend is p._backend and st._array.dtype == numpy.float32
                        and st._array.ndim == 0):
                    state["step"] = _flat.step_tensor(p._backend, st)
            for key, start in sspec.items():
                state.setdefault(key, start)
            scalars = {key: state[key] for key in sspec}
            first = self._is_first(state)
            xp = p._backend.xp
            for key, fill in spec.items():
                cur = state.get(key)
                if cur is None:
                    state[key] = Tensor._make(_flat.full(p._backend, p._array.shape, fill, p._array.dtype), p._backend)
                elif cur._array.dtype != p._array.dtype or cur.device != p.device:
                    state[key] = _flat.state_like(cur, p)
            if capturable:
                counts = state["step"]._array.reshape(1)
                counts += 1  # on the device, never read back
                step = _flat.DeviceSteps(counts, None)
            else:
                step = int(state.get("step", 0)) + 1
            self._update(
                xp, _parts(p._array), _parts(g._array), {k: _parts(state[k]._array) for k in spec}, group,
                step=step, first=first, scalars=scalars, impl="reference",
            )
            if self._counts_steps and not capturable:
                state["step"] = step
            state.update(scalars)
            p._version_ref[0] += 1

    def _step_sparse(self, group: dict) -> None:
        """A group's step parameter by parameter: sparse gradients (and any gradient meeting sparse
        state) through ``_sparse_update``, the rest through the reference path."""
        dense = []
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if g.is_sparse or self._holds_sparse_state and any(
                    isinstance(v, Tensor) and v.is_sparse for v in self.state.get(p, {}).values()):
                self._sparse_update(p, g, group)
                p._version_ref[0] += 1
            else:
                dense.append(p)
        if dense:
            self._step_reference({**group, "params": dense})

    def _step_flat(self, gi: int, group: dict) -> None:
        while len(self._flat) <= gi:
            self._flat.append(None)
        fg = self._flat[gi]
        if fg is None or not fg.matches(group["params"]):
            if _outside_flat_buffers(group["params"]):
                self._step_reference(group)
                return
            fg = self._flat[gi] = None  # let go of the old arrays before take_over asks who else holds them
            fg = self._flat[gi] = _flat.take_over(group["params"])
        fg.step(self, group)

    def __getstate__(self) -> dict:
        """What ``pickle`` and ``copy`` keep: everything but the flat buffers, which hold the parameters'
        memory and would come back apart from them. The next step builds them anew from the parameters and
        their state, as after ``load_state_dict``."""
        state = dict(self.__dict__)
        state["_flat"] = [None] * len(self.param_groups)
        return state

    def __setstate__(self, state: dict) -> None:
        """What unpickling and ``load_state_dict`` end with, as PyTorch's: the attributes set from ``state``.
        Subclasses override it to set defaults of older checkpoints (calling this first)."""
        self.__dict__.update(state)

    # state_dict ------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are numbered 0, 1, ... across the groups in order; each group lists its parameters'
        numbers under ``"params"``. State tensors are returned by reference, as PyTorch does.
        """
        mapping: dict[int, int] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # As PyTorch: a parameter listed twice in one group takes its last index there, and one that an
            # earlier group lists keeps that group's index.
            mapping.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {mapping[id(p)]: dict(s) for p, s in self.state.items() if id(p) in mapping}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a ``state_dict()`` (ours, or PyTorch's for the same algorithm) onto these parameters.

        The number of groups and each group's size must match; state arrays must match their
        parameter's shape. Floating state is cast to the parameter's dtype and device. Nothing changes
        when a check fails (ValueError). An optimizer whose ``step`` a library wrote gets PyTorch's cast
        instead (``_cast_as_pytorch``): its state may hold tensors of any shape and a tensor ``step``.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        groups = self.param_groups
        if len(saved_groups) != len(groups):
            raise ValueError(
                f"{name}.load_state_dict: loaded state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(groups)}"
            )
        id_map: dict = {}
        scalar_keys: dict = {}  # parameter id -> the names of its scalar state
        capturable_ids: set = set()  # parameters whose "step" stays a device tensor
        fused_ids: set = set()  # parameters of groups whose "fused" is set (PyTorch's layout only)
        pytorchs_layout = not _steps_in_gpugrad(type(self))
        for gi, (g, sg) in enumerate(zip(groups, saved_groups)):
            if not isinstance(sg, dict) or "params" not in sg:
                raise ValueError(f"{name}.load_state_dict: saved parameter group {gi} has no 'params' list")
            if len(sg["params"]) != len(g["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: loaded parameter group {gi} has {len(sg['params'])} parameters, "
                    f"the optimizer's group has {len(g['params'])}"
                )
            for saved_index, p in zip(sg["params"], g["params"]):
                id_map[_index_key(saved_index)] = p
        new_groups = []
        # One deep copy of all the groups, as PyTorch's: an object the saved groups share (a cache list
        # that every group took from the defaults: timm's RAdamLegacy) stays shared among the new ones.
        copies = copy.deepcopy([{k: v for k, v in sg.items() if k != "params"} for sg in saved_groups])
        for g, ng in zip(groups, copies):
            ng["params"] = g["params"]
            self._validate_hparams(ng)
            new_groups.append(ng)
            keys = frozenset(self._scalar_spec({**self.defaults, **ng}))
            scalar_keys.update((id(p), keys) for p in g["params"])
            capturable_ids.update(id(p) for p in g["params"] if ng.get("capturable"))
            fused_ids.update(id(p) for p in g["params"] if ng.get("fused"))
        new_state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            p = id_map.get(_index_key(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key!r}, which no group lists")
            if not isinstance(value, dict):
                raise ValueError(f"{name}.load_state_dict: state of parameter {key!r} must be a dict, got {type(value).__name__}")
            keys = scalar_keys[id(p)]
            cap = id(p) in capturable_ids
            if pytorchs_layout:
                new_state[p] = _cast_as_pytorch(p, value, None, fused=id(p) in fused_ids, capturable=cap)
                continue
            new_state[p] = {k: _cast_state(name, key, k, v, p, scalar=k in keys, capturable=cap)
                            for k, v in value.items()}
        self.param_groups[:] = new_groups
        # With the fused path the loaded arrays are copied into the flat buffers at the next step. Through
        # __setstate__, as PyTorch's: a subclass's override fills in group defaults or recasts its state.
        self.__setstate__({"state": new_state, "param_groups": self.param_groups})
        if any(isinstance(v, Tensor) and v.is_sparse for st in new_state.values() for v in st.values()):
            self._holds_sparse_state = True

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _ge0(v: Any) -> bool:
    try:
        return float(v) >= 0.0
    except (TypeError, ValueError):
        return False


def _index_key(k: Any) -> Any:
    # JSON round trips (other tools) can turn integer keys into strings.
    if isinstance(k, str) and k.isdigit():
        return int(k)
    if isinstance(k, numpy.integer):
        return int(k)
    return k


def _steps_in_gpugrad(cls: type) -> bool:
    """Whether the class's ``step`` is one of gpugrad's optimizers' (whose state layout gpugrad keeps: steps
    as numbers, arrays of the parameter's shape) rather than a library's own algorithm."""
    owner = next((c for c in cls.__mro__ if "step" in vars(c)), Optimizer)
    return owner.__module__.startswith("gpugrad.")


def _cast_as_pytorch(p: Tensor, value: Any, key: Any, *, fused: bool, capturable: bool) -> Any:
    """PyTorch's load_state_dict cast, for an optimizer whose step a library wrote (timm's keep 'step' in
    a tensor and factored state of other shapes): tensors go to the parameter's device, floating ones to
    its dtype when the parameter is floating; 'step' stays as it is unless the group is fused or capturable
    (then float32 on the parameter's device); dicts and other containers are cast item by item (strings
    are kept)."""
    if isinstance(value, Tensor):
        if key == "step":
            return value.to(dtype=_dtypes.float32, device=p.device) if fused or capturable else value
        return value.to(dtype=p.dtype, device=p.device) if p.is_floating_point() else value.to(device=p.device)
    if isinstance(value, dict):
        return {k: _cast_as_pytorch(p, v, k, fused=fused, capturable=capturable) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return type(value)(_cast_as_pytorch(p, v, None, fused=fused, capturable=capturable) for v in value)
    return value


def _cast_state(opt_name: str, index: Any, key: str, value: Any, p: Tensor, *, scalar: bool = False,
                capturable: bool = False) -> Any:
    # "step" and the scalar state are Python numbers here (PyTorch keeps them in 0-d tensors), but a
    # capturable group's "step", a 0-d float32 tensor on the parameter's device, as PyTorch's.
    if key == "step" and capturable:
        if _is_tensor_like(value) and not isinstance(value, Tensor):
            value = numpy.asarray(value).reshape(()).item()
        return _flat.step_tensor(p._backend, value)
    if key == "step" or scalar:
        if isinstance(value, Tensor):
            value = value.item()
        elif _is_tensor_like(value):
            value = numpy.asarray(value).reshape(()).item()
        if key != "step":
            return float(value)
        return int(value) if float(value).is_integer() else float(value)
    if value is None:
        return None
    if isinstance(value, Tensor) and value.is_sparse:  # SGD's momentum from sparse gradients: kept sparse
        if tuple(value.shape) != p._array.shape:
            raise ShapeError(f"{opt_name}.load_state_dict: state '{key}' of parameter {index} has shape "
                             f"{tuple(value.shape)} but the parameter has shape {tuple(p.shape)}")
        return value.to(device=p.device, dtype=p.dtype if value.is_floating_point() else None).clone()
    if isinstance(value, Tensor):
        array = value._backend.to_numpy(value._array)
    elif _is_tensor_like(value):
        array = numpy.asarray(value)
    else:
        return copy.deepcopy(value)
    if array.size != p._array.size:
        raise ShapeError(
            f"{opt_name}.load_state_dict: state '{key}' of parameter {index} has shape {tuple(array.shape)} "
            f"but the parameter has shape {tuple(p.shape)}"
        )
    if array.dtype.kind in FLOAT_KINDS:
        array = array.astype(p._array.dtype, copy=False)
    data = p._backend.asarray(array.reshape(p._array.shape))
    if data is array or (isinstance(value, Tensor) and data is value._array):
        data = data.copy()
    return Tensor._make(data, p._backend)


def _check_capturable_devices(name: str, group: dict) -> None:
    # PyTorch's check and exception (AssertionError), raised here before anything changes.
    for p in group["params"]:
        if p.grad is not None and p._backend.device.type != "cuda":
            raise AssertionError(
                f"{name}.step: If capturable=True, params and state_steps must be on supported devices: "
                f"['cuda'] (a parameter is on {p.device})"
            )


def _raise_bad_grad(where: str, g: Tensor, p: Tensor) -> None:
    if tuple(g.shape) != tuple(p.shape):
        raise ShapeError(f"{where} has shape {tuple(g.shape)} but the parameter has shape {tuple(p.shape)}")
    if g.dtype != p.dtype:
        raise DTypeError(f"{where} has dtype {g.dtype} but the parameter has dtype {p.dtype}")
    raise DeviceError(f"{where} is on {g.device} but the parameter is on {p.device}")


def _outside_flat_buffers(params) -> bool:
    """Groups a flat buffer cannot hold, which take the per-parameter path: parameters in shared memory
    (gg.multiprocessing, Hogwild) are updated where they are (a flat buffer would give this process a
    private copy to train); a parameter listed twice is updated twice per step, as in PyTorch's loop."""
    return len({id(p) for p in params}) != len(params) or any(p.is_shared() for p in params)
