"""``torch.nn.utils.prune``: pruning a module's tensor by a mask, reapplied before every forward.

Pruning ``module.<name>`` reparameterises it as PyTorch does: the Parameter moves to ``<name>_orig``, the
mask (same dtype as the parameter, 1 keeps, 0 prunes) is the buffer ``<name>_mask``, and ``module.<name>``
becomes a plain attribute, ``<name>_orig * <name>_mask``, set at prune time and recomputed by a forward
pre-hook (the pruning method itself) before each forward. Gradients reach ``<name>_orig`` through the
mask; ``state_dict`` holds ``<name>_orig`` and ``<name>_mask``. Pruning the same tensor again combines the
methods in a ``PruningContainer``, the new mask computed only on what is not yet pruned; ``remove``
makes ``<name>`` a Parameter again holding the pruned values::

    from gpugrad.nn.utils import prune
    layer = prune.l1_unstructured(nn.Linear(4, 3), "weight", amount=0.5)   # 6 smallest |w| pruned
    prune.ln_structured(layer, "weight", amount=1, n=2, dim=0)            # then one more row
    prune.remove(layer, "weight")

Ties in the L1 and Ln rankings are broken as PyTorch's CPU ``topk`` breaks them: its selection is
libstdc++'s ``nth_element`` (or, for k * 64 <= n, a k-element heap), replayed here on the ranks of
the values when, and only when, equal values straddle the cut (otherwise the chosen set is unique).
The random methods draw from gpugrad's generator (``gg.manual_seed``), so they are reproducible but
do not pick what PyTorch's generator would.
"""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy

from ... import factory
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

__all__ = [
    "BasePruningMethod",
    "PruningContainer",
    "Identity",
    "RandomUnstructured",
    "L1Unstructured",
    "RandomStructured",
    "LnStructured",
    "CustomFromMask",
    "identity",
    "random_unstructured",
    "l1_unstructured",
    "random_structured",
    "ln_structured",
    "global_unstructured",
    "custom_from_mask",
    "remove",
    "is_pruned",
]


