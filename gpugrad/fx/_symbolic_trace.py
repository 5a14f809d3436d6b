"""``torch.fx._symbolic_trace``: running a module's forward on Proxies to record it as a Graph."""
from __future__ import annotations

import builtins
import functools
import inspect
import math
import types
import warnings
from collections.abc import Callable
from typing import Any

from .._C import ScriptObject  # noqa: F401  (torch.fx._symbolic_trace.ScriptObject, as tracers subclassing Tracer use it)
from ..nn.module import Module, Sequential
from ..nn.parameter import Parameter
from ..tensor import Tensor
from .graph import Graph
from .node import _SIDE_EFFECTS, Argument
from .proxy import ParameterProxy, Proxy, TracerBase, proxies_in  # noqa: F401  (Proxy: PyTorch's module name)

__all__ = ["Tracer", "is_fx_tracing", "symbolic_trace", "wrap"]

_HAS_VARSTUFF = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_original_call = Module.__call__
_original_getattr = Module.__getattr__
_tracing = False
# Functions fx.wrap named: (id of the module's globals, name) -> those globals.
_wrapped_functions: dict = {}


def is_fx_tracing() -> bool:
    """Whether a symbolic trace is running."""
    return _tracing


class _Patcher:
    """Attributes and globals swapped for the length of a trace, put back in reverse order after."""

    def __init__(self) -> None:
        self._undo: list = []
        self._visited: set = set()

    def patch(self, namespace: dict, name: str, new: Any) -> None:
        self._undo.append((namespace, name, namespace.get(name, _MISSING)))
        namespace[name] = new

    def patch_method(self, cls: type, name: str, new: Any, deduplicate: bool = True) -> None:
        self._undo.append((cls, name, cls.__dict__.get(name, _MISSING)))
        setattr(cls, name, new)

    def visit_once(self, thing: Any) -> bool:
        if id(thing) in self._visited:
            return False
        self._visited.add(id(thing))
        return True

    def __enter__(self) -> _Patcher:
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, old in reversed(self._undo):
            if isinstance(owner, dict):
                if old is _MISSING:
                    owner.pop(name, None)
                else:
                    owner[name] = old
            elif old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)
        self._undo.clear()


_MISSING = object()


