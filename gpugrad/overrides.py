"""``torch.overrides``: PyTorch's ``__torch_function__`` protocol.

A public function (``gg.add``, ``F.linear``, ``Tensor.sum``, ``x + y`` ...) hands its call to
``__torch_function__`` when an argument's class defines one (a Tensor subclass, or any object such as a
linear operator) or when a ``TorchFunctionMode`` is active, as PyTorch's do. A Tensor subclass that does
not define it inherits ``Tensor.__torch_function__``, which runs the function and returns its tensors as the
subclass; ``nn.Parameter`` and gpugrad's own subclasses opt out with ``_disabled_torch_function_impl``.

What it costs: each public function is wrapped once (``overridable``) at the end of the module that makes it
public (``make_overridable``), Tensor's methods once gpugrad is imported (``route_tensor_methods``).
Until something could take a call over (``armed``: a Tensor subclass that does not opt out was
defined, an object with ``__torch_function__`` reached a function, or while a mode is entered) the wrapper
only reads that flag; the arguments are scanned only after. An object that is not a Tensor arms it on the failed
call that first meets it (gpugrad refuses to read it as data: factory.py), which is then handed over.
"""
from __future__ import annotations

import functools
import threading
import types as _types
from collections.abc import Callable, Iterable
from typing import Any, Self

from .autograd.watch import refresh as refresh_watchers
from .autograd.watch import state as _watch
from .tensor import Tensor

__all__ = ["BaseTorchFunctionMode", "TorchFunctionMode", "handle_torch_function", "has_torch_function",
           "has_torch_function_unary", "has_torch_function_variadic", "is_tensor_like", "wrap_torch_function"]


# Process-wide state, module globals (read on every public call: a module global is the cheapest read).
# ``armed`` is False until some class or mode could take a call over (see above): ``classes_met`` once a
# class that could was met (for good), or while ``modes_entered``, the count of modes entered and not left
# in all threads, is above 0. (Tensor's arithmetic operators learn of a mode from autograd/watch.py.)
armed = False
classes_met = False
modes_entered = 0


def _arm(classes: bool = False, modes: int = 0) -> None:
    global armed, classes_met, modes_entered
    classes_met = classes_met or classes
    modes_entered += modes
    armed = classes_met or modes_entered > 0


class _Switches(threading.local):
    """Per thread, as PyTorch's: whether arguments' ``__torch_function__`` are consulted (off inside
    ``DisableTorchFunctionSubclass`` and ``DisableTorchFunction``), whether modes are (off inside
    ``DisableTorchFunction``), and the stack of entered modes, innermost last."""

    subclasses = True
    modes = True

    def __init__(self) -> None:
        self.stack: list = []


switches = _Switches()


def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """The ``__torch_function__`` of a Tensor subclass that opts out (``nn.Parameter``): its instances are
    never handed a call, and what a function returns stays a plain Tensor."""
    with DisableTorchFunctionSubclass():
        return func(*args, **(kwargs or {}))


_PLAIN = frozenset((Tensor, int, float, bool, complex, str, type(None), slice, type(Ellipsis)))


# PyTorch's own tensors are another framework's arrays to gpugrad: data, read through NumPy or DLPack. Their
# handlers (PyTorch's default and its opt-out) run PyTorch's functions and cannot take gpugrad's calls.
_PYTORCH_HANDLERS = ("torch._tensor", "torch._C")


def takes_calls(kind: type) -> bool:
    """Whether objects of class ``kind`` are handed the calls they take part in: it is not a plain value
    (Tensor itself included) and defines a ``__torch_function__`` that is neither an opt-out nor PyTorch's."""
    if kind in _PLAIN:
        return False
    handler = getattr(kind, "__torch_function__", None)
    return (handler is not None and handler is not _disabled_torch_function_impl
            and getattr(handler, "__module__", None) not in _PYTORCH_HANDLERS)


def _collect(obj: Any, found: list) -> None:
    """Add ``obj`` to ``found`` when its class takes calls over (``takes_calls``), once per class,
    subclasses before their bases (PyTorch's precedence, NEP 18's)."""
    kind = type(obj)
    if not takes_calls(kind):
        return
    for i, other in enumerate(found):
        if type(other) is kind:
            return
        if issubclass(kind, type(other)):
            found.insert(i, obj)
            return
    found.append(obj)