class BasePruningMethod(ABC):
    """Base of the pruning methods. A subclass defines ``PRUNING_TYPE`` (``"unstructured"``,
    ``"structured"`` (with a ``dim`` attribute) or ``"global"``) and ``compute_mask``; the instance,
    attached to a module by ``apply``, is the forward pre-hook that recomputes the pruned tensor."""

    PRUNING_TYPE: str  # what part of the tensor an iterative pruning step ranks (see PruningContainer)
    _tensor_name: str

    def __call__(self, module, inputs) -> None:
        """The forward pre-hook: ``module.<name> = <name>_mask * <name>_orig``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for ``t`` (importance scores), starting from ``default_mask`` (the mask of earlier
        prunings, ones if none), whose zeros the new mask must keep. Same shape as ``t``."""

    def apply_mask(self, module) -> Tensor:
        """``<name>_mask`` (cast to the parameter's dtype) times ``<name>_orig``: the pruned tensor."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores: Tensor | None = None, **kwargs) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, on top of any earlier pruning of it (then
        the method returned is the ``PruningContainer`` holding both). ``importance_scores`` (same shape
        as the parameter) rank its entries instead of the parameter itself."""
        method, old_method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(
                    f"importance_scores should have the same shape as parameter {name} of {module}, "
                    f"got {importance_scores.shape} vs {orig.shape}"
                )
        else:
            importance_scores = orig
        first_time = not isinstance(method, PruningContainer)
        if first_time:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = factory.ones_like(orig)
        else:
            old_mask = module._buffers[name + "_mask"]
            default_mask = old_mask.detach().clone()
        try:
            with no_grad():
                mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:  # roll back to the module as it was
            if first_time:
                orig = getattr(module, name + "_orig")
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
                module._buffers.pop(name + "_mask", None)
            else:  # PyTorch drops the old hook here, leaving the tensor pruned but never recomputed
                if method is old_method:
                    old_method._pruning_methods = old_method._pruning_methods[:-1]
                module._buffers[name + "_mask"] = old_mask
                module.register_forward_pre_hook(old_method)
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None, importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask ``compute_mask`` gives for it (ranked by ``importance_scores`` if given)."""
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError(
                    f"importance_scores should have the same shape as tensor t, got {importance_scores.shape} vs {t.shape}"
                )
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else factory.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a Parameter again (the ``<name>_orig`` object,
        now holding the pruned values); ``<name>_orig`` and ``<name>_mask`` are deleted. The hook itself
        is taken off by the module-level ``remove``."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


def _composite_method(cls, module, name: str, *args, **kwargs) -> tuple:
    """``cls(*args, **kwargs)`` for ``module.<name>``, combined in a PruningContainer with the method
    that pruned it before, if any, whose forward pre-hook is taken off; and that earlier method."""
    old_method = None
    keys = []
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            old_method = hook
            keys.append(key)
    if len(keys) > 1:
        raise AssertionError(
            f"Avoid adding multiple pruning hooks to the same tensor {name} of module {module}. Use a PruningContainer."
        )
    method = cls(*args, **kwargs)  # before the old hook comes off: a refused amount changes nothing
    method._tensor_name = name
    for key in keys:
        del module._forward_pre_hooks[key]
    if old_method is not None:
        if isinstance(old_method, PruningContainer):
            old_method.add_pruning_method(method)
            method = old_method
        else:
            container = PruningContainer(old_method)
            container.add_pruning_method(method)
            method = container
    return method, old_method


class PruningContainer(BasePruningMethod):
    """The pruning methods applied one after another to one tensor (iterative pruning). Its mask is the
    mask so far, refined by the latest method computed on what is not pruned yet: the unpruned entries
    (unstructured), the channels not wholly pruned (structured) or everything (global)."""

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            if args:  # PyTorch has no name yet here and fails on the first add; take the first method's
                self._tensor_name = getattr(args[0], "_tensor_name", None)
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``, which must act on this container's tensor."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(
                "Can only add pruning methods acting on "
                f"the parameter named '{self._tensor_name}' to PruningContainer {self}."
                + f" Found '{method._tensor_name}'"
            )
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the latest method's mask, computed on the part of ``t`` its
        ``PRUNING_TYPE`` selects, written into that part."""
        method = self._pruning_methods[-1]
        new_mask = default_mask.to(dtype=t.dtype)  # the same tensor when the dtype agrees, as PyTorch's
        if method.PRUNING_TYPE == "unstructured":
            slc = default_mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute `dim` defined.')
            n_dims = t.dim()
            dim = method.dim
            if dim < 0:
                dim = n_dims + dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            others = tuple(d for d in range(n_dims) if d != dim)
            keep_channel = default_mask.sum(dim=others) != 0
            slc = (slice(None),) * dim + (keep_channel,)
        elif method.PRUNING_TYPE == "global":
            slc = (slice(None),) * len(t.shape)
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
        partial_mask = method.compute_mask(t[slc], default_mask=default_mask[slc])
        new_mask[slc] = partial_mask.to(dtype=new_mask.dtype)
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing: the reparameterisation with a mask of ones."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module, name: str) -> BasePruningMethod:  # type: ignore[override]
        """Reparameterise ``module.<name>`` with a mask of ones."""
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` (a count if int, a fraction if float) of the unpruned entries, at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        tensor_size = t.nelement()
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        mask = default_mask.clone()
        if nparams_toprune != 0:
            prob = factory.rand_like(t)
            mask.view(-1)[_topk_indices(prob.view(-1), nparams_toprune, largest=True)] = 0
        return mask

    @classmethod
    def apply(cls, module, name: str, amount: int | float) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes ``amount`` (a count if int, a fraction if float) of the unpruned entries, those of smallest
    absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        tensor_size = t.nelement()
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        mask = default_mask.clone()
        if nparams_toprune != 0:
            mask.view(-1)[_topk_indices(t.abs().view(-1), nparams_toprune, largest=False)] = 0
        return mask

    @classmethod
    def apply(cls, module, name: str, amount: int | float,  # type: ignore[override]
              importance_scores: Tensor | None = None) -> BasePruningMethod:
        """Prune the ``amount`` entries of ``module.<name>`` (or of ``importance_scores``) of smallest |value|."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` (a count if int, a fraction if float) of the channels along ``dim``, at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        tensor_size = t.shape[self.dim]
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        if nparams_toprune == 0:
            return default_mask
        from ...ops.indexing import kthvalue

        prob = factory.rand(tensor_size, device=t.device)
        threshold = kthvalue(prob, k=nparams_toprune).values
        channel_mask = prob > threshold
        mask = factory.zeros_like(t)
        mask[(slice(None),) * (self.dim % t.dim()) + (channel_mask,)] = 1
        mask *= default_mask.to(dtype=mask.dtype)
        return mask

    @classmethod
    def apply(cls, module, name: str, amount: int | float, dim: int = -1) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes ``amount`` (a count if int, a fraction if float) of the channels along ``dim``, those of
    smallest L``n`` norm (``n`` as ``p`` of ``gg.norm``: a number, inf, -inf, 'fro' or 'nuc')."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, n, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        tensor_size = t.shape[self.dim]
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        nparams_tokeep = tensor_size - nparams_toprune
        _validate_pruning_amount(nparams_toprune, tensor_size)
        norm = _compute_norm(t, self.n, self.dim)
        keep = _topk_indices(norm, nparams_tokeep, largest=True)
        if nparams_toprune == 0:
            return default_mask
        mask = factory.zeros_like(t)
        mask[(slice(None),) * (self.dim % t.dim()) + (keep,)] = 1
        mask *= default_mask.to(dtype=mask.dtype)
        return mask

    @classmethod
    def apply(cls, module, name: str, amount: int | float, n, dim: int,  # type: ignore[override]
              importance_scores: Tensor | None = None) -> BasePruningMethod:
        """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest L``n`` norm."""
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes by a given mask (multiplied into the mask so far)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name: str, mask: Tensor) -> BasePruningMethod:  # type: ignore[override]
        """Prune ``module.<name>`` by ``mask``."""
        return super().apply(module, name, mask=mask)