def _recorded(fn: Callable) -> Callable:
    """``fn`` as a leaf of the trace: called on a Proxy it is recorded as one call_function node."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        proxies = proxies_in((args, kwargs))
        if proxies:
            out = proxies[0].tracer.create_proxy("call_function", fn, args, kwargs)
            out.node.meta["is_wrapped"] = True
            return out
        return fn(*args, **kwargs)

    return wrapped


def _autowrap(patcher: _Patcher, namespace: dict, function_ids: set) -> None:
    if patcher.visit_once(namespace):
        for name, value in list(namespace.items()):
            if not name.startswith("_") and callable(value) and id(value) in function_ids:
                patcher.patch(namespace, name, _recorded(value))


def _check_specialized(value: Any, expected: Any, message: str) -> None:
    if not (value is expected or value == expected):
        raise AssertionError(message)


_SIDE_EFFECTS.add(_check_specialized)


# PyTorch's private names for the pieces above, which Tracer subclasses that rewrite trace() call
# (PyG's symbolic_trace): the originals of Module's hooks, the autowrap pass, fx.wrap's patches, and the
# decorator marking an API's stability (changes nothing).
FunctionType = types.FunctionType
_orig_module_getattr = _original_getattr
_orig_module_call = _original_call
_autowrap_check = _autowrap


def _patch_wrapped_functions(patcher: _Patcher) -> None:
    """Record the functions ``wrap`` named (their module's global, or the builtin) for this trace."""
    for (_, name), namespace in list(_wrapped_functions.items()):
        original = namespace.get(name, getattr(builtins, name, None))
        patcher.patch(namespace, name, _recorded(original))


def compatibility(is_backward_compatible: bool) -> Callable:
    """``torch.fx._compatibility.compatibility``: a marker of API stability; returns what it decorates."""
    return lambda fn: fn


class Tracer(TracerBase):
    """Records a module's forward (or a function) as a Graph by running it on Proxies. Submodules that are
    leaves (``is_leaf_module``: gpugrad's own layers but Sequential) are recorded as call_module, parameters
    as get_attr; functions of ``autowrap_modules`` (math) and ``autowrap_functions`` are recorded when called
    on a Proxy. Subclass it and override ``is_leaf_module``, ``call_module``, ``create_arg`` or ``getattr``
    to change what is recorded."""

    def __init__(self, autowrap_modules: tuple = (math,), autowrap_functions: tuple = (),
                 param_shapes_constant: bool = False) -> None:
        self._autowrap_function_ids = {id(value) for module in autowrap_modules
                                       for name, value in module.__dict__.items()
                                       if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update(id(f) for f in autowrap_functions)
        self._autowrap_modules = list(autowrap_modules)
        self._autowrap_search = self._autowrap_modules  # PyTorch's name for the same list
        self.param_shapes_constant = param_shapes_constant
        # Keyed by the modules and tensors themselves (identity hashes), as PyTorch's: subclasses fill them.
        self.submodule_paths: dict | None = None
        self.root: Module | None = None
        self.tensor_attrs: dict = {}
        self.scope = None
        self.module_stack: dict = {}
        self.node_name_to_scope: dict = {}

    def create_arg(self, a: Any) -> Argument:
        """As ``TracerBase.create_arg``, and: the root's parameters, buffers and tensor attributes become
        get_attr nodes, other tensors constants kept on the root (``_tensor_constant0``), a named tuple the
        call that makes it."""
        if isinstance(a, Parameter):
            for name, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", name, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, Tensor):
            for name, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", name, (), {})
            qualname = self.tensor_attrs.get(a)
            if qualname is None:
                i = 0
                while hasattr(self.root, f"_tensor_constant{i}"):
                    i += 1
                qualname = f"_tensor_constant{i}"
                self.tensor_attrs[a] = qualname
                setattr(self.root, qualname, a)
            return self.create_node("get_attr", qualname, (), {})
        if isinstance(a, Module):
            for name, m in self.root.named_modules():
                if a is m:
                    return self.create_node("get_attr", name, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return self.create_node("call_function", type(a), tuple(self.create_arg(x) for x in a), {})
        return super().create_arg(a)

    def is_leaf_module(self, m: Module, module_qualified_name: str) -> bool:
        """Whether a submodule is recorded as one call_module node (gpugrad's own layers, but Sequential)
        rather than traced through."""
        return type(m).__module__.startswith(("gpugrad.nn", "torch.nn")) and not isinstance(m, Sequential)

    def path_of_module(self, mod: Module) -> str:
        """The qualified name of a submodule of the root (``"layers.0"``)."""
        if self.submodule_paths is not None:
            path = self.submodule_paths.get(mod)
            if path is None:
                raise NameError("module is not installed as a submodule")
            return path
        for name, m in self.root.named_modules():
            if m is mod:
                return name
        raise NameError("module is not installed as a submodule")

    def call_module(self, m: Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        """A submodule called during the trace: one call_module node for a leaf, else its forward traced."""
        name = self.path_of_module(m)
        if not self.is_leaf_module(m, name):
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", name, args, kwargs)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict) -> Any:
        """A module attribute read during the trace: a parameter (or, with ``proxy_buffer_attributes``, a
        buffer) answers a Proxy of its get_attr node, the rest itself."""
        collections = [(Parameter, self.root.named_parameters)]
        if self.proxy_buffer_attributes:
            collections.append((Tensor, self.root.named_buffers))
        for kind, named in collections:
            if isinstance(attr_val, kind):
                for name, value in named():
                    if value is attr_val:
                        if name not in parameter_proxy_cache:
                            factory = ((lambda node, n=name: ParameterProxy(self, node, n, attr_val))
                                       if self.param_shapes_constant else None)
                            # As PyTorch: passed only to a create_proxy that takes it (a subclass's override,
                            # torchvision's feature-extraction tracer, may not)
                            extra = ({"proxy_factory_fn": factory}
                                     if "proxy_factory_fn" in inspect.signature(self.create_proxy).parameters else {})
                            parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {}, **extra)
                        return parameter_proxy_cache[name]
        return attr_val

    def create_args_for_root(self, root_fn: Callable, is_module: bool, concrete_args: Any = None) -> tuple:
        """Placeholders for the root's arguments (``*args``/``**kwargs`` included), and the function to
        call with them."""
        fn = inspect.unwrap(root_fn)
        code = fn.__code__
        total = code.co_argcount + code.co_kwonlyargcount
        names = iter(code.co_varnames)
        args: list = []
        if is_module:
            if total == 0:
                raise RuntimeError("``self`` argument cannot be part of *args expansion!")
            next(names)
            args.append(self.root)
            total -= 1
        signature = inspect.signature(fn)
        arg_names = [next(names) for _ in range(total)]
        if isinstance(concrete_args, tuple):
            if len(arg_names) != len(concrete_args):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got {len(concrete_args)} "
                                   "concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args))
        args.extend(self._placeholder(name, concrete_args, signature) for name in arg_names)
        if code.co_kwonlyargcount > 0 or code.co_flags & _HAS_VARSTUFF:
            if code.co_flags & inspect.CO_VARARGS:
                args.append(self._placeholder("*" + next(names), concrete_args, signature))
            if code.co_flags & inspect.CO_VARKEYWORDS:
                args.append(self._placeholder("**" + next(names), concrete_args, signature))
            # the function again, taking every argument by position (its *args bound to one Proxy)
            flat = code.replace(co_argcount=len(args), co_posonlyargcount=0, co_kwonlyargcount=0,
                                co_flags=code.co_flags & ~_HAS_VARSTUFF)
            root_fn = types.FunctionType(flat, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        return root_fn, args

    def _placeholder(self, name: str, concrete_args: dict | None, signature: inspect.Signature) -> Any:
        if concrete_args is not None and name in concrete_args:
            value = concrete_args[name]
            param = signature.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
            placeholder = self.create_proxy("placeholder", f"{name}_1", default, {})
            if value is None or type(value) in (bool, int, float, str):
                self.create_proxy("call_function", _check_specialized,
                                  (placeholder, value, f"{name} has been specialized to have value {value} but got "
                                                       "another value"), {})
            else:
                warnings.warn(f"Was not able to add assertion to guarantee correct input {name} to specialized "
                              "function. It is up to the user to make sure that your inputs match the inputs you "
                              "specialized the function with.", stacklevel=3)
            return value
        default = ()
        if not name.startswith("*"):
            param = signature.parameters[name]
            if param.default is not inspect.Parameter.empty:
                default = (param.default,)
        return self.create_proxy("placeholder", name, default, {},
                                 type_expr=_annotation(signature, name))

    def trace(self, root: Module | Callable, concrete_args: dict | tuple | None = None) -> Graph:
        """Record ``root`` (a module's ``forward``, or a function) as a Graph."""
        global _tracing
        was_tracing, _tracing = _tracing, True
        try:
            if isinstance(root, Module):
                self.root = root
                fn = getattr(type(root), self.traced_func_name)
                self.submodule_paths = {m: name for name, m in root.named_modules()}
            else:
                self.root = Module()
                fn = root
            self.graph = Graph(tracer_cls=type(self))
            self.tensor_attrs = {}
            self._collect_tensor_attrs(self.root, [])
            fn_globals = fn.__globals__
            fn, args = self.create_args_for_root(fn, isinstance(root, Module), concrete_args)
            cache: dict = {}

            def module_getattr(mod: Module, attr: str) -> Any:
                return self.getattr(attr, _original_getattr(mod, attr), cache)

            def module_call(mod: Module, *args: Any, **kwargs: Any) -> Any:
                def forward(*args: Any, **kwargs: Any) -> Any:
                    return _original_call(mod, *args, **kwargs)

                _autowrap(patcher, getattr(getattr(mod, "forward", mod), "__globals__", {}),
                          self._autowrap_function_ids)
                return self.call_module(mod, forward, args, kwargs)

            with _Patcher() as patcher:
                patcher.patch_method(Module, "__getattr__", module_getattr)
                patcher.patch_method(Module, "__call__", module_call)
                _patch_wrapped_functions(patcher)
                _autowrap(patcher, fn_globals, self._autowrap_function_ids)
                for module in self._autowrap_modules:
                    _autowrap(patcher, module.__dict__, self._autowrap_function_ids)
                result = fn(*args)
                self.create_node("output", "output", (self.create_arg(result),), {},
                                 type_expr=fn.__annotations__.get("return"))
            self.submodule_paths = None
            return self.graph
        finally:
            _tracing = was_tracing

    def _collect_tensor_attrs(self, module: Module, prefix: list) -> None:
        for name, value in module.__dict__.items():
            if isinstance(value, Tensor):
                self.tensor_attrs[value] = ".".join([*prefix, name])
        for name, child in module.named_children():
            self._collect_tensor_attrs(child, [*prefix, name])


def _annotation(signature: inspect.Signature, name: str) -> Any:
    param = signature.parameters.get(name.lstrip("*"))
    if param is None or param.annotation is inspect.Parameter.empty:
        return None
    return param.annotation


def symbolic_trace(root: Module | Callable, concrete_args: dict | None = None) -> Any:
    """``root`` (a module or a function) recorded by a ``Tracer`` and compiled back as a GraphModule."""
    from .graph_module import GraphModule

    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)


def wrap(fn_or_name: str | Callable) -> str | Callable:
    """Mark a function of the calling module (by name or itself) as a leaf of every trace: called on a Proxy,
    it is recorded as one call_function node instead of being traced through. Call it at module level."""
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or string name")
    name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    frame = inspect.currentframe().f_back
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _wrapped_functions[(id(frame.f_globals), name)] = frame.f_globals
    return fn_or_name
