"""What ``nn.Module`` saves and loads: ``state_dict``, ``load_state_dict`` and the steps a subclass or a
library can change, as PyTorch names them.

``state_dict`` calls each module's ``_save_to_state_dict`` (parameters, persistent buffers, and
``get_extra_state()`` under ``_extra_state`` where a class defines it), around its pre- and post-hooks,
and records each module's class ``_version`` in the dict's ``_metadata``.

``load_state_dict`` calls each module's ``_load_from_state_dict`` (the override point for renaming or
converting old keys), then its post-hooks. Nothing is copied until every module has been through it: the
base ``_load_from_state_dict`` validates each value and adds the copy to a plan that travels in
``local_metadata`` (key ``PLAN``); the plan is carried out only when the load as a whole succeeds, so a
failed load changes nothing. Post-hooks run after the copies, as in PyTorch; when a tree has any, the
values they replace are kept until the final check passes, and put back if it fails.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable
from typing import Any

import numpy

from ..autograd.grad_mode import no_grad
from ..dtypes import FLOAT_KINDS
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle
from ..utils.hooks import register as register_hook_in
from .parameter import is_lazy
from .parameter import Parameter

__all__ = ["IncompatibleKeys", "StateDictMixin"]

EXTRA_STATE_KEY = "_extra_state"
PLAN = "gpugrad_load_plan"  # local_metadata's key for the pending copies (see the module's docstring)


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the model had but the dict lacked, and the reverse."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _host(value: Any) -> numpy.ndarray | None:
    """A state-dict value as a NumPy array (None when it is not tensor-like)."""
    if isinstance(value, Tensor):
        return value._backend.to_numpy(value._array)
    try:
        return numpy.asarray(value)
    except (TypeError, ValueError):  # pragma: no cover - exotic input
        return None


class StateDictMixin:
    """The state-dict half of ``nn.Module``: gpugrad/nn/module.py copies its methods onto Module."""

    _version: int = 1  # a subclass that changes its saved layout raises it, and reads it back on load

    def _add_hook(self, name: str, entry: tuple) -> RemovableHandle:
        """``entry`` (the hook and how to call it) into this module's hooks ``name``, an ordered dict made
        on first use (``Module._own``), as the module's other hooks are kept."""
        return register_hook_in(self._own(name, OrderedDict()), entry)

    def _hook_entries(self, name: str):
        return self.__dict__[name].values() if name in self.__dict__ else ()

    # Hook registration -----------------------------------------------------------------------------
    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module."""
        return self._add_hook("_state_dict_pre_hooks", (hook,))

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after this module and its children are
        saved; it may change ``state_dict`` in place and must return None."""
        return self._add_hook("_state_dict_hooks", (hook, True))

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """PyTorch's older post-hook: as register_state_dict_post_hook, but a returned dict replaces the state."""
        return self._add_hook("_state_dict_hooks", (hook, False))

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before this module loads its entries (it may rename keys in ``state_dict``)."""
        return self._add_hook("_load_state_dict_pre_hooks", (hook, True))

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> RemovableHandle:
        """As register_load_state_dict_pre_hook, the module left out of the call unless ``with_module``."""
        return self._add_hook("_load_state_dict_pre_hooks", (hook, with_module))

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` after this module and its children are loaded; it may
        remove entries from ``incompatible_keys.missing_keys`` / ``unexpected_keys`` before the strict check."""
        return self._add_hook("_load_state_dict_post_hooks", (hook,))

    # Extra state -----------------------------------------------------------------------------------
    def get_extra_state(self) -> Any:
        """What this module saves beyond parameters and buffers: define it (with ``set_extra_state``) to
        save something under ``<prefix>_extra_state``."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called: "
                           "define get_extra_state() in the module's class to save extra state")

    def set_extra_state(self, state: Any) -> None:
        """Restore what ``get_extra_state`` returned."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called: "
                           "define set_extra_state() in the module's class to load extra state")

    def _has_extra_state(self) -> bool:
        return type(self).get_extra_state is not StateDictMixin.get_extra_state

    def _local_state(self):
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield name, b

    # Saving ----------------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """This module's own entries (not its children's) into ``destination``."""
        for name, value in self._local_state():
            destination[prefix + name] = value if keep_vars else value.detach()
        if self._has_extra_state():
            destination[prefix + EXTRA_STATE_KEY] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by qualified name, detached (sharing memory with the model)."""
        if args:  # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
            destination, prefix, keep_vars = args + (destination, prefix, keep_vars)[len(args):]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for (hook,) in self._hook_entries("_state_dict_pre_hooks"):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook, public in self._hook_entries("_state_dict_hooks"):
            result = hook(self, destination, prefix, local_metadata)
            if result is not None:
                if public:
                    raise RuntimeError("state_dict post-hook must return None")
                destination = result
        return destination

    # Loading ---------------------------------------------------------------------------------------
    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        """Load this module's own entries (``prefix + name``) from ``state_dict``: the step a subclass
        overrides to rename or convert what older versions saved, then calls ``super()``'s."""
        for hook, with_module in self._hook_entries("_load_state_dict_pre_hooks"):
            args = (state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
            hook(self, *args) if with_module else hook(*args)
        plan = local_metadata.get(PLAN)
        assign = local_metadata.get("assign_to_params_buffers", False)
        local = dict(self._local_state())
        for name, target in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if is_lazy(target) and is_lazy(value):  # two placeholders, nothing to copy (PyG's lazy Linear)
                continue
            host = _host(value)
            if host is None:
                error_msgs.append(f'While copying the parameter named "{key}", got a {type(value).__name__}, '
                                  "expected a Tensor.")
                continue
            if target.ndim == 0 and host.ndim == 1 and len(host):  # PyTorch's rule for checkpoints of old
                value, host = value[0], host[:1].reshape(())      # versions: a 1-d entry into a 0-d parameter
            if tuple(host.shape) != tuple(target.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {tuple(host.shape)} from "
                                  f"checkpoint, the shape in current model is {tuple(target.shape)}.")
                continue
            if host.dtype.kind not in FLOAT_KINDS + "iub" or (host.dtype.kind in FLOAT_KINDS and target._array.dtype.kind not in FLOAT_KINDS):
                error_msgs.append(f'While copying the parameter named "{key}", whose dtype in the model is '
                                  f"{target.dtype}, got a value of dtype {host.dtype}.")
                continue
            step = (_assign, self, name, value, target) if assign else (_copy, target, host)
            if plan is None:  # called on its own, outside load_state_dict
                step[0](*step[1:])
            else:
                plan.append(step)
        key = prefix + EXTRA_STATE_KEY
        if self._has_extra_state():
            if key in state_dict:
                if plan is None:
                    self.set_extra_state(state_dict[key])
                else:
                    plan.append((_set_extra_state, self, state_dict[key]))
            elif strict:
                missing_keys.append(key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != prefix + EXTRA_STATE_KEY:
                    head, dot, _ = key[len(prefix):].partition(".")
                    if (dot and head not in self._modules) or (not dot and head not in local):
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module (``assign=True``: take the
        dict's tensors themselves as the parameters and buffers, as on a model built on the meta device).

        With ``strict=True`` missing and unexpected keys are errors, and a shape mismatch always is one;
        all problems are listed in one RuntimeError and the model is left unchanged. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        missing, unexpected, errors, plan, post = [], [], [], [], []

        def load(module, local_state: dict, prefix: str = "") -> None:
            local_metadata = dict(metadata.get(prefix[:-1], {})) if metadata is not None else {}
            local_metadata[PLAN] = plan
            if assign:
                local_metadata["assign_to_params_buffers"] = True
            module._load_from_state_dict(local_state, prefix, local_metadata, True, missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_state.items() if k.startswith(child_prefix)}, child_prefix)
            post.extend((module, hook) for (hook,) in module._hook_entries("_load_state_dict_post_hooks"))

        load(self, state_dict)
        incompatible = IncompatibleKeys(missing, unexpected)
        undo = []
        if post and not errors:
            # Post-hooks see the loaded values (and may forgive missing keys): load first, keeping what the
            # load replaces until the strict check has passed.
            undo = [_undo_step(step) for step in plan]
            _run(plan)
            for module, hook in post:
                if hook(module, incompatible) is not None:
                    raise RuntimeError("load_state_dict post-hook must return None")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            _run(reversed(undo))
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        if not post:
            _run(plan)
        return incompatible


def _copy(target: Tensor, host: numpy.ndarray) -> None:
    with no_grad():
        target._array[...] = target._backend.asarray(host.astype(target._array.dtype, copy=False))
    target._version_ref[0] += 1


def _assign(module, name: str, value, target: Tensor) -> None:
    """``load_state_dict(assign=True)``: the module takes ``value`` itself (a parameter keeps requires_grad)."""
    if not isinstance(value, Tensor):
        value = Tensor._make(target._backend.asarray(numpy.asarray(value)), target._backend)
    if name in module._parameters:
        module._parameters[name] = Parameter(value, requires_grad=target.requires_grad)
    else:
        module._buffers[name] = value


def _set_extra_state(module, state: Any) -> None:
    module.set_extra_state(state)


def _undo_step(step: tuple) -> tuple:
    """What puts back what ``step`` (of a load plan) replaces."""
    kind = step[0]
    if kind is _copy:
        target = step[1]
        return (_copy, target, target._backend.to_numpy(target._array).copy())
    if kind is _assign:
        module, name, target = step[1], step[2], step[4]
        return (_restore, module, name, target)
    module = step[1]
    return (_set_extra_state, module, module.get_extra_state())


def _restore(module, name: str, old: Tensor) -> None:
    if name in module._parameters:
        module._parameters[name] = old
    else:
        module._buffers[name] = old


def _run(steps) -> None:
    for step in steps:
        step[0](*step[1:])