# The functional forms --------------------------------------------------------------------------------
def identity(module, name: str):
    """Reparameterise ``module.<name>`` as pruned, with a mask of ones. Returns the module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name: str, amount: int | float):
    """Prune ``amount`` (count if int, fraction if float) of ``module.<name>``'s unpruned entries at random
    (gpugrad's generator). Returns the module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name: str, amount: int | float, importance_scores: Tensor | None = None):
    """Prune ``amount`` (count if int, fraction if float) of ``module.<name>``'s unpruned entries, those of
    smallest |value| (of ``importance_scores`` when given). Returns the module."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name: str, amount: int | float, dim: int):
    """Prune ``amount`` (count if int, fraction if float) of ``module.<name>``'s channels along ``dim`` at
    random. Returns the module."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name: str, amount: int | float, n, dim: int, importance_scores: Tensor | None = None):
    """Prune ``amount`` (count if int, fraction if float) of ``module.<name>``'s channels along ``dim``,
    those of smallest L``n`` norm. Returns the module."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores: dict | None = None, **kwargs) -> None:
    """Prune the (module, name) ``parameters`` together: ``pruning_method`` (an ``"unstructured"`` method
    class, e.g. ``L1Unstructured``, built with ``**kwargs`` such as ``amount``) ranks all their unpruned
    entries at once, as if concatenated; each then gets its slice of the mask (``custom_from_mask``).
    ``importance_scores`` maps (module, name) to scores replacing the parameter in the ranking."""
    from . import parameters_to_vector

    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)  # read twice below, so a generator is taken in once
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    with no_grad():
        relevant_importance_scores = parameters_to_vector(
            [importance_scores.get((module, name), getattr(module, name)) for module, name in parameters]
        )
        default_mask = parameters_to_vector(
            [_mask_or_ones(module, name) for module, name in parameters]
        )
        container = PruningContainer()
        container._tensor_name = "temp"
        method = pruning_method(**kwargs)
        method._tensor_name = "temp"
        if method.PRUNING_TYPE != "unstructured":
            raise TypeError(
                'Only "unstructured" PRUNING_TYPE supported for '
                f"the `pruning_method`. Found method {pruning_method} of type {method.PRUNING_TYPE}"
            )
        container.add_pruning_method(method)
        final_mask = container.compute_mask(relevant_importance_scores, default_mask)
    pointer = 0
    for module, name in parameters:
        param = getattr(module, name)
        num_param = param.numel()
        param_mask = final_mask[pointer : pointer + num_param].view_as(param)
        custom_from_mask(module, name, mask=param_mask)
        pointer += num_param


def _mask_or_ones(module, name: str) -> Tensor:
    mask = getattr(module, name + "_mask", None)
    return mask if mask is not None else factory.ones_like(getattr(module, name))


def custom_from_mask(module, name: str, mask: Tensor):
    """Prune ``module.<name>`` by the given ``mask`` (zeros prune). Returns the module."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module, name: str):
    """Make the pruning of ``module.<name>`` permanent: it is a Parameter again holding the pruned values,
    and ``<name>_orig``, ``<name>_mask`` and the hook are gone. Returns the module."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module) -> bool:
    """Whether ``module`` or any submodule has a pruning pre-hook."""
    for _, submodule in module.named_modules():
        for hook in submodule._forward_pre_hooks.values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False


# Validation and helpers --------------------------------------------------------------------------------
def _validate_pruning_amount_init(amount) -> None:
    """``amount`` is a non-negative int or a float in [0, 1] (PyTorch's errors)."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)
    ):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_pruning_amount(amount, tensor_size: int) -> None:
    """A count to prune is at most the number of units."""
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")


def _validate_structured_pruning(t: Tensor) -> None:
    shape = t.shape
    if len(shape) <= 1:
        raise ValueError(
            "Structured pruning can only be applied to multidimensional tensors. "
            f"Found tensor of shape {shape} with {len(shape)} dims"
        )


def _compute_nparams_toprune(amount, tensor_size: int) -> int:
    """``amount`` as a count: itself if int, else round(amount * tensor_size) (Python's rounding)."""
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t: Tensor, dim: int) -> None:
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_norm(t: Tensor, n, dim: int) -> Tensor:
    """The L``n`` norm of each channel along ``dim`` (over all the other dims)."""
    from ...ops.linalg import norm

    dims = list(range(t.dim()))
    if dim < 0:
        dim = dims[dim]
    dims.remove(dim)
    return norm(t, p=n, dim=dims)


