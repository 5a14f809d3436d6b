"""torch's ``_foreach_*`` ops: one op over lists of tensors, as hand-written optimizers call them
(``torch._foreach_mul_(exp_avgs, beta1)``, ``torch._foreach_lerp_(bufs, grads, 1 - momentum)``).

Each runs the per-tensor op once per tensor, so values, dtypes, broadcasting and gradients are exactly
the per-tensor op's: the out-of-place forms return a tuple and are recorded like any op, the in-place
forms write each tensor and return the list they were given, as PyTorch's. (PyTorch's multi-tensor
kernels exist for speed; gpugrad's own optimizers get theirs from their flat buffers instead.)

The second argument of the binary ops may be a number, a list of numbers (one per tensor), a list of
tensors, or one tensor applied to every tensor, as in PyTorch; addcmul's and addcdiv's ``scalars`` may
also be a 1-D tensor of them.
"""
from __future__ import annotations

import numbers
from typing import Callable

from . import factory, ops
from .ops._operands import check_castable, scalar_argument
from .autograd.grad_mode import is_grad_enabled
from .tensor import Tensor

_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac",
          "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign",
          "sin", "sinh", "sqrt", "tan", "tanh", "trunc")
_BINARY = ("add", "sub", "mul", "div", "clamp_min", "clamp_max", "maximum", "minimum", "pow")


def _tensors(op: str, name: str, values) -> list:
    """A non-empty list (or tuple) of Tensors."""
    if not isinstance(values, (list, tuple)) or not all(isinstance(t, Tensor) for t in values):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of Tensors, not {type(values).__name__}")
    if not values:
        raise RuntimeError(f"{op}: Tensor list must have at least one tensor.")
    return values


def _per_tensor(op: str, self: list, other, name: str = "other") -> list:
    """``other`` as one value per tensor of ``self``: a number or one Tensor repeated, or the items of a list
    of numbers or of Tensors (as many as ``self`` has)."""
    if isinstance(other, Tensor) or isinstance(other, numbers.Number):
        return [other] * len(self)
    if isinstance(other, (list, tuple)) and all(isinstance(v, Tensor) for v in other):
        if len(other) != len(self):
            raise RuntimeError(f"{op}: Tensor lists must have the same number of tensors, got {len(self)} and {len(other)}")
        return list(other)
    if isinstance(other, (list, tuple)) and all(isinstance(v, numbers.Number) for v in other):
        if len(other) != len(self):
            raise RuntimeError(f"{op}: Tensor list must have same number of elements as scalar list.")
        return list(other)
    raise TypeError(f"{op}(): argument '{name}' must be a number, a list of numbers, a Tensor or a list of "
                    f"Tensors, not {type(other).__name__}")


def _write(op: str, self: list, results) -> list:
    """Each result into its tensor, as an in-place op would write it (while recording, the write is
    recorded); the list given, as PyTorch returns it. Checked first, so that a refused call changes no
    tensor: a dtype a tensor cannot hold, a leaf that requires grad while recording."""
    for t, r in zip(self, results):
        check_castable(op, r, t)
        if t._node is None and t.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation; "
                               "wrap the update in `with gg.no_grad():`")
    for t, r in zip(self, results):
        t.copy_(r)
    return self


def _unary(name: str) -> tuple[Callable, Callable]:
    fn = getattr(ops, name)

    def out_of_place(self):
        return tuple(fn(t) for t in _tensors(f"_foreach_{name}", "self", self))

    def in_place(self):
        tensors = _tensors(f"_foreach_{name}_", "self", self)
        return _write(f"_foreach_{name}_", tensors, [fn(t) for t in tensors])

    out_of_place.__doc__ = f"``{name}`` of each tensor."
    in_place.__doc__ = f"``{name}_`` on each tensor."
    return out_of_place, in_place