def overloaded_args(args: Iterable, kwargs: dict | None = None) -> list:
    """The arguments whose ``__torch_function__`` a call is handed to, in order; lists and tuples among
    them are looked into (``gg.cat([a, b])``)."""
    found: list = []
    if not switches.subclasses:
        return found
    for value in (*args, *kwargs.values()) if kwargs else args:
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is list or kind is tuple:
            for item in value:
                _collect(item, found)
        else:
            _collect(value, found)
    return found


def _modes_active() -> bool:
    return switches.modes and bool(switches.stack)


def _handle(public: Callable, overloaded: list, args: tuple, kwargs: dict) -> Any:
    """Hand the call ``public(*args, **kwargs)`` to the innermost mode, then to each overloaded argument's
    ``__torch_function__``, until one answers something other than NotImplemented."""
    types = tuple(type(a) for a in overloaded)
    if _modes_active():
        with _pop_mode_temporarily() as mode:
            result = mode.__torch_function__(public, types, args, kwargs)
        if result is not NotImplemented:
            return result
    for arg in overloaded:
        result = arg.__torch_function__(public, types, args, kwargs)
        if result is not NotImplemented:
            return result
    name = f"{getattr(public, '__module__', None)}.{getattr(public, '__name__', public)}"
    message = (f"no implementation found for '{name}' on types that implement __torch_function__: "
               f"{[type(a) for a in overloaded]}")
    if _modes_active():
        message += f" nor in mode {switches.stack[-1]}"
    raise TypeError(message)


def overridable(fn: Callable, public: str | None = None, keywords: Callable | None = None) -> Callable:
    """``fn`` as a public function whose calls ``__torch_function__`` may take over. A handler is given
    the wrapper itself as the function called, or the Tensor method named ``public`` (PyTorch hands
    ``x + y`` over as ``Tensor.add``). ``keywords``, if given, edits a call's keywords before ``fn`` gets
    them (NumPy's names for ``dim``: gpugrad/ops/__init__.py)."""
    if getattr(fn, "_overridable", False):
        return fn

    @functools.wraps(fn)
    def _routed(*args, **kwargs):
        if armed:
            overloaded = overloaded_args(args, kwargs)
            if overloaded or _modes_active():
                return _handle(getattr(Tensor, public) if public else _routed, overloaded, args, kwargs)
        try:
            if not kwargs:
                return fn(*args)  # cheaper than passing an empty dict on
            if keywords is not None:
                keywords(kwargs)
            return fn(*args, **kwargs)
        except Exception:
            overloaded = overloaded_args(args, kwargs)
            if not overloaded:
                raise
        _arm(classes=True)  # an object gpugrad cannot use, with a __torch_function__: from now on, look first
        return _handle(getattr(Tensor, public) if public else _routed, overloaded, args, kwargs)

    _routed._overridable = True
    return _routed


# Which functions are routed: the public ops of torch's namespaces, by the modules they come from
# (``gg.manual_seed`` or ``gg.save`` are not ops: PyTorch hands them to no one either), and Tensor's methods.
_OP_MODULES = ("gpugrad.ops", "gpugrad.factory", "gpugrad.top_level", "gpugrad.tensor", "gpugrad.nn.functional",
               "gpugrad.nn.init", "gpugrad.linalg", "gpugrad.fft", "gpugrad.special")
