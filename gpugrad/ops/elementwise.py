"""Elementwise arithmetic and math: each op's forward, then its backward, then its public function.

Backward is written in Tensor ops, so it is differentiable itself. Broadcasting needs no code here: the
engine sums each gradient back to its input's shape.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..errors import ArgumentError
from ..tensor import Tensor
from ._operands import promote_pair, reflected, require_float, scalar_or_tensor


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, gy):
        return gy, gy


def add(a, b, *, alpha=1) -> Tensor:
    """a + alpha * b. d/da = 1, d/db = alpha."""
    if alpha != 1:
        b = mul(b, alpha)
    a, b = promote_pair(a, b)
    return Add.apply(a, b)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, gy):
        return gy, -gy


def sub(a, b, *, alpha=1) -> Tensor:
    """a - alpha * b. d/da = 1, d/db = -alpha."""
    if alpha != 1:
        b = mul(b, alpha)
    a, b = promote_pair(a, b)
    return Sub.apply(a, b)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(b if need_a else None, a if need_b else None)
        return a * b

    @staticmethod
    def backward(ctx, gy):
        b, a = ctx.saved_tensors
        return (gy * b if b is not None else None), (gy * a if a is not None else None)


def mul(a, b) -> Tensor:
    """a * b. d/da = b, d/db = a."""
    a, b = promote_pair(a, b)
    return Mul.apply(a, b)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        ga = gy / b if ctx.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


def div(a, b) -> Tensor:
    """a / b (true division: integer inputs give float32). d/da = 1/b, d/db = -a/b^2."""
    a, b = promote_pair(a, b)
    t = a if isinstance(a, Tensor) else b
    if t.data.dtype.kind != "f":
        from .. import dtypes

        a = a.to(dtypes.default_float) if isinstance(a, Tensor) else float(a)
        b = b.to(dtypes.default_float) if isinstance(b, Tensor) else float(b)
    return Div.apply(a, b)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        y = a**b
        ctx.save_for_backward(a, b, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def backward(ctx, gy):
        a, b, y = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, Tensor):
                ga = gy * b * a ** (b - 1)
            else:
                ga = gy * (b * a ** (b - 1)) if b != 0 else gy * 0.0
        if ctx.needs_input_grad[1]:
            # PyTorch's convention: where the base is 0 and the exponent non-negative, the gradient is 0.
            gb = where((a == 0) & (b >= 0), 0.0, gy * y * log(a))
        return ga, gb


def pow(a, b) -> Tensor:
    """a ** b. d/da = b a^(b-1), d/db = a^b log a."""
    a, b = promote_pair(a, b)
    if not isinstance(a, Tensor):  # a scalar base becomes a 0-d tensor so the Function has one shape
        a = Tensor._make(b._backend.xp.asarray(a, dtype=b.data.dtype), b._backend)
    return Pow.apply(a, b)


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, gy):
        return -gy


def neg(x: Tensor) -> Tensor:
    """-x. d/dx = -1."""
    return Neg.apply(x)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * sign(x)


def abs(x: Tensor) -> Tensor:
    """|x|. d/dx = sign(x) (0 at 0, as PyTorch)."""
    return Abs.apply(x)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * y


def exp(x: Tensor) -> Tensor:
    """e^x. d/dx = e^x."""
    require_float("exp", x)
    return Exp.apply(x)


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / x


def log(x: Tensor) -> Tensor:
    """Natural logarithm. d/dx = 1/x."""
    require_float("log", x)
    return Log.apply(x)


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy / (x + 1.0)


def log1p(x: Tensor) -> Tensor:
    """log(1 + x), accurate near 0. d/dx = 1/(1+x)."""
    require_float("log1p", x)
    return Log1p.apply(x)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy / (2.0 * y)


def sqrt(x: Tensor) -> Tensor:
    """Square root. d/dx = 1 / (2 sqrt x)."""
    require_float("sqrt", x)
    return Sqrt.apply(x)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * cos(x)


def sin(x: Tensor) -> Tensor:
    """sin x. d/dx = cos x."""
    require_float("sin", x)
    return Sin.apply(x)


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return -gy * sin(x)


def cos(x: Tensor) -> Tensor:
    """cos x. d/dx = -sin x."""
    require_float("cos", x)
    return Cos.apply(x)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, min=None, max=None):
        xp = ctx.xp
        mask = None
        if ctx.needs_input_grad[0]:
            mask = xp.ones(x.shape, dtype=bool)
            if min is not None:
                mask &= x >= min
            if max is not None:
                mask &= x <= max
        ctx.save_for_backward(mask)
        return xp.clip(x, min, max)

    @staticmethod
    def backward(ctx, gy):
        (mask,) = ctx.saved_tensors
        return where(mask, gy, 0.0)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """x limited to [min, max]. d/dx = 1 inside (bounds included, as PyTorch), 0 outside.

    Tensor bounds are differentiable too: they receive the gradient where they are the result.
    """
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = where(out < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    return Clamp.apply(x, min=min, max=max)


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        # Ties split the gradient evenly, as PyTorch does.
        wa = (a > b).to(gy.dtype) + 0.5 * (a == b).to(gy.dtype)
        return gy * wa, gy * (1.0 - wa)


def maximum(a, b) -> Tensor:
    """Elementwise max. The larger input gets the gradient; ties share it half and half."""
    a, b = promote_pair(a, b)
    return Maximum.apply(a, b)


def minimum(a, b) -> Tensor:
    """Elementwise min. The smaller input gets the gradient; ties share it half and half."""
    return -maximum(-a, -b) if isinstance(a, Tensor) or isinstance(b, Tensor) else min(a, b)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, gy):
        (cond,) = ctx.saved_tensors
        ga = where(cond, gy, 0.0) if ctx.needs_input_grad[1] else None
        gb = where(cond, 0.0, gy) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition, a, b) -> Tensor:
    """a where condition holds, else b. Each branch gets the gradient only where it was chosen, so a
    NaN or inf in the branch not taken does not leak into the gradient."""
    like = next(v for v in (condition, a, b) if isinstance(v, Tensor))
    condition = scalar_or_tensor(condition, like)
    if isinstance(condition, Tensor) and condition.data.dtype.kind != "b":
        condition = condition != 0
    a, b = promote_pair(a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else (a, b)
    return Where.apply(condition, a, b)


# Non-differentiable elementwise functions: results never require grad. ---------------------------
def _wrap_const(x: Tensor, array) -> Tensor:
    return Tensor._make(array, x._backend)


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1. Its derivative is 0 almost everywhere, so it records nothing."""
    return _wrap_const(x, x._backend.xp.sign(x.data))


