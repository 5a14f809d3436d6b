"""Module, the base of every layer, and the containers Sequential, ModuleList, ModuleDict, ParameterList
and ParameterDict.

A Module keeps its parameters, buffers and submodules in three ordered dicts filled by ``__setattr__``
(as PyTorch does), so ``self.fc = nn.Linear(2, 3)`` in ``__init__`` is all it takes to register one.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from .. import backend as _backend_mod
from .. import dtypes as _dtypes
from ..amp import policy as _autocast_policy
from ..autograd.grad_mode import no_grad
from ..autograd.reduced_float import is_reduced
from ..autograd.watch import state as _watch_state
from ..overrides import has_torch_function as _has_torch_function
from ..tensor import Tensor
from ..ops import parse_to_args
from .backward_hooks import call_with_backward_hooks
from .module_state import EXTRA_STATE_KEY as _EXTRA_STATE_KEY_SUFFIX  # noqa: F401  (torch.nn.modules.module's name)
from .module_state import IncompatibleKeys, StateDictMixin
from ..utils.hooks import RemovableHandle
from ..utils.hooks import register as register_hook_in
from .parameter import Buffer, Parameter

_IncompatibleKeys = IncompatibleKeys  # torch.nn.modules.module's name of what load_state_dict returns

if TYPE_CHECKING:
    from typing_extensions import Self  # annotations only: not a runtime dependency


__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _parse_to(args, kwargs):
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` -> (backend or None, DType or None)."""
    device, dtype = parse_to_args("Module.to", args, kwargs)
    if dtype is not None and not dtype.is_floating_point:
        raise TypeError(f"Module.to: only floating point dtypes are accepted for a module, got {dtype}")
    return (_backend_mod.get(device) if device is not None else None), dtype


def _converter(backend, dtype) -> Callable[[Tensor], Tensor]:
    """What ``to``, ``float`` ... ``cuda`` apply to each tensor: moved to ``backend`` and/or cast to ``dtype``
    (floating point tensors only: integer buffers such as ``num_batches_tracked`` stay int64); the tensor
    itself where nothing changes."""
    def convert(t: Tensor) -> Tensor:
        cast = dtype if dtype is not None and t.dtype.is_floating_point else None
        if t.is_sparse:
            return t.to(backend.device if backend is not None else None, cast)
        data, src = t._array, t._backend
        if cast is not None and data.dtype != cast.np:
            data = data.astype(cast.np)
        target = backend if backend is not None else src
        if target is not src:
            data = target.asarray(src.to_numpy(data, "Module.to"))
        return t if data is t._array and target is src else Tensor._make(data, target)

    return convert