_NOT_OPS = frozenset((
    "is_tensor", "calculate_gain", "typename", "seed", "set_default_tensor_type", "set_flush_denormal",
    "get_num_interop_threads", "set_num_interop_threads", "set_warn_always", "is_warn_always_enabled",
    "is_autocast_cpu_enabled", "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "get_device_module",
    "set_autocast_cpu_enabled", "set_autocast_cpu_dtype", "set_autocast_gpu_dtype",
    "check_pin_memory", "from_numpy",
))
# The private names PyTorch hands over too: ``torch._assert`` on a traced value is recorded (gpugrad.fx).
_PRIVATE_OPS = frozenset(("_assert",))
# Tensor's dunders that PyTorch hands over as a named method (``x < y`` as ``Tensor.lt``); the others as
# themselves. The arithmetic operators with short roads route themselves (``elementwise._operator``).
OPERATOR_METHODS = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub", "__isub__": "sub_", "__mul__": "mul",
    "__rmul__": "mul", "__imul__": "mul_", "__truediv__": "div", "__itruediv__": "div_", "__mod__": "remainder",
    "__pow__": "pow", "__ipow__": "pow_", "__matmul__": "matmul", "__neg__": "neg", "__pos__": "positive",
    "__abs__": "abs", "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge", "__rand__": "bitwise_and",
    "__ror__": "bitwise_or", "__rxor__": "bitwise_xor",
}
_ROUTED_DUNDERS = frozenset(("__len__", "__iter__", "__bool__", "__float__", "__int__", "__index__", "__contains__",
                             "__array__", "__getitem__", "__setitem__", "__eq__", "__ne__", "__invert__", "__and__",
                             "__or__", "__xor__", "__lshift__", "__rshift__", "__rlshift__", "__rrshift__",
                             "__floordiv__", "__rfloordiv__", "__rmod__", "__rpow__", "__rmatmul__", "__rsub__",
                             "__rtruediv__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__",
                             "__ifloordiv__", "__imod__")) | frozenset(OPERATOR_METHODS)
_NOT_ROUTED_METHODS = frozenset(("as_subclass",))
# Properties whose value is a tensor: their getters are routed too (``sub.T`` is a ``sub``, as in PyTorch).
_ROUTED_PROPERTIES = frozenset(("T", "mT", "H", "mH", "real", "imag", "data"))


def make_overridable(namespace: dict) -> None:
    """Route the public ops among a module's names: each namespace of torch's calls it on its ``globals()``
    at its end, before any other module can hold its functions. A routed function is named as found there,
    for ``pickle``; an op already routed where it came from is left as it is."""
    from ._builtin import builtin

    module_name = namespace["__name__"]
    for name, value in list(namespace.items()):
        fn = value.__func__ if isinstance(value, builtin) else value
        if (name.startswith("_") and name not in _PRIVATE_OPS or name in _NOT_OPS or not isinstance(fn, _types.FunctionType)
                or getattr(fn, "_overridable", False) or not fn.__module__.startswith(_OP_MODULES)):
            continue
        routed = overridable(fn)
        routed.__module__, routed.__qualname__ = module_name, name
        namespace[name] = builtin(routed, module_name) if isinstance(value, builtin) else routed


def route_tensor_methods() -> None:
    """Route Tensor's methods and operators (those ops/__init__.py bound are routed already) and name each
    as its method; gpugrad/__init__.py calls it once, last, when every module that adds a method has run
    (methods are looked up on each call, so none was held before)."""
    for name, value in list(vars(Tensor).items()):
        if name in _ROUTED_PROPERTIES:
            setattr(Tensor, name, property(overridable(value.fget), value.fset, value.fdel, value.__doc__))
        if not isinstance(value, _types.FunctionType) or name in _NOT_ROUTED_METHODS:
            continue
        if name.startswith("__") and name not in _ROUTED_DUNDERS or name.startswith("_") and not name.startswith("__"):
            continue
        routed = overridable(value, OPERATOR_METHODS.get(name))
        # named as the method it is (a handler reads ``func.__name__``; pickle finds ``Tensor.<name>``)
        routed.__name__, routed.__qualname__, routed.__module__ = name, f"Tensor.{name}", Tensor.__module__
        setattr(Tensor, name, routed)


def note_subclass(cls: type) -> None:
    """A Tensor subclass was defined: from now on calls are checked for it, unless it opts out."""
    if getattr(cls, "__torch_function__", None) is not _disabled_torch_function_impl:
        _arm(classes=True)


def default_torch_function(cls: type, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None):
    """``Tensor.__torch_function__``: run ``func`` with subclasses' handlers off, and return its tensors
    (also inside a tuple or list) as ``cls`` (``as_subclass``: views of the results, as PyTorch's). A
    subclass that overrides it calls ``super().__torch_function__(func, types, args, kwargs)`` to run one."""
    if not (types == (cls,) or all(issubclass(cls, t) for t in types)):
        return NotImplemented
    saved, switches.subclasses = switches.subclasses, False  # DisableTorchFunctionSubclass, without its object
    try:
        return _convert(func(*args, **(kwargs or {})), cls)
    finally:
        switches.subclasses = saved