def isnan(x: Tensor) -> Tensor:
    return _wrap_const(x, x._backend.xp.isnan(x.data))


def isfinite(x: Tensor) -> Tensor:
    return _wrap_const(x, x._backend.xp.isfinite(x.data))


def _comparison(name, ufunc_name):
    def compare(a, b) -> Tensor:
        a, b = promote_pair(a, b)
        t = a if isinstance(a, Tensor) else b
        ufunc = getattr(t._backend.xp, ufunc_name)
        av = a.data if isinstance(a, Tensor) else a
        bv = b.data if isinstance(b, Tensor) else b
        if isinstance(a, Tensor) and isinstance(b, Tensor) and a._backend is not b._backend:
            from ..errors import DeviceError

            raise DeviceError(f"{name}: expected all tensors on the same device, got {a.device} and {b.device}")
        try:
            out = ufunc(av, bv)
        except ValueError as exc:
            from ..errors import ShapeError

            raise ShapeError(f"{name}: {exc}") from exc
        return Tensor._make(t._backend.xp.asarray(out), t._backend)

    compare.__name__ = name
    compare.__doc__ = f"Elementwise {ufunc_name}, as a bool tensor (not differentiable)."
    return compare


eq = _comparison("eq", "equal")
ne = _comparison("ne", "not_equal")
lt = _comparison("lt", "less")
le = _comparison("le", "less_equal")
gt = _comparison("gt", "greater")
ge = _comparison("ge", "greater_equal")
logical_and = _comparison("logical_and", "logical_and")
logical_or = _comparison("logical_or", "logical_or")
logical_xor = _comparison("logical_xor", "logical_xor")


def logical_not(x: Tensor) -> Tensor:
    return _wrap_const(x, x._backend.xp.logical_not(x.data))


class Cast(Function):
    @staticmethod
    def forward(ctx, x, np_dtype=None):
        ctx.src = x.dtype
        return x.astype(np_dtype)

    @staticmethod
    def backward(ctx, gy):
        return gy.to(ctx.src) if gy.data.dtype.kind == "f" and ctx.src.kind == "f" else None


class ToDevice(Function):
    @staticmethod
    def forward(ctx, x, target=None):
        ctx.source = ctx.backend
        ctx.output_backend = target
        return target.asarray(ctx.backend.to_numpy(x))

    @staticmethod
    def backward(ctx, gy):
        return gy.to(ctx.source.device)


# What this family exports; gpugrad.ops gathers it (gg.<name>, Tensor.<name>, the op table's coverage).
FUNCTIONS = (
    add, sub, mul, div, pow, neg, abs, exp, log, log1p, sqrt, sin, cos, clamp, maximum, minimum, where,
    sign, isnan, isfinite, eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor, logical_not,
)
DIFFERENTIABLE = (add, sub, mul, div, pow, neg, abs, exp, log, log1p, sqrt, sin, cos, clamp, maximum, minimum, where)
METHODS = {f.__name__: f for f in FUNCTIONS if f is not where and not f.__name__.startswith("logical_")}
METHODS.update(
    clip=clamp,
    __add__=add, __radd__=reflected(add), __sub__=sub, __rsub__=reflected(sub),
    __mul__=mul, __rmul__=reflected(mul), __truediv__=div, __rtruediv__=reflected(div),
    __pow__=pow, __rpow__=reflected(pow), __neg__=neg, __abs__=abs,
    __eq__=eq, __ne__=ne, __lt__=lt, __le__=le, __gt__=gt, __ge__=ge,
)
