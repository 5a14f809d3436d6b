"""``torch.library``'s Python custom operators: ``custom_op`` makes a function an operator named
``"namespace::name"``, callable directly and as ``gg.ops.<namespace>.<name>`` (PyTorch's
``torch.ops.<namespace>.<name>``); ``register_autograd`` gives it a backward, ``register_kernel`` a
per-device implementation, ``register_fake`` its shape function (kept: gpugrad traces nothing, so it is
never called).

Without a registered backward the operator runs its function as written, so gradients flow through the
ops inside it; with one, it is a ``gg.autograd.Function`` whose forward is the function and whose
backward is the registered one, as in PyTorch."""
from __future__ import annotations

import inspect
import types
from typing import Any, Callable, Iterable

from .autograd.function import Function
from .autograd.grad_mode import is_grad_enabled
from .tensor import Tensor

__all__ = ["CustomOpDef", "custom_op", "register_autograd", "register_fake", "register_kernel"]

_OPS: dict[str, "CustomOpDef"] = {}  # "namespace::name" -> its operator
_PENDING_FAKES: dict[str, Callable] = {}  # shape functions registered before their operator was made


class CustomOpDef:
    """An operator made by ``custom_op``: call it as the function it wraps."""

    def __init__(self, name: str, fn: Callable, mutates_args: Any) -> None:
        namespace, sep, op = name.partition("::")
        if not sep or not namespace.isidentifier() or not op.isidentifier():
            raise ValueError(f"custom_op: the name must be 'namespace::name' (identifiers), got {name!r}")
        if mutates_args != "unknown" and not isinstance(mutates_args, Iterable):
            raise TypeError("custom_op: mutates_args must be 'unknown' or an iterable of argument names")
        self._name, self._namespace, self._opname, self._fn = name, namespace, op, fn
        self._signature = inspect.signature(fn)
        self._kernels: dict[str, Callable] = {}
        self._fake: Callable | None = None
        self._backward: Callable | None = None
        self._setup_context: Callable | None = None
        self.__name__ = op
        self.__doc__ = fn.__doc__

    def _kernel(self, args: tuple) -> Callable:
        for a in args:
            if isinstance(a, Tensor):
                return self._kernels.get(a.device.type, self._fn)
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kernel = self._kernel(args)
        if self._backward is None or not is_grad_enabled() or not any(
                isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values())):
            return kernel(*args, **kwargs)
        op = self
        # Every argument in the function's order, keyword ones included, as PyTorch's setup_context sees
        # them and as backward returns their gradients.
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        names = list(bound.arguments)

        class Apply(Function):  # this operator's forward and registered backward, as one recorded op
            @staticmethod
            def forward(*inputs):
                call = inspect.BoundArguments(bound.signature, dict(zip(names, inputs)))
                return kernel(*call.args, **call.kwargs)

            @staticmethod
            def setup_context(ctx, inputs, output):
                if op._setup_context is not None:
                    op._setup_context(ctx, inputs, output)

            @staticmethod
            def backward(ctx, *grads):
                return op._backward(ctx, *grads)

        Apply.__name__ = Apply.__qualname__ = self._opname
        return Apply.apply(*bound.arguments.values())

    def register_fake(self, fn: Callable) -> Callable:
        self._fake = fn
        return fn

    def register_autograd(self, backward: Callable, *, setup_context: Callable | None = None) -> None:
        self._backward, self._setup_context = backward, setup_context

    def register_kernel(self, device_types: str | Iterable[str], fn: Callable | None = None):
        def register(f: Callable) -> Callable:
            for device in [device_types] if isinstance(device_types, str) else device_types:
                self._kernels[device] = f
            return f

        return register if fn is None else register(fn)

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._name})>"


def custom_op(name: str, fn: Callable | None = None, /, *, mutates_args: Any, device_types: Any = None,
              schema: str | None = None):
    """``fn`` as the operator ``name`` ("namespace::name"); without ``fn``, a decorator."""
    def make(f: Callable) -> CustomOpDef:
        op = CustomOpDef(name, f, mutates_args)
        if device_types is not None:
            op.register_kernel(device_types, f)
        _OPS[name] = op
        if name in _PENDING_FAKES:
            op.register_fake(_PENDING_FAKES.pop(name))
        return op

    return make if fn is None else make(fn)


def _op(op: str | CustomOpDef, what: str) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    if op not in _OPS:
        raise ValueError(f"{what}: no operator {op!r} was made with gg.library.custom_op")
    return _OPS[op]


def register_fake(op: str | CustomOpDef, fn: Callable | None = None, /, *, lib: Any = None, _stacklevel: int = 1):
    """The shape function of ``op`` (kept, never called: nothing is traced); without ``fn``, a decorator.

    A name no ``custom_op`` has made yet keeps its shape function for when one does, where PyTorch raises:
    libraries register shape functions for operators of their compiled extensions (torchvision's nms), which
    gpugrad cannot load (``ops.load_library``); calling such an operator still fails, naming it."""
    if isinstance(op, str) and op not in _OPS:
        def keep(f: Callable) -> Callable:
            _PENDING_FAKES[op] = f
            return f

        return keep if fn is None else keep(fn)
    target = _op(op, "register_fake")
    return target.register_fake if fn is None else target.register_fake(fn)


def register_autograd(op: str | CustomOpDef, backward: Callable, /, *, setup_context: Callable | None = None,
                      lib: Any = None) -> None:
    """``backward(ctx, *grads)`` for ``op``, after ``setup_context(ctx, inputs, output)`` saved what it needs."""
    _op(op, "register_autograd").register_autograd(backward, setup_context=setup_context)


def register_kernel(op: str | CustomOpDef, device_types: str | Iterable[str], fn: Callable | None = None, /, *,
                    lib: Any = None):
    """``fn`` as ``op``'s implementation on those device types ("cpu", "cuda")."""
    return _op(op, "register_kernel").register_kernel(device_types, fn)


def load_library(path) -> None:
    """``torch.ops.load_library``: a library compiled against PyTorch's C++ API registers its operators with
    PyTorch's dispatcher, which gpugrad has not, so none loads: OSError, as for a library that fails to
    load. Libraries whose compiled operators are optional (torchvision's nms, roi_align ...) go on without."""
    raise OSError(f"ops.load_library({str(path)!r}): gpugrad cannot load libraries compiled against PyTorch's "
                  "C++ API; their operators are not available")


def namespace(name: str) -> types.SimpleNamespace:
    """The operators of one namespace, by name: what ``gg.ops.<name>`` is."""
    ops = {op._opname: op for op in _OPS.values() if op._namespace == name}
    if not ops:
        raise AttributeError(f"gg.ops has no namespace {name!r} (no custom_op was made in it)")
    return types.SimpleNamespace(**ops)