# maximum and minimum with a number are clamps (torch.maximum itself takes tensors only).
_WITH_NUMBER = {"maximum": "clamp_min", "minimum": "clamp_max"}


def _binary(name: str) -> tuple[Callable, Callable]:
    takes_alpha = name in ("add", "sub")

    def results(op, self, other, alpha) -> tuple[list, list]:
        if name == "pow" and isinstance(self, numbers.Number) and not op.endswith("_"):  # pow(number, exponents)
            return [], [ops.pow(self, t) for t in _tensors(op, "exponent", other)]
        self = _tensors(op, "self", self)
        others = _per_tensor(op, self, other)
        kwargs = {}
        if not (isinstance(alpha, numbers.Number) and alpha == 1):
            if not (takes_alpha and isinstance(other, (list, tuple, Tensor))):
                raise TypeError(f"{op}(): alpha is taken only with a Tensor or a list of Tensors")
            kwargs["alpha"] = scalar_argument(op, "alpha", alpha)
        values = []
        for t, o in zip(self, others):
            fn = getattr(ops, _WITH_NUMBER.get(name, name) if isinstance(o, numbers.Number) else name)
            values.append(fn(t, o, **kwargs))
        return self, values

    def out_of_place(self, other, *, alpha=1):
        return tuple(results(f"_foreach_{name}", self, other, alpha)[1])

    def in_place(self, other, *, alpha=1):
        return _write(f"_foreach_{name}_", *results(f"_foreach_{name}_", self, other, alpha))

    out_of_place.__doc__ = f"``{name}(self[i], other[i])`` for each tensor (``other`` a number, numbers, a Tensor or Tensors)."
    in_place.__doc__ = f"``self[i] = {name}(self[i], other[i])`` for each tensor."
    return out_of_place, in_place


_UNSET = object()


def _scalars(op: str, scalars, value):
    """addcmul's and addcdiv's multiplier, as PyTorch's overloads take it: one number as the fourth
    argument or ``value=`` (PyTorch's Scalar overload), or ``scalars`` (a list of numbers or a 1-D
    tensor, positional or by keyword); not both, and ``value=`` only a number."""
    if value is not _UNSET:
        if scalars is not _UNSET:
            raise TypeError(f"{op}() got both 'scalars' and 'value'")
        if isinstance(value, (list, tuple)) or isinstance(value, Tensor) and value.ndim != 0:
            raise TypeError(f"{op}(): argument 'value' must be Number, not {type(value).__name__}")
        return scalar_argument(op, "value", value)
    if scalars is _UNSET:
        return 1
    return scalars


def _pointwise(name: str) -> tuple[Callable, Callable]:
    """addcmul and addcdiv: self + value * (tensor1 op tensor2)."""
    fn = getattr(ops, name)

    def results(op, self, tensor1, tensor2, scalars):
        self = _tensors(op, "self", self)
        t1, t2 = _tensors(op, "tensor1", tensor1), _tensors(op, "tensor2", tensor2)
        if len(t1) != len(self) or len(t2) != len(self):
            raise RuntimeError(f"{op}: Tensor lists must have the same number of tensors, got {len(self)}, "
                               f"{len(t1)} and {len(t2)}")
        if isinstance(scalars, Tensor):  # a 1-D tensor of the values, one per tensor
            if scalars.ndim != 1 or scalars.shape[0] != len(self):
                raise RuntimeError(f"{op}: scalars must be a 1-D tensor with one value per tensor ({len(self)}), "
                                   f"got shape {tuple(scalars.shape)}")
            scalars = scalars.tolist()
        values = _per_tensor(op, self, scalars, "scalars")
        return self, [fn(t, a, b, value=v) for t, a, b, v in zip(self, t1, t2, values)]

    def out_of_place(self, tensor1, tensor2, scalars=_UNSET, *, value=_UNSET):
        op = f"_foreach_{name}"
        return tuple(results(op, self, tensor1, tensor2, _scalars(op, scalars, value))[1])

    def in_place(self, tensor1, tensor2, scalars=_UNSET, *, value=_UNSET):
        op = f"_foreach_{name}_"
        return _write(op, *results(op, self, tensor1, tensor2, _scalars(op, scalars, value)))

    out_of_place.__doc__ = (f"``{name}(self[i], tensor1[i], tensor2[i], value=scalars[i])`` for each tensor; the "
                            "fourth argument is one number (positional or ``value=``) or ``scalars``, one per tensor.")
    in_place.__doc__ = f"``{name}_`` on each tensor."
    return out_of_place, in_place