Tensor.__torch_function__ = classmethod(default_torch_function)  # what a subclass inherits; override it to take calls over


def _convert(result: Any, cls: type) -> Any:
    if cls is Tensor:
        return result
    if isinstance(result, Tensor) and not isinstance(result, cls):
        result = result.as_subclass(cls)
    if isinstance(result, (tuple, list)):
        items = [_convert(r, cls) for r in result]
        kind = type(result)
        result = kind._make(items) if hasattr(kind, "_make") else kind(items)  # a named tuple, or not
    return result


# PyTorch's public helpers -------------------------------------------------------------------------------
def has_torch_function(relevant_args: Iterable) -> bool:
    """Whether a call with ``relevant_args`` would be handed to a mode or an argument's ``__torch_function__``."""
    if not armed:
        return False
    return _modes_active() or switches.subclasses and any(takes_calls(type(a)) for a in relevant_args)


def has_torch_function_unary(inp: Any) -> bool:
    return has_torch_function((inp,))


def has_torch_function_variadic(*args: Any) -> bool:
    return has_torch_function(args)


def handle_torch_function(public_api: Callable, relevant_args: Iterable, *args: Any, **kwargs: Any) -> Any:
    """Hand ``public_api(*args, **kwargs)`` to the active mode and to ``relevant_args``' handlers (for a
    user's own function that checked ``has_torch_function`` first); TypeError when none takes it."""
    overloaded: list = []
    if switches.subclasses:
        for a in relevant_args:
            _collect(a, overloaded)
    return _handle(public_api, overloaded, args, kwargs)


def wrap_torch_function(dispatcher: Callable) -> Callable:
    """Decorate a user's function so that its calls are handed to ``__torch_function__`` like gpugrad's own;
    ``dispatcher(*args, **kwargs)`` returns the arguments that may take the call over."""
    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)

        return wrapped

    return decorate


def is_tensor_like(inp: Any) -> bool:
    """Whether ``inp`` is a Tensor or an object that acts as one through ``__torch_function__``."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


# Modes and switches --------------------------------------------------------------------------------------
class TorchFunctionMode:
    """Sees every public call made inside ``with mode:`` through its ``__torch_function__(func, types, args,
    kwargs)``; while it handles one, it is off the stack, so what it calls runs normally."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self) -> Self:
        _push_mode(self)
        return self

    def __exit__(self, *exc) -> None:
        _pop_mode()


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every call as is: a base for modes that handle only some."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _push_mode(mode: TorchFunctionMode) -> None:
    _arm(modes=1)
    switches.stack.append(mode)
    _watch.modes = len(switches.stack)
    refresh_watchers()


def _pop_mode() -> TorchFunctionMode:
    if not switches.stack:
        raise RuntimeError("TorchFunctionMode: trying to pop from an empty mode stack")
    _arm(modes=-1)
    mode = switches.stack.pop()
    _watch.modes = len(switches.stack)
    refresh_watchers()
    return mode


class _pop_mode_temporarily:  # PyTorch's name
    """The innermost mode, off the stack for the duration of the block."""

    def __enter__(self) -> TorchFunctionMode:
        self.mode = _pop_mode()
        return self.mode

    def __exit__(self, *exc) -> None:
        _push_mode(self.mode)


def _get_current_function_mode() -> TorchFunctionMode | None:
    return switches.stack[-1] if switches.stack else None


def _get_current_function_mode_stack() -> list:
    return list(switches.stack)


def _is_torch_function_mode_enabled() -> bool:
    return _modes_active()


def _is_torch_function_enabled() -> bool:
    return switches.subclasses


class _Switched:
    """Sets the thread's switches for a block and restores them after."""

    subclasses = True
    modes = True

    def __enter__(self):
        self._saved = (switches.subclasses, switches.modes)
        switches.subclasses = self.subclasses and switches.subclasses
        switches.modes = self.modes and switches.modes
        return self

    def __exit__(self, *exc) -> None:
        switches.subclasses, switches.modes = self._saved


class DisableTorchFunctionSubclass(_Switched):
    """Inside it, no argument's ``__torch_function__`` is consulted (modes still are)."""

    subclasses = False


class DisableTorchFunction(_Switched):
    """Inside it, neither arguments' ``__torch_function__`` nor modes are consulted."""

    subclasses = False
    modes = False
