"""Complex numbers: a tensor's real and imaginary parts, its conjugate, modulus and argument, the complex
tensor made of two real ones (``complex``, ``polar``) and the views between a complex tensor and pairs of
reals (``view_as_real``, ``view_as_complex``).

Gradients follow PyTorch's convention: for a real loss L of z = a + ib the gradient is dL/da + i dL/db,
so a step against it decreases L, and a holomorphic f's backward multiplies by conj(f'(z)). Ops whose
backward follows it say ``complex_ok = True``; autograd refuses a complex output of any other op while
recording (autograd/function.py), and takes the real part of a complex gradient reaching a real input.
"""
from __future__ import annotations

import builtins

from .. import dtypes
from ..autograd.function import Op
from ..dtypes import FLOAT_KINDS
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from ._operands import write_out


def _is_complex(t: Tensor) -> bool:
    return t._array.dtype.kind == "c"


def _require_complex(name: str, t: Tensor) -> None:
    if not _is_complex(t):
        raise DTypeError(f"{name}: expected a complex tensor, got {t.dtype}")


class Conj(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, z):
        return ctx.xp.conj(z)

    @staticmethod
    def backward(ctx, gz):
        return Conj.apply_one(gz)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate a - ib; a real tensor is its own (returned as is, as PyTorch's). gpugrad
    computes it (PyTorch sets a lazy bit that ``resolve_conj`` materialises). Backward: the gradient's
    conjugate."""
    return Conj.apply_one(input) if _is_complex(input) else input


def conj_of(value):
    """The conjugate of a backward formula's operand, a Tensor or a Python number (real ones are their own)."""
    if isinstance(value, Tensor):
        return conj(value)
    return value.conjugate() if isinstance(value, builtins.complex) else value


def conj_physical(input: Tensor) -> Tensor:
    """``conj``, always computed (gpugrad's conj always is)."""
    return conj(input)


def resolve_conj(input: Tensor) -> Tensor:
    """``input``: gpugrad has no lazy conjugation bit to resolve."""
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """``input``: gpugrad has no lazy negation bit to resolve."""
    return input


class Real(Op):
    """The real part, a view of z's memory (writing to it writes z). Backward: the gradient as a complex one."""

    is_view = True
    complex_ok = True

    @staticmethod
    def forward(ctx, z):
        ctx.dtype = z.dtype
        return z.real

    @staticmethod
    def backward(ctx, ga):
        return ga.to(ctx.dtype)


class Imag(Op):
    """The imaginary part, a view of z's memory. Backward: i times the gradient."""

    is_view = True
    complex_ok = True

    @staticmethod
    def forward(ctx, z):
        return z.imag

    @staticmethod
    def backward(ctx, gb):
        return complex(gb.new_zeros(gb.shape), gb)


def real(input: Tensor) -> Tensor:
    """The real part of a complex tensor, as a view; a real tensor itself."""
    return Real.apply_one(input) if _is_complex(input) else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view (real tensors have none: an error, as PyTorch's)."""
    if not _is_complex(input):
        raise RuntimeError("imag: imag is not implemented for tensors with non-complex dtypes")
    return Imag.apply_one(input)


class Complex(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        z = xp.empty(xp.broadcast_shapes(a.shape, b.shape), dtype=dtypes.complex_of(dtypes.of_array(a)).np)
        z.real, z.imag = a, b
        return z

    @staticmethod
    def backward(ctx, gz):
        return real(gz), Imag.apply_one(gz)


def complex(real: Tensor, imag: Tensor, *, out: Tensor | None = None) -> Tensor:
    """real + i imag, from two float tensors of one dtype (float32 gives complex64, float64 complex128),
    broadcast. d/dreal = Re, d/dimag = Im of the gradient."""
    for name, t in (("real", real), ("imag", imag)):
        if not isinstance(t, Tensor):
            raise TypeError(f"complex(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t._array.dtype.kind not in FLOAT_KINDS or t._array.dtype.itemsize < 4:
            raise DTypeError(f"complex: expected both inputs to be float or double tensors, got {name} of {t.dtype}")
    if real._array.dtype != imag._array.dtype:
        raise DTypeError(f"complex: expected object of scalar type {real.dtype.name} but got {imag.dtype.name} for "
                         "argument 'imag'")
    return write_out("complex", Complex.apply(real, imag), out)


def polar(abs: Tensor, angle: Tensor, *, out: Tensor | None = None) -> Tensor:
    """abs (cos angle + i sin angle), from two float tensors of one dtype (RoPE's rotations, say)."""
    return write_out("polar", complex(abs * angle.cos(), abs * angle.sin()), out)


class ComplexAbs(Op):
    """|z| of a complex z. Backward: the gradient times sgn(z) = z / |z| (0 at 0, as PyTorch's)."""

    name = "abs"
    complex_ok = True

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return ctx.xp.abs(z)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * sgn(z)


def abs_complex(z: Tensor) -> Tensor:
    """|z| as a real tensor of z's parts' dtype (``gg.abs`` routes complex tensors here)."""
    return ComplexAbs.apply_one(z)


def sgn(z: Tensor) -> Tensor:
    """z / |z| for a complex z (0 at 0); PyTorch's extension of sign, which real tensors use."""
    r = ComplexAbs.apply_one(z)
    zero = r == 0
    return (z / r.masked_fill(zero, 1.0)).masked_fill(zero, 0)


class ComplexAngle(Op):
    """arg z in (-pi, pi]. Backward: the gradient times i z / |z|^2 (0 at 0, as PyTorch's)."""

    name = "angle"
    complex_ok = True

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return ctx.xp.angle(z)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        r2 = real(z) ** 2 + Imag.apply_one(z) ** 2
        zero = r2 == 0
        return (g * (z * 1j) / r2.masked_fill(zero, 1.0)).masked_fill(zero, 0)


def angle_complex(z: Tensor) -> Tensor:
    """arg z (``gg.angle`` routes complex tensors here)."""
    return ComplexAngle.apply_one(z)


class ViewAsReal(Op):
    """A complex tensor's memory read as pairs (real, imag) along a new last dim of 2."""

    is_view = True
    complex_ok = True

    @staticmethod
    def forward(ctx, z):
        parts = z.real  # a view with z's strides, over the real parts
        item = parts.itemsize
        return ctx.xp.lib.stride_tricks.as_strided(parts, z.shape + (2,), parts.strides + (item,))

    @staticmethod
    def backward(ctx, g):
        return ViewAsComplex.apply_one(g.contiguous())


def view_as_real(input: Tensor) -> Tensor:
    """The complex tensor ``input`` as a real one with a last dim of 2 (real, imag), sharing its memory."""
    _require_complex("view_as_real", input)
    return ViewAsReal.apply_one(input)


class ViewAsComplex(Op):
    """Pairs along the last dim of a float tensor read as complex numbers."""

    is_view = True
    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        return x.view(dtypes.complex_of(dtypes.of_array(x)).np)[..., 0]

    @staticmethod
    def backward(ctx, gz):
        return ViewAsReal.apply_one(gz)


def view_as_complex(input: Tensor) -> Tensor:
    """A float32 or float64 tensor whose last dim is 2 (real, imag) as a complex tensor of one dim fewer,
    sharing its memory. The last dim must be contiguous and the others' strides even, as PyTorch's."""
    a = input._array
    if a.dtype.kind not in FLOAT_KINDS or a.dtype.itemsize < 4:
        raise DTypeError(f"view_as_complex: is only supported for float and double tensors, but got a tensor of "
                         f"scalar type {input.dtype.name}")
    if a.ndim == 0 or a.shape[-1] != 2:
        raise ShapeError(f"view_as_complex: Tensor must have a last dimension of size 2, got shape {tuple(a.shape)}")
    item = a.itemsize
    if a.strides[-1] != item or any(s % (2 * item) for s, n in zip(a.strides[:-1], a.shape[:-1]) if n > 1):
        raise RuntimeError(f"view_as_complex: Tensor must have a last dimension with stride 1 and every other "
                           f"stride divisible by 2 (strides {tuple(s // item for s in a.strides)}); call .contiguous() first")
    return ViewAsComplex.apply_one(input)


def isreal_complex(z: Tensor) -> Tensor:
    """True where z's imaginary part is 0 (``gg.isreal`` routes complex tensors here)."""
    return Tensor._make(z._array.imag == 0, z._backend)


def refuse_complex(name: str, *values) -> None:
    """Ops that order values (comparisons, max, sort, clamp, relu, rounding) have no meaning on complex
    numbers: PyTorch refuses them, where NumPy would silently order by the real part first."""
    for v in values:
        if isinstance(v, Tensor) and v._array.dtype.kind == "c" or isinstance(v, builtins.complex):
            raise DTypeError(f"{name}: not supported for complex tensors (complex numbers have no order)")


FUNCTIONS = (conj, conj_physical, resolve_conj, resolve_neg, real, imag, complex, polar, view_as_real, view_as_complex)
DIFFERENTIABLE = (conj, conj_physical, real, imag, complex, polar, view_as_real, view_as_complex)
METHODS = {
    "conj": conj, "conj_physical": conj_physical, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg,
    "real": property(real), "imag": property(imag),
}