class Module:
    """Base class of all layers and models (``torch.nn.Module``).

    Subclasses assign Parameters, Modules and buffers as attributes in ``__init__`` and define
    ``forward``; calling the module runs ``forward``::

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.fc2 = nn.Linear(8, 2)

            def forward(self, x):
                return self.fc2(self.fc1(x).relu())

        model = MLP()
        [name for name, _ in model.named_parameters()]   # ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool
    # What nn.Sequential asks of the module after a Linear: the activations (nn/activation.py) give the
    # fused kernel's activation here; None for every other module, without a failed attribute lookup.
    _fused_activation = None

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # Empty and never written: a module's own dicts are made when it registers its first such hook.
    _backward_hooks: dict = {}
    _backward_pre_hooks: dict = {}
    _hooks_with_kwargs: frozenset = frozenset()  # ids of forward (pre-)hooks registered with_kwargs=True
    _hooks_always_called: frozenset = frozenset()  # ids of forward hooks registered always_call=True

    def __call__(self, *args, **kwargs):
        if _global_forward_pre_hooks or _global_forward_hooks:  # register_module_forward_hook: tools, rare
            return _call_with_global_hooks(self, args, kwargs)
        return self._call_impl(*args, **kwargs)

    def _call_impl(self, *args, **kwargs):
        """The call with this module's own hooks around its forward (PyTorch's name for it)."""
        for key, hook in tuple(self._forward_pre_hooks.items()) if self._forward_pre_hooks else ():
            if key in self._hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        try:
            if self._backward_hooks or self._backward_pre_hooks:
                out = call_with_backward_hooks(self, args, kwargs)
            else:
                out = self.forward(*args, **kwargs)
        except BaseException:
            for key, hook in tuple(self._forward_hooks.items()):
                if key in self._hooks_always_called:
                    hook(self, args, kwargs, None) if key in self._hooks_with_kwargs else hook(self, args, None)
            raise
        for key, hook in tuple(self._forward_hooks.items()) if self._forward_hooks else ():
            result = hook(self, args, kwargs, out) if key in self._hooks_with_kwargs else hook(self, args, out)
            if result is not None:
                out = result
        return out

    def _own(self, name: str, empty):
        """This module's own hook collection ``name``, made on first use (the class's is empty and shared)."""
        if name not in self.__dict__:
            object.__setattr__(self, name, empty)
        return self.__dict__[name]

    def _flag_hook(self, handle: RemovableHandle, name: str) -> None:
        object.__setattr__(self, name, frozenset(getattr(self, name)) | {handle.id})

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False):
        """Call ``hook(module, args, output)`` after every forward (``hook(module, args, kwargs, output)``
        with ``with_kwargs``); a returned value replaces the output. ``always_call``: also when forward
        raises (output None)."""
        handle = register_hook_in(self._forward_hooks, hook, prepend)
        if with_kwargs:
            self._flag_hook(handle, "_hooks_with_kwargs")
        if always_call:
            self._flag_hook(handle, "_hooks_always_called")
        return handle

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False):
        """Call ``hook(module, args)`` before every forward; a returned value replaces the arguments
        (``with_kwargs``: ``hook(module, args, kwargs)`` returning ``(args, kwargs)``)."""
        handle = register_hook_in(self._forward_pre_hooks, hook, prepend)
        if with_kwargs:
            self._flag_hook(handle, "_hooks_with_kwargs")
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to this module's
        inputs are computed; a returned tuple replaces ``grad_input`` (backward_hooks.py)."""
        return register_hook_in(self._own("_backward_hooks", OrderedDict()), hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False):
        """Call ``hook(module, grad_output)`` when the gradients with respect to this module's outputs are
        computed; a returned tuple replaces ``grad_output``."""
        return register_hook_in(self._own("_backward_pre_hooks", OrderedDict()), hook, prepend)

    def register_backward_hook(self, hook: Callable):
        """PyTorch's deprecated form, served as ``register_full_backward_hook`` (which PyTorch recommends).
        The notice is a UserWarning: PyTorch registers it without a FutureWarning (it warns in forward only
        where the two forms differ), so code that makes FutureWarnings errors registers it here too."""
        warnings.warn("register_backward_hook is deprecated: gpugrad runs it as register_full_backward_hook",
                      UserWarning, stacklevel=2)
        return self.register_full_backward_hook(hook)

    # Registration ----------------------------------------------------------------------------------
    def _check_name(self, kind: str, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f'{kind} name can\'t contain "." and can\'t be empty, got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a placeholder that state_dict skips) under ``name``."""
        self._check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'; wrap a detached tensor in nn.Parameter")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (BatchNorm's running mean); saved in state_dict
        unless ``persistent=False``."""
        self._check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, self._buffers, self._modules)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffers before Module.__init__() call")
            self._remove_from(name, d, self._parameters, self._modules)
            self.register_buffer(name, value.detach(), persistent=value.persistent)
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, self._parameters, self._buffers)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)")
            self._modules[name] = value
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, d, *dicts) -> None:
        for dct in (d, *dicts):
            if name in dct:
                del dct[name]

    def __getattr__(self, name: str):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setstate__(self, state: dict) -> None:
        """What ``copy.deepcopy`` (and ``copy.copy``) restore a module with: its attributes. Defined on the
        class, as PyTorch's, so that copying never asks ``__getattr__`` for it on a module not yet filled
        in (a subclass whose ``__getattr__`` falls back on a submodule would recurse: zuko's
        BayesianModel)."""
        self.__dict__.update(state)

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # Traversal -------------------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True) -> Iterator:
        """(qualified name, module) for this module and every descendant, each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in get(module):
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:  # shared (tied) weights are yielded once, as PyTorch does
                        continue
                    seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True) -> Iterator:
        """(qualified name, Parameter) pairs: ``('fc1.weight', Parameter)``."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True) -> Iterator:
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The descendant at a dotted path, e.g. ``model.get_submodule("encoder.0")``."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            if part not in module._modules or module._modules[part] is None:
                raise AttributeError(f"{type(module).__name__} has no submodule `{part}` (looking up '{target}')")
            module = module._modules[part]
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at a dotted path, e.g. ``model.set_submodule("encoder.0", nn.ReLU())``; the parent
        must exist, and with ``strict`` so must the module being replaced."""
        if target == "":
            raise ValueError("set_submodule: cannot set the module itself (target is empty)")
        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: `module` is not an nn.Module, found {type(module).__name__}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and name not in parent._modules:
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}` (looking up '{target}')")
        if name in parent.__dict__ or name in parent._parameters or name in parent._buffers:
            raise AttributeError(f"set_submodule: `{name}` of {type(parent).__name__} is not an nn.Module")
        setattr(parent, name, module)

    def _member(self, target: str, kind: str) -> Tensor:
        """The parameter or buffer (``kind``: "parameter" or "buffer") at a dotted path."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        store = module._parameters if kind == "parameter" else module._buffers
        if name not in store:
            raise AttributeError(f"{type(module).__name__} has no {kind} `{name}` (looking up '{target}')")
        return store[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path, e.g. ``model.get_buffer("bn.running_mean")``."""
        return self._member(target, "buffer")

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path, e.g. ``model.get_parameter("fc.weight")``."""
        return self._member(target, "parameter")

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on self; returns self.

        ``model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)``
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # Modes and gradients ---------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and below; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004 - PyTorch's exception
        object.__setattr__(self, "training", mode)
        for child in self.children():  # each child's own train(), which a subclass may override (caches)
            child.train(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: Dropout is the identity and BatchNorm uses its running statistics."""
        return self.train(False)

    def compile(self, *args, **kwargs) -> None:
        """``torch.nn.Module.compile``: this module's forward, compiled in place; with gpugrad that is the
        forward as written (see ``gpugrad.compile``), after the same argument checks."""
        from ..compiler import compile

        compile(self.forward, *args, **kwargs)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None by default (PyTorch's default), else to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = p.grad.detach()
                with no_grad():
                    p.grad.zero_()

    # Device and dtype ------------------------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        """``fn`` applied to every parameter, its gradient and every buffer: the one path of ``to``,
        ``half``, ``cpu``, ``type`` ..., and PyTorch's hook for libraries that convert a model their own
        way: a submodule whose class overrides ``_apply`` is converted by its own (gpytorch converts its
        cached inputs there), as in PyTorch.

        Everything else is converted first and committed after (once those overrides have run), so a
        failing conversion leaves it as it was. Parameters (and dense buffers) keep their identity, taking
        the result's memory, so an optimizer built before still holds them; a sparse buffer is replaced.
        """
        modules, own_apply = [self], []
        if recurse:
            pending = list(self.children())
            while pending:
                m = pending.pop(0)
                if type(m)._apply is not Module._apply:
                    own_apply.append(m)
                else:
                    modules.append(m)
                    pending[:0] = list(m.children())
        plan, seen = [], set()
        with no_grad():
            for m in modules:
                for store in (m._parameters, m._buffers):
                    for name, t in store.items():
                        if t is None or (id(t) in seen and not t.is_sparse):
                            continue
                        seen.add(id(t))
                        grad = t.grad if store is m._parameters else None
                        plan.append((store, name, t, fn(t), fn(grad) if grad is not None else None))
        for m in own_apply:
            m._apply(fn)
        for store, name, t, new, new_grad in plan:
            if t.is_sparse or new.is_sparse:
                store[name] = new
            elif new is not t:
                t._array, t._backend = new._array, new._backend
                t._version_ref[0] += 1
            if new_grad is not None and new_grad is not t.grad:
                t.grad = new_grad.detach()
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers in place: ``model.to(gg.float64)``, ``model.to("cuda")``.

        Parameters keep their identity (an optimizer built before still holds them); only floating
        point tensors change dtype, so integer buffers such as ``num_batches_tracked`` stay int64.
        """
        backend, dtype = _parse_to(args, kwargs)
        if backend is None and dtype is None:
            return self
        return self._apply(_converter(backend, dtype))


    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Give every parameter and buffer new, uninitialised memory on ``device`` (same shapes, dtypes and
        identities): how a model built on the meta device gets storage, before its own initialisation.
        Through ``_apply``, as PyTorch's, so a submodule that overrides it (to drop a cache) sees the move."""
        from ..factory import empty_like

        _backend_mod.get(device)  # an unusable device is refused before anything changes
        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)

    # float() ... cuda() convert through _apply, not to(), as PyTorch's: a subclass's to() may call them.
    def float(self) -> Module:
        return self._apply(_converter(None, _dtypes.float32))

    def double(self) -> Module:
        return self._apply(_converter(None, _dtypes.float64))

    def half(self) -> Module:
        return self._apply(_converter(None, _dtypes.float16))

    def bfloat16(self) -> Module:
        return self._apply(_converter(None, _dtypes.bfloat16))

    def type(self, dst_type) -> Module:
        """Cast every parameter and buffer, integer ones too, to ``dst_type`` (a dtype or a tensor type)."""
        return self._apply(lambda t: t.type(dst_type))

    def cpu(self) -> Module:
        return self._apply(_converter(_backend_mod.get("cpu"), None))

    def cuda(self, device=None) -> Module:
        return self._apply(_converter(_backend_mod.get("cuda" if device is None else device), None))

    def _replicate_for_data_parallel(self) -> Module:
        """PyTorch's shallow replica for DataParallel: a new object of this class sharing every plain
        attribute (caches included), with no parameters of its own (a replica's are set from the
        original's), copies of the buffer and submodule dicts, and ``_is_replica`` set."""
        replica = self.__new__(type(self))
        replica.__dict__ = self.__dict__.copy()
        replica.__dict__.update(_parameters={}, _buffers=self._buffers.copy(), _modules=self._modules.copy(),
                                _is_replica=True)
        return replica

    def share_memory(self) -> Module:
        """Move every parameter and buffer into shared memory (``Tensor.share_memory_``), so processes
        of gg.multiprocessing train one model (Hogwild)."""
        for t in list(self.parameters()) + list(self.buffers()):
            t.share_memory_()
        return self

    # Printing --------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr; layers override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(module), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


# The state-dict methods are written in module_state.py and copied onto Module rather than inherited, so that
# Module's MRO is PyTorch's, (Module, object): libraries compare MROs (botorch's input transforms do).
for _name, _member in vars(StateDictMixin).items():
    if _name not in ("__module__", "__annotations__", "__doc__", "__dict__", "__weakref__"):
        setattr(Module, _name, _member)
del _name, _member


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules held in order, indexed 0..n-1."""

    def _index(self, idx: int) -> str:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a {type(self).__name__} of {n} modules")
        return list(self._modules)[idx % n]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._index(idx), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._index(idx)]
        for k in keys:
            del self._modules[k]
        # Renumber so indices stay 0..n-1, as PyTorch does.
        items = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Self:
        self.add_module(str(len(self)), module)
        return self


class Sequential(_ModuleSequence):
    """Modules applied in order: ``nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))``.

    Also built from an OrderedDict of named modules; indexing gives a module, slicing a Sequential.
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._index(idx)]

    def forward(self, x):
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            module = modules[i]
            fused = _fusable(module, modules[i + 1]) if i + 1 < len(modules) else None
            if fused is not None and (_rounds_between(x) or _watch_state.expanded or _has_torch_function((x,))):
                # (ExpandedWeights: the layer's F.linear / F.conv2d compute per-sample gradients; a class's or a
                # mode's __torch_function__ must be handed F.linear and the activation's calls one by one)
                fused = None
            if fused is not None:
                # Linear or Conv2d then an activation: one op with the activation after its GEMM, and in
                # backward the activation derivative before the GEMMs. None: the layer does not fuse.
                y = module._forward_fused(x, *fused)
                if y is not None:
                    x = y
                    i += 2
                    continue
            x = module(x)
            i += 1
        return x


def _fusable(first: Module, second: Module):
    """(kind, param) when ``first`` can run ``second`` as its fused epilogue. Fusing must never skip code
    the user wrote or asked for: no hooks on either, no overridden ``__call__``, and the class whose
    ``forward`` runs must be the one that declares the fused path (a Linear subclass overriding
    ``forward`` runs unfused; so does an activation subclass overriding it, see ``_fused_activation``; the
    layer's ``_forward_fused`` may still decline, returning None)."""
    activation = second._fused_activation
    if activation is None or not _forward_declares(type(first), "_forward_fused"):
        return None
    if type(first).__call__ is not Module.__call__ or type(second).__call__ is not Module.__call__:
        return None
    if any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks
           for m in (first, second)) or _global_forward_pre_hooks or _global_forward_hooks:
        return None
    return activation()


def _rounds_between(x) -> bool:
    """Whether PyTorch rounds the layer's output (Linear's, Conv2d's) before the activation where the fused
    op would not: the fused op computes both in float32 and rounds once, so a bfloat16 or CPU float16
    input, or an open autocast region (which casts the layer's output), runs the two apart, each rounding
    as PyTorch's."""
    if isinstance(x, Tensor) and x.is_nested:
        x = x.values()  # a nested tensor's layers run on its packed values (gpugrad/nested)
    x = getattr(x, "_sparse_values", x)  # a sparse tensor (gpugrad/sparse) has no array of its own: its values' dtype
    return bool(_autocast_policy.open_regions[0]) or isinstance(x, Tensor) and is_reduced(x._array)


def _forward_declares(klass: type, name: str) -> bool:
    """Whether the class that defines ``klass``'s forward also defines ``name``."""
    for k in klass.__mro__:
        if "forward" in vars(k):
            return name in vars(k)
    return False


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered: ``nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])``."""

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._index(idx)]

    def __iadd__(self, modules) -> Self:
        return self.extend(modules)

    def extend(self, modules) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container and has no forward; iterate over it instead")


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, in insertion order."""

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is a container and has no forward; index it instead")


def _as_parameter(value):
    """A plain Tensor stored in a parameter container becomes a Parameter (sharing its memory), as in
    PyTorch; anything else is kept as an ordinary attribute."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _entry_repr(key: str, value) -> str:
    if not isinstance(value, Tensor):
        return f"({key}): Object of type: {type(value).__name__}"
    kind = "Parameter containing" if isinstance(value, Parameter) else "Tensor"
    size = "x".join(str(d) for d in value.shape)
    device = "" if value.device.type == "cpu" else f" ({value.device})"
    return f"({key}): {kind}: [{value.dtype} of size {size}{device}]"


class ParameterList(Module):
    """A list of parameters registered under the names "0", "1", ..., so that ``parameters()``,
    ``state_dict()``, ``to()`` and optimizers see them::

        self.weights = nn.ParameterList([nn.Parameter(gg.randn(4, 4)) for _ in range(3)])

    Tensors are wrapped in Parameter; other objects are stored as they are.
    """

    def __init__(self, values=None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _absolute(self, idx: int) -> int:
        idx = int(idx)
        if not -self._size <= idx < self._size:
            raise IndexError(f"ParameterList: index {idx} is out of range for a list of {self._size}")
        return idx % self._size

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, str(self._absolute(idx)))

    def __setitem__(self, idx: int, value) -> None:
        setattr(self, str(self._absolute(idx)), _as_parameter(value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator:
        return (self[i] for i in range(self._size))

    def __iadd__(self, values) -> Self:
        return self.extend(values)

    def append(self, value) -> Self:
        """Add ``value`` at the end (a Tensor becomes a Parameter)."""
        index = self._size
        self._size += 1
        setattr(self, str(index), _as_parameter(value))
        return self

    def extend(self, values) -> Self:
        """Append every element of an iterable."""
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(str(i), value) for i, value in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class _MissingKey(KeyError, AttributeError):
    """A key a ParameterDict lacks: KeyError as for a dict, and AttributeError as PyTorch's raises."""


class ParameterDict(Module):
    """An ordered dict of parameters registered under their keys, so that ``parameters()``,
    ``state_dict()`` (keys ``"<name>.<key>"``), ``to()`` and optimizers see them::

        self.scales = nn.ParameterDict({"left": nn.Parameter(gg.ones(3)), "right": nn.Parameter(gg.ones(3))})

    Tensors are wrapped in Parameter; other objects are stored as they are. As in PyTorch, a plain
    ``dict`` given to the constructor or ``update`` is added in sorted key order, an OrderedDict, a
    ParameterDict or a sequence of pairs in its own order.
    """

    def __init__(self, parameters=None) -> None:
        super().__init__()
        self._keys: dict = {}
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _check_key(key) -> str:
        if not isinstance(key, str):
            raise TypeError(
                f"ParameterDict: keys must be strings, got {type(key).__name__} ({key!r})"
            )
        return key

    def __getitem__(self, key: str):
        if self._check_key(key) not in self._keys:
            raise _MissingKey(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        self._check_key(key)
        value = _as_parameter(value)
        setattr(self, key, value)  # first, so that a refused name leaves the keys unchanged
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        if self._check_key(key) not in self._keys:
            raise _MissingKey(key)
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key) -> bool:
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def values(self):
        return [self[k] for k in self._keys]

    def get(self, key: str, default=None):
        return self[key] if key in self else default

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple:
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(list(self._keys)))
        return key, self.pop(key)

    def setdefault(self, key: str, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameters (not copies of them)."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def fromkeys(self, keys, default=None) -> ParameterDict:
        return ParameterDict((k, default) for k in keys)

    def update(self, parameters) -> None:
        """Add or replace entries from a mapping or an iterable of (key, value) pairs."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = list(parameters.items())
        elif hasattr(parameters, "keys") and hasattr(parameters, "items"):
            pairs = sorted(parameters.items())  # a plain mapping: PyTorch adds it in sorted key order
        elif hasattr(parameters, "__iter__") and not isinstance(parameters, (str, Tensor)):
            pairs = []
            for i, pair in enumerate(parameters):
                if not hasattr(pair, "__iter__") or isinstance(pair, (str, Tensor)):
                    raise TypeError(f"ParameterDict.update: element #{i} should be a (key, value) pair, got {type(pair).__name__}")
                pair = tuple(pair)
                if len(pair) != 2:
                    raise ValueError(f"ParameterDict.update: element #{i} has length {len(pair)}; 2 is required")
                pairs.append(pair)
        else:
            raise TypeError(
                f"ParameterDict.update should be called with an iterable of key/value pairs, but got {type(parameters).__name__}"
            )
        for key, value in pairs:
            self[key] = value

    def __or__(self, other: ParameterDict) -> ParameterDict:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other: ParameterDict) -> ParameterDict:
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other: ParameterDict) -> Self:
        self.update(other)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, self[k]) for k in self._keys)

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")


# Global forward hooks (torch.nn.modules.module's register_module_forward_pre_hook and
# register_module_forward_hook): called around every module's forward, for tools that follow a whole model
# (gpugrad.utils.module_tracker, flop_counter). They wrap the module's own: its pre-hooks run after the
# global ones, its forward hooks before (PyTorch runs the global forward hooks first).
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: set = set()
_global_forward_hooks_always_called: set = set()


def _call_with_global_hooks(module: Module, args: tuple, kwargs: dict):
    for hook in tuple(_global_forward_pre_hooks.values()):
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    try:
        out = module._call_impl(*args, **kwargs)
    except BaseException:
        for key, hook in tuple(_global_forward_hooks.items()):
            if key in _global_forward_hooks_always_called:
                hook(module, args, kwargs, None) if key in _global_forward_hooks_with_kwargs else hook(module, args, None)
        raise
    for key, hook in tuple(_global_forward_hooks.items()):
        result = hook(module, args, kwargs, out) if key in _global_forward_hooks_with_kwargs else hook(module, args, out)
        if result is not None:
            out = result
    return out


class _GlobalHookHandle(RemovableHandle):
    def remove(self) -> None:
        super().remove()
        _global_forward_hooks_with_kwargs.discard(self.id)
        _global_forward_hooks_always_called.discard(self.id)


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, args)`` before every module's forward (all modules: global state, for debugging
    and profiling tools); a returned value replaces the arguments (a non-tuple is wrapped in one)."""
    handle = _GlobalHookHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after every module's forward (``hook(module, args, kwargs,
    output)`` with ``with_kwargs``); a returned value replaces the output. ``always_call``: also when the
    forward raises (output None)."""
    handle = _GlobalHookHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = hook
    if with_kwargs:
        _global_forward_hooks_with_kwargs.add(handle.id)
    if always_call:
        _global_forward_hooks_always_called.add(handle.id)
    return handle