# PyTorch's CPU topk, replayed for ties ---------------------------------------------------------------
# torch.topk on the CPU (aten/src/ATen/native/TopKImpl.h, as built in PyTorch 2.13) selects with
# libstdc++: std::partial_sort (a heap of the first k swept over the rest) when k * 64 <= n, else
# std::nth_element (introselect), comparing values only (NaN the largest). Which of several equal values
# lands in the top k follows from those algorithms' exact moves, replayed below on integer ranks (so the
# comparator is a plain <). They run only when equal values straddle the cut; otherwise the top k is one
# set whatever the algorithm, and NumPy finds it. (Later PyTorch sources replace partial_sort by
# make_heap/pop_heap/push_heap, which breaks ties differently on that path; tested against 2.13.)

def _topk_indices(values: Tensor, k: int, largest: bool) -> Tensor:
    """The flat indices of the ``k`` largest (or smallest) elements of 1-D ``values``, as PyTorch's CPU
    ``topk`` chooses them among equal values; in ascending index order (the order is not PyTorch's)."""
    backend = values._backend
    host = numpy.asarray(backend.to_numpy(values._array)).reshape(-1)
    chosen = _topk_host(host, k, largest)
    return Tensor._make(backend.asarray(chosen.astype(numpy.int64)), backend)


def _topk_host(host: numpy.ndarray, k: int, largest: bool) -> numpy.ndarray:
    n = host.size
    if k == 0:
        return numpy.zeros(0, dtype=numpy.int64)
    # Ranks under topk's comparator: 0 for what it puts first. NaNs are equal to each other and count
    # as the largest value (first for largest=True, last for largest=False).
    _, rank = numpy.unique(host, return_inverse=True, equal_nan=True)
    rank = rank.reshape(-1).astype(numpy.int64)
    keys = (rank.max() - rank) if largest else rank
    kth = numpy.partition(keys, k - 1)[k - 1]
    below = keys < kth
    if int(below.sum()) + int((keys == kth).sum()) == k:  # no tie across the cut: the set is unique
        return numpy.flatnonzero(keys <= kth)
    perm = numpy.arange(n, dtype=numpy.int64)
    if k * 64 <= n:  # std::partial_sort: its __heap_select decides the set
        _heap_select(keys.copy(), perm, 0, k, n)
    else:
        _nth_element(keys.copy(), perm, k - 1)
    return numpy.sort(perm[:k])


def _sift_down(h: list, hp: list, hole: int, length: int, value: int, vindex: int) -> None:
    """libstdc++'s __adjust_heap then __push_heap: put (value, vindex) into the max-heap h[:length]
    (parallel index list hp) starting from the hole at ``hole``."""
    top = hole
    second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if h[second] < h[second - 1]:
            second -= 1
        h[hole], hp[hole] = h[second], hp[second]
        hole = second
    if length & 1 == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        h[hole], hp[hole] = h[second - 1], hp[second - 1]
        hole = second - 1
    _sift_up(h, hp, hole, top, value, vindex)


