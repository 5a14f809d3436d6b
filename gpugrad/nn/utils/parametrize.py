"""``torch.nn.utils.parametrize``: a module's parameter (or buffer) computed from other tensors by
small modules, each time it is read.

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

    layer = parametrize.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    layer.weight                                  # Symmetric()(layer.parametrizations.weight.original)
    [n for n, _ in layer.named_parameters()]     # ['bias', 'parametrizations.weight.original']

The mechanism is PyTorch's: the module's class is swapped for a subclass made for it alone,
``Parametrized<Name>``, which holds one property per parametrized tensor. Reading the property runs
the ``ParametrizationList`` kept under ``module.parametrizations[<name>]``; assigning to it runs the
list's ``right_inverse`` and stores the result in the originals. A property is the natural fit with
gpugrad's Module: attribute lookup finds it before ``Module.__getattr__`` (which serves the
parameter, buffer and submodule dicts), and ``Module.__setattr__`` hands a plain Tensor to it.
"""
from __future__ import annotations

import collections.abc
import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..module import Module, ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = [
    "cached",
    "ParametrizationList",
    "register_parametrization",
    "is_parametrized",
    "remove_parametrizations",
    "type_before_parametrizations",
    "transfer_parametrizations_and_params",
]

# Inside ``cached()``: the value of each parametrized tensor, computed once per (module, name).
_cache_enabled = 0
_cache: dict[tuple[int, str], Tensor] = {}


@contextmanager
def cached() -> Iterator[None]:
    """Within this context, each parametrized tensor is computed on its first read and that value is
    reused (useful when a forward reads a parametrized weight many times, as an RNN cell's loop does);
    the values are dropped when the outermost ``cached()`` exits."""
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _maybe_set(dest: Tensor, src: Tensor) -> None:
    """Give ``dest`` the values of ``src`` while keeping ``dest`` the same object (PyTorch's ``set_``),
    so that optimizers holding ``dest`` keep training it. Same shape and dtype: copied into dest's own
    memory (views of it, such as a fused optimizer's flat buffer, stay valid); otherwise rebound."""
    if src is dest:
        return
    with no_grad():
        if tuple(dest.shape) == tuple(src.shape) and dest.dtype == src.dtype and dest.device == src.device:
            if dest._backend.xp.may_share_memory(dest._array, src._array):
                src = src.clone()  # e.g. a right_inverse returning a transposed view of dest
            dest.copy_(src)
            return
        dest.data = src
    dest._version_ref[0] += 1


def _is_sequence_of_tensors(value) -> bool:
    return isinstance(value, collections.abc.Sequence) and not isinstance(value, (str, bytes))


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor and the tensor(s) they start from: the type of
    ``module.parametrizations[<name>]``. Not built by users; ``register_parametrization`` makes it.

    The first parametrization's ``right_inverse`` (the identity when it has none) turns the tensor
    into its originals: one tensor is kept, same object, under ``original``; a sequence becomes
    ``original0``, ``original1``, ... (new Parameters when the tensor was one). ``forward`` applies
    the parametrizations in order: ``self[0](*originals)``, then each next one to the result.
    """

    original: Tensor
    unsafe: bool

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass  # a right_inverse that declines is the identity
        if not isinstance(new, Tensor) and not _is_sequence_of_tensors(new):
            raise ValueError(
                f"'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)

        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                    f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}"
                )
            if new.device != original.device:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the device.\n"
                    f"original.device: {original.device}\nright_inverse(original).device: {new.device}"
                )
            # The original tensor object itself is kept, so an optimizer built before still trains it.
            _maybe_set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, tensor in enumerate(new):
                if not isinstance(tensor, Tensor):
                    raise ValueError(
                        "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                        f"Got element {i} of the sequence with type {type(tensor).__name__}."
                    )
                # New tensors: the caller must give them to the optimizer (PyTorch documents the same).
                if isinstance(original, Parameter):
                    tensor = Parameter(tensor, original.requires_grad)
                tensor.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", tensor)

        if not self.unsafe:
            # right_inverse maps into the originals' space and forward back: the round trip must give a
            # tensor like the one parametrized.
            Z = self()
            if not isinstance(Z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(Z).__name__}.")
            if Z.dtype != original_dtype:
                raise ValueError(
                    "Registering a parametrization may not change the dtype of the tensor, unless `unsafe` flag is "
                    f"enabled.\nunparametrized dtype: {original_dtype}\nparametrized dtype: {Z.dtype}"
                )
            if tuple(Z.shape) != original_shape:
                raise ValueError(
                    "Registering a parametrization may not change the shape of the tensor, unless `unsafe` flag is "
                    f"enabled.\nunparametrized shape: {original_shape}\nparametrized shape: {tuple(Z.shape)}"
                )

    def right_inverse(self, value: Tensor) -> None:
        """Run the parametrizations' ``right_inverse`` from last to first on ``value`` and store the
        result in the originals, in place (what ``module.<name> = value`` does)."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(
                        f"The tensor returned by `right_inverse` has dtype {value.dtype} while `original` has dtype "
                        f"{self.original.dtype}"
                    )
                _maybe_set(self.original, value)
                return
            if not _is_sequence_of_tensors(value):
                raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError(
                    f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                    f"Got a sequence of length {len(value)}."
                )
            for i, tensor in enumerate(value):
                target = getattr(self, f"original{i}")
                if not isinstance(tensor, Tensor):
                    raise ValueError(
                        f"'right_inverse' must return a sequence of tensors. Got element {i} of type "
                        f"{type(tensor).__name__}."
                    )
                if tensor.dtype != target.dtype:
                    raise ValueError(
                        f"Tensor {i} returned by `right_inverse` has dtype {tensor.dtype} while `original{i}` has "
                        f"dtype {target.dtype}"
                    )
                _maybe_set(target, tensor)

    def forward(self) -> Tensor:
        """The parametrized tensor: the parametrizations applied in registration order."""
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