def _lerp_results(op: str, self, tensors1, weight) -> tuple[list, list]:
    self = _tensors(op, "self", self)
    ends = _tensors(op, "tensors1", tensors1)
    if len(ends) != len(self):
        raise RuntimeError(f"{op}: Tensor lists must have the same number of tensors, got {len(self)} and {len(ends)}")
    weights = _per_tensor(op, self, weight, "weight")
    return self, [ops.lerp(t, e, w) for t, e, w in zip(self, ends, weights)]


def _foreach_lerp(self, tensors1, weight) -> tuple:
    """``lerp(self[i], tensors1[i], weight[i])`` for each tensor."""
    return tuple(_lerp_results("_foreach_lerp", self, tensors1, weight)[1])


def _foreach_lerp_(self, tensors1, weight) -> list:
    """``self[i] = lerp(self[i], tensors1[i], weight[i])`` for each tensor."""
    return _write("_foreach_lerp_", *_lerp_results("_foreach_lerp_", self, tensors1, weight))


def _foreach_norm(self, ord=2, dtype=None) -> tuple:
    """The vector norm of each tensor (0-d tensors)."""
    return tuple(ops.linalg.vector_norm(t, ord, dtype=dtype) for t in _tensors("_foreach_norm", "self", self))


def _foreach_max(self) -> tuple:
    """The largest element of each tensor (0-d tensors)."""
    return tuple(t.max() for t in _tensors("_foreach_max", "self", self))


def _foreach_mm(self, mat2) -> tuple:
    """``mm(self[i], mat2[i])`` for each pair of matrices."""
    self = _tensors("_foreach_mm", "self", self)
    others = _tensors("_foreach_mm", "mat2", mat2)
    if len(others) != len(self):
        raise RuntimeError(f"_foreach_mm: Tensor lists must have the same number of tensors, got {len(self)} and {len(others)}")
    return tuple(ops.mm(a, b) for a, b in zip(self, others))


def _foreach_clone(self) -> tuple:
    """A copy of each tensor."""
    return tuple(t.clone() for t in _tensors("_foreach_clone", "self", self))


def _foreach_copy_(self, src, non_blocking: bool = False) -> list:
    """``self[i].copy_(src[i])`` for each tensor."""
    self = _tensors("_foreach_copy_", "self", self)
    src = _tensors("_foreach_copy_", "src", src)
    if len(src) != len(self):
        raise RuntimeError(f"_foreach_copy_: Tensor lists must have the same number of tensors, got {len(self)} and {len(src)}")
    return _write("_foreach_copy_", self, src)


def _foreach_zero_(self) -> list:
    """Zero each tensor."""
    tensors = _tensors("_foreach_zero_", "self", self)
    return _write("_foreach_zero_", tensors, [factory.zeros_like(t) for t in tensors])


def _make_all() -> dict:
    made = {}
    for names, make in ((_UNARY, _unary), (_BINARY, _binary), (("addcmul", "addcdiv"), _pointwise)):
        for name in names:
            made[f"_foreach_{name}"], made[f"_foreach_{name}_"] = make(name)
    for name, fn in made.items():
        fn.__name__ = fn.__qualname__ = name
    return made


globals().update(_make_all())
__all__ = sorted(n for n in globals() if n.startswith("_foreach_"))