def _sift_up(h: list, hp: list, hole: int, top: int, value: int, vindex: int) -> None:
    """libstdc++'s __push_heap."""
    parent = (hole - 1) // 2
    while hole > top and h[parent] < value:
        h[hole], hp[hole] = h[parent], hp[parent]
        hole = parent
        parent = (hole - 1) // 2
    h[hole], hp[hole] = value, vindex


def _make_heap(h: list, hp: list) -> None:
    length = len(h)
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _sift_down(h, hp, parent, length, h[parent], hp[parent])
        if parent == 0:
            return
        parent -= 1


def _nth_element(a: numpy.ndarray, perm: numpy.ndarray, nth: int) -> None:
    """std::nth_element(a, a + nth, a + n) with libstdc++'s introselect, moving ``perm`` alike."""
    first, last = 0, a.size
    if first == last or nth == last:
        return
    depth = 2 * ((last - first).bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            _heap_select(a, perm, first, nth + 1, last)
            return  # (the final iter_swap of first and nth stays inside the chosen set)
        depth -= 1
        cut = _partition_pivot(a, perm, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, perm, first, last)


def _swap(a: numpy.ndarray, perm: numpy.ndarray, i, j) -> None:
    a[i], a[j] = a[j], a[i]
    perm[i], perm[j] = perm[j], perm[i]


def _partition_pivot(a: numpy.ndarray, perm: numpy.ndarray, first: int, last: int) -> int:
    """__unguarded_partition_pivot: the median of a[first + 1], a[mid], a[last - 1] moved to first, then
    Hoare's partition of [first + 1, last) around it, vectorised: the left scan stops at the elements not
    below the pivot (L, ascending), the right scan at those not above it (R, descending), and the i-th
    stops are swapped while L[i] < R[i]."""
    mid = first + (last - first) // 2
    x, y, z = first + 1, mid, last - 1
    if a[x] < a[y]:
        median = y if a[y] < a[z] else (z if a[x] < a[z] else x)
    elif a[x] < a[z]:
        median = x
    else:
        median = z if a[y] < a[z] else y
    _swap(a, perm, first, median)
    pivot = a[first]
    seg = a[first + 1 : last]
    left = first + 1 + numpy.flatnonzero(~(seg < pivot))
    right = (first + 1 + numpy.flatnonzero(~(pivot < seg)))[::-1]
    common = min(left.size, right.size)
    m = int((left[:common] < right[:common]).sum())
    if m:
        lo, hi = left[:m], right[:m]
        a[lo], a[hi] = a[hi].copy(), a[lo].copy()
        perm[lo], perm[hi] = perm[hi].copy(), perm[lo].copy()
        if m < left.size and left[m] < right[m - 1]:
            return int(left[m])
        return int(right[m - 1])
    return int(left[0])


def _insertion_sort(a: numpy.ndarray, perm: numpy.ndarray, first: int, last: int) -> None:
    """libstdc++'s __insertion_sort (stable) of a[first:last]."""
    for i in range(first + 1, last):
        value, vindex = a[i], perm[i]
        j = i
        if value < a[first]:
            a[first + 1 : i + 1], perm[first + 1 : i + 1] = a[first:i].copy(), perm[first:i].copy()
            a[first], perm[first] = value, vindex
            continue
        while value < a[j - 1]:
            a[j], perm[j] = a[j - 1], perm[j - 1]
            j -= 1
        a[j], perm[j] = value, vindex


def _heap_select(a: numpy.ndarray, perm: numpy.ndarray, first: int, middle: int, last: int) -> None:
    """libstdc++'s __heap_select: a max-heap of [first, middle); each later element below its top is
    swapped in (__pop_heap onto it). Leaves the chosen elements in [first, middle)."""
    h = a[first:middle].tolist()
    hp = perm[first:middle].tolist()
    _make_heap(h, hp)
    length = middle - first
    block = 4096
    for start in range(middle, last, block):
        seg = a[start : min(start + block, last)]
        for j in numpy.flatnonzero(seg < h[0]).tolist():
            value = int(seg[j])
            if value < h[0]:
                i = start + j
                old_top, old_index = h[0], hp[0]
                _sift_down(h, hp, 0, length, value, int(perm[i]))
                a[i], perm[i] = old_top, old_index
    a[first:middle] = h
    perm[first:middle] = hp