def _refuse_pickle(self):
    raise RuntimeError(
        "Serialization of parametrized modules is only supported through state_dict(): save "
        "module.state_dict() with gg.save and load it into a module parametrized the same way"
    )


def _deepcopy_parametrized(self, memo: dict):
    """``copy.deepcopy`` of a parametrized module: the ordinary field-by-field copy, into a class of
    its own. PyTorch lets the copy share the original's class, so that removing a parametrization
    from one (which deletes the property from the class) breaks the other; a class per copy avoids it."""
    done = memo.get(id(self))
    if done is not None:
        return done
    cls = type(self)
    own = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    replica = object.__new__(type(cls.__name__, cls.__bases__, own))
    memo[id(self)] = replica
    replica.__dict__.update(copy.deepcopy(self.__dict__, memo))
    return replica


def _inject_new_class(module: Module) -> None:
    """Give ``module`` a class of its own, ``Parametrized<Name>``, a subclass of its class, to hold the
    properties (a property lives on a class; a class per module keeps the others unaffected)."""
    cls = module.__class__
    namespace = {"__getstate__": _refuse_pickle}
    # Parametrized modules refuse pickling (as PyTorch's), which deepcopy's default goes through.
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy_parametrized
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """Add the property ``tensor_name`` to the module's own class: reading it evaluates the
    parametrization (or takes the cached value inside ``cached()``), assigning runs right_inverse."""
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        key = (id(self), tensor_name)
        value = _cache.get(key)
        if value is None:
            value = _cache[key] = parametrization()
        return value

    def set_original(self, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` read as ``parametrization(original)`` from now on.

    The first registration on a tensor moves it to ``module.parametrizations[tensor_name].original``
    (or ``original0``, ``original1``, ... when ``parametrization.right_inverse`` returns a sequence),
    where ``parameters()``, ``state_dict()`` and optimizers see it; later ones are appended and applied
    after. Assigning ``module.<tensor_name> = X`` stores ``right_inverse(X)`` in the originals. Unless
    ``unsafe``, the parametrization must keep the tensor's shape and dtype. Returns ``module``.
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            Y = getattr(module, tensor_name)
            X = parametrization(Y)
            if not isinstance(X, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(X).__name__}.")
            if X.dtype != Y.dtype:
                raise ValueError(
                    "Registering a parametrization may not change the dtype of the tensor, unless the `unsafe` flag "
                    f"is enabled.\nmodule.{tensor_name}.dtype: {Y.dtype}\n"
                    f"parametrization(module.{tensor_name}).dtype: {X.dtype}"
                )
            if tuple(X.shape) != tuple(Y.shape):
                raise ValueError(
                    "Registering a parametrization may not change the shape of the tensor, unless the `unsafe` flag "
                    f"is enabled.\nmodule.{tensor_name}.shape: {tuple(Y.shape)}\n"
                    f"parametrization(module.{tensor_name}).shape: {tuple(X.shape)}"
                )
            if hasattr(parametrization, "right_inverse"):
                try:
                    Z = parametrization.right_inverse(X)
                except NotImplementedError:
                    Z = None  # declined: taken as the identity
                if Z is not None:
                    if not isinstance(Z, Tensor):
                        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: {type(Z).__name__}")
                    if Z.dtype != Y.dtype:
                        raise ValueError(
                            "The tensor returned by parametrization.right_inverse must have the same dtype as "
                            f"module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
                            f"module.{tensor_name}.dtype: {Y.dtype}\nreturned dtype: {Z.dtype}"
                        )
                    if tuple(Z.shape) != tuple(Y.shape):
                        raise ValueError(
                            "The tensor returned by parametrization.right_inverse must have the same shape as "
                            f"module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
                            f"module.{tensor_name}.shape: {tuple(Y.shape)}\nreturned shape: {tuple(Z.shape)}"
                        )
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe = plist.unsafe or unsafe  # once unsafe, the list stays unsafe
    elif tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"Module '{type(module).__name__}' has {tensor_name} = None, which cannot be parametrized")
        # Built before anything changes, so that a failing check leaves the module as it was.
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with name '{tensor_name}'"
        )
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module.<tensor_name>`` is parametrized (any tensor of ``module``, for None)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` on ``module.<tensor_name>``: it becomes a plain parameter (or
    buffer) again holding its current parametrized value (``leave_parametrized=True``) or the
    unparametrized ``original`` (False; only for a single original tensor). With one original, that
    tensor object is kept, so optimizers holding it carry on. Returns ``module``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            _maybe_set(original, value)
    else:
        if not leave_parametrized:
            raise ValueError(
                "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in terms of "
                "a sequence of tensors."
            )
        # Not under no_grad: whether any original requires grad decides Parameter or buffer.
        value = getattr(module, tensor_name)
        original = Parameter(value.detach()) if value.requires_grad else value
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class before any parametrization (its own class if it has none)."""
    if is_parametrized(module):
        return module.__class__.__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Register on ``to_module`` the parametrizations of ``from_module`` (all of them, or those of
    ``tensor_name``), creating the tensor on ``to_module`` when it lacks it, and make its originals
    the very tensors of ``from_module`` (shared, as in PyTorch). Returns ``to_module``."""
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        source = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        if source.is_tensor:
            target.original = source.original
        else:
            i = 0
            while hasattr(source, f"original{i}"):
                setattr(target, f"original{i}", getattr(source, f"original{i}"))
                i += 1
    return to_module
