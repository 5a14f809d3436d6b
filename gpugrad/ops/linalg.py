"""Linear algebra: matrix products, einsum, inverses and solves, decompositions and norms.

Each decomposition is one Function whose backward is PyTorch's formula written in Tensor ops, so second
derivatives come from differentiating the backward. Decompositions return all their factors and the
functions that need only some (``svdvals``, ``eigvalsh``, ``det`` of a singular matrix) use those outputs,
so that the factors stay connected to the graph. Everything works through ``ctx.xp`` (NumPy's and CuPy's
``linalg`` share their names). Functions that differ from their ``torch.linalg`` namesake in signature live
here as ``linalg_<name>``; gpugrad.linalg exports them under the short name.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy

from .._warn_once import warn_once
from ..amp.policy import FLOAT32, LOWER_PRECISION, PROMOTE, autocast_policy
from ..autograd.reduced_float import float32_of
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..overrides import handle_torch_function, has_torch_function
from ..dtypes import FLOAT_KINDS
from ..errors import ArgumentError, DTypeError, ShapeError, dim_out_of_range
from ..tensor import Tensor
from ..sparse import coo as sparse_coo
from ..sparse.coo import SparseTensor
from ._operands import c_order, distinct_dims, foreign_operand_to_python, normalize_dims, reflected, scalar_argument, write_out
from .complex_numbers import conj_of
from .shape import diag_embed


class LinAlgError(RuntimeError):
    """A matrix the algorithm cannot handle: singular for solve/inv, not positive-definite for cholesky.
    A RuntimeError only, as ``torch.linalg.LinAlgError``: the input's shape and dtype were fine."""


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
SVDLegacyResult = namedtuple("SVDLegacyResult", ["U", "S", "V"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])


# Checks and constants ---------------------------------------------------------------------------------


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _require_float(op: str, *tensors: Tensor) -> None:
    for t in tensors:
        if t._array.dtype.kind == "c":  # PyTorch's takes complex matrices here; gpugrad's does not yet
            raise DTypeError(f"{op}: complex matrices are not supported by gpugrad's {op} yet, got {t.dtype}")
        if t._array.dtype.kind not in FLOAT_KINDS:
            raise DTypeError(f"{op}: Expected a floating point or complex tensor as input. Got {t.dtype}")


def _require_same_dtype(op: str, *tensors: Tensor) -> None:
    first = tensors[0]
    for t in tensors[1:]:
        if t._array.dtype != first._array.dtype:
            raise DTypeError(f"{op}: expected all arguments to have the same dtype, got {first.dtype} and {t.dtype}")


def _require_matrices(op: str, a: Tensor, square: bool = False) -> None:
    if a.ndim < 2:
        raise ShapeError(f"{op}: The input tensor A must have at least 2 dimensions, got shape {_shape(a)}.")
    if square and a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: A must be batches of square matrices, but they are {a.shape[-2]} by {a.shape[-1]} "
                         "matrices")


def _require_ndim(op: str, name: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise ShapeError(f"{op}: expected {name} to be a {ndim}-D tensor, got shape {_shape(t)}")


def _constant(like: Tensor, array) -> Tensor:
    return Tensor._make(array, like._backend)


def _eye(like: Tensor, n: int) -> Tensor:
    return _constant(like, like._backend.xp.eye(n, dtype=like._array.dtype))


def _masked(a: Tensor, mask) -> Tensor:
    """a times a constant 0/1 (or weight) array broadcast over the batch."""
    return a * _constant(a, mask.astype(a._array.dtype))


def _tril_half_diag(a: Tensor) -> Tensor:
    """The lower triangle of each matrix with its diagonal halved."""
    xp, n = a._backend.xp, a.shape[-1]
    return _masked(a, xp.tril(xp.ones((n, n))) - 0.5 * xp.eye(n))


def _ignored(t: Tensor) -> Tensor:
    """Zeros shaped as t whose gradient to t is zeros: t's values (NaN included) do not matter, but t is
    still part of the graph, as PyTorch's addmm(beta=0) and matrix_power(A, 0) have it."""
    from .elementwise import where

    return where(_constant(t, t._backend.xp.zeros(t.shape, dtype=bool)), t, 0)


def _batch_prefix(batch_shape: tuple, flat: int) -> str:
    """PyTorch names the failing matrix of a batch by its flat index."""
    return f"(Batch element {flat}): " if batch_shape else ""


def _first_singular(a) -> tuple[int, int | None]:
    """For a (batch of) matrices LAPACK found singular: the flat batch index of the first singular one and
    the 1-based index of the first zero pivot of its LU factorisation (None if our elimination's rounding
    differs from LAPACK's there). Runs on the host, on the error path only."""
    host = numpy.asarray(a.get() if hasattr(a, "get") else a)
    mats = host.reshape((-1,) + host.shape[-2:])
    for b, m in enumerate(mats):
        try:
            numpy.linalg.inv(m)
        except numpy.linalg.LinAlgError:
            return b, _zero_pivot(m.copy())
    return 0, None


def _zero_pivot(u) -> int | None:
    """Gaussian elimination with partial pivoting, as LAPACK's getrf: the first exactly zero pivot."""
    n = u.shape[0]
    for j in range(n):
        p = j + int(numpy.argmax(numpy.abs(u[j:, j])))
        if u[p, j] == 0:
            return j + 1
        u[[j, p]] = u[[p, j]]
        u[j + 1 :, j:] -= numpy.outer(u[j + 1 :, j] / u[j, j], u[j, j:])
    return None


# Matrix products ------------------------------------------------------------------------------------


class MatMul(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return ctx.backend.matmul(a, b)

    @staticmethod
    def backward(ctx, gy):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.a_shape, ctx.b_shape
        if len(a_shape) == 2 and len(b_shape) == 2 and not is_grad_enabled():
            # Plain backward of a matrix product: the two GEMMs on arrays, no op applications.
            backend, g = ctx.backend, float32_of(gy._array)
            ga = None if b is None else Tensor._make(backend.matmul(g, _adjoint(float32_of(b._array))), backend)
            gb = None if a is None else Tensor._make(backend.matmul(_adjoint(float32_of(a._array)), g), backend)
            return ga, gb
        # Complex operands: the gradients take the conjugates (G B^H, A^H G); real ones are their own.
        a, b = conj_of(a), conj_of(b)
        if len(a_shape) == 1 and len(b_shape) == 1:  # dot product
            return (gy * b if b is not None else None), (gy * a if a is not None else None)
        # Promote vectors to matrices as matmul does, so both gradients are ordinary matrix products.
        if len(a_shape) == 1:
            gy = gy.unsqueeze(-2)
        if len(b_shape) == 1:
            gy = gy.unsqueeze(-1)
        ga = gb = None
        if b is not None:
            b2 = b.unsqueeze(-1) if len(b_shape) == 1 else b
            ga = (gy @ b2.mT).sum_to_size(a_shape if len(a_shape) > 1 else (1,) + a_shape)
            if len(a_shape) == 1:
                ga = ga.reshape(a_shape)
        if a is not None:
            a2 = a.unsqueeze(0) if len(a_shape) == 1 else a
            gb = (a2.mT @ gy).sum_to_size(b_shape if len(b_shape) > 1 else b_shape + (1,))
            if len(b_shape) == 1:
                gb = gb.reshape(b_shape)
        return ga, gb


def _adjoint(matrix):
    """A matrix array's transpose, conjugated when complex."""
    return matrix.T.conj() if matrix.dtype.kind == "c" else matrix.T


@autocast_policy(LOWER_PRECISION)
def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix product with NumPy/PyTorch rules: vectors are promoted, batch dims broadcast.

    d/dA (A @ B) applied to G is G @ B^T; d/dB is A^T @ G.
    """
    a, b = input, other  # PyTorch's names for the arguments (matmul(input=..., other=...))
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.__class__ is SparseTensor or b.__class__ is SparseTensor:
        return write_out("matmul", sparse_coo.matmul(a, b), out)
    shape_a, shape_b = a._array.shape, b._array.shape  # the arrays' own: every matmul passes these checks
    if not shape_a or not shape_b:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes {shape_a} and {shape_b}")
    k_a = shape_a[-1]
    k_b = shape_b[0] if len(shape_b) == 1 else shape_b[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: shapes {shape_a} and {shape_b} cannot be multiplied ({k_a} != {k_b})")
    dtype = a._array.dtype
    if b._array.dtype is not dtype and b._array.dtype != dtype:
        raise DTypeError(f"matmul: expected both arguments to have the same dtype, got {a.dtype} and {b.dtype}")
    if dtype.kind == "b":
        raise DTypeError("matmul: not implemented for 'Bool' tensors (as in PyTorch); cast them first")
    return write_out("matmul", MatMul.apply_pair(a, b), out)


def mT(x: Tensor) -> Tensor:
    """The last two dims swapped (a batch of matrix transposes)."""
    if x.ndim < 2:
        raise ShapeError(f"mT: expects a tensor with >= 2 dimensions, got shape {tuple(x.shape)}")
    return x.transpose(-2, -1)


@autocast_policy(cuda=PROMOTE)
def dot(input: Tensor, tensor: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inner product of two vectors. d/dinput = tensor, d/dtensor = input."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise ShapeError(f"dot: expects 1-D tensors, got shapes {tuple(input.shape)} and {tuple(tensor.shape)}")
    return write_out("dot", matmul(input, tensor), out)


@autocast_policy(LOWER_PRECISION)
def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Product of two matrices (no broadcasting). d/dA = G B^T, d/dB = A^T G."""
    _require_ndim("mm", "self", input, 2)
    _require_ndim("mm", "mat2", mat2, 2)
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
                         f"{mat2.shape[0]}x{mat2.shape[1]})")
    return write_out("mm", matmul(input, mat2), out)


@autocast_policy(LOWER_PRECISION)
def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Batches of matrix products, (b, n, m) @ (b, m, p), no broadcasting."""
    _require_ndim("bmm", "batch1", input, 3)
    _require_ndim("bmm", "batch2", mat2, 3)
    expected = (input.shape[0], input.shape[2])
    if tuple(mat2.shape[:2]) != expected:
        raise ShapeError(f"bmm: expected size for first two dimensions of batch2 tensor to be: {list(expected)} "
                         f"but got: {list(mat2.shape[:2])} (shapes {_shape(input)} and {_shape(mat2)})")
    return write_out("bmm", matmul(input, mat2), out)


@autocast_policy(cuda=LOWER_PRECISION)
def mv(input: Tensor, vec: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix-vector product. d/dA = g v^T, d/dv = A^T g."""
    _require_ndim("mv", "input", input, 2)
    _require_ndim("mv", "vec", vec, 1)
    if input.shape[1] != vec.shape[0]:
        raise ShapeError(f"mv: size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), "
                         f"vec ({vec.shape[0]})")
    return write_out("mv", matmul(input, vec), out)


def outer(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Outer product u v^T of two vectors. d/du = G v, d/dv = G^T u."""
    _require_ndim("outer", "self", input, 1)
    _require_ndim("outer", "vec2", vec2, 1)
    return write_out("outer", input.unsqueeze(1) * vec2.unsqueeze(0), out)


def ger(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The old name of ``outer``."""
    return write_out("ger", outer(input, vec2), out)


def _scaled_sum(name: str, input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """beta * input + alpha * product; with beta == 0 input is ignored (its NaNs too), as in PyTorch.
    For integer tensors, float scale factors are truncated to integers first (addr refuses them), as
    PyTorch's kernels read them."""
    if input._array.dtype != product._array.dtype:
        raise DTypeError(f"{name}: self and mat2 must have the same dtype, but got {input.dtype} and {product.dtype}")
    beta, alpha = scalar_argument(name, "beta", beta), scalar_argument(name, "alpha", alpha)
    if product._array.dtype.kind in "iu":
        for arg, value in (("beta", beta), ("alpha", alpha)):
            if name == "addr" and isinstance(value, float):
                raise DTypeError(f"addr: for integral input tensors, argument {arg} must not be a floating point number")
        beta, alpha = int(beta), int(alpha)
    scaled = product if alpha == 1 else product * alpha
    shape = _shape(scaled)
    try:
        expanded = input.expand(*shape)
    except ShapeError as exc:
        raise ShapeError(f"{name}: input of shape {_shape(input)} does not broadcast to the product's shape "
                         f"{shape}") from exc
    if beta == 0:
        result = scaled + _ignored(expanded)
    else:
        result = scaled + (expanded if beta == 1 else expanded * beta)
    return result if result._array.dtype == product._array.dtype else result.to(product.dtype)


@autocast_policy(LOWER_PRECISION)
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1, out: Tensor | None = None) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2). Gradients: beta g, alpha g mat2^T, alpha mat1^T g."""
    return write_out("addmm", _scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha), out)


@autocast_policy(cuda=LOWER_PRECISION)
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1, out: Tensor | None = None) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    return write_out("addmv", _scaled_sum("addmv", input, mv(mat, vec), beta, alpha), out)


@autocast_policy(cuda=LOWER_PRECISION)
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1, out: Tensor | None = None) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2)."""
    return write_out("addr", _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha), out)


@autocast_policy(LOWER_PRECISION)
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1, out: Tensor | None = None) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2)."""
    return write_out("baddbmm", _scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha), out)


@autocast_policy(LOWER_PRECISION)
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1, out: Tensor | None = None) -> Tensor:
    """beta * input + alpha * (the sum over the batch of batch1[b] @ batch2[b])."""
    return write_out("addbmm", _scaled_sum("addbmm", input, bmm(batch1, batch2).sum(0), beta, alpha), out)


# einsum -------------------------------------------------------------------------------------------------

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _sublist_subscript(n) -> str:
    if n is Ellipsis:
        return "..."
    if isinstance(n, int) and 0 <= n < 26:  # PyTorch's letters: 0-25 upper case, 26-51 lower case
        return chr(ord("A") + n)
    if isinstance(n, int) and 26 <= n < 52:
        return chr(ord("a") + n - 26)
    raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")


def _sublist_equation(args: tuple) -> tuple[str, tuple]:
    """(equation, operands) of the sublist form ``op1, sub1, op2, sub2, ..., [sub_out]``."""
    lists = args[1::2]
    equation = ",".join("".join(_sublist_subscript(n) for n in sub) for sub in lists)
    if len(args) % 2:  # an odd count: the last list is the output's
        equation += "->" + "".join(_sublist_subscript(n) for n in args[-1])
        return equation, tuple(args[:-1:2])
    return equation, tuple(args[::2])


def _parse_einsum(equation: str, shapes: list) -> tuple[list, str]:
    """The equation with every ellipsis spelled out in fresh letters and the output made explicit:
    (one letter string per operand, output letters). Implicit output: the ellipsis dims, then the letters
    seen once, in ASCII order (upper case first), as NumPy and PyTorch do."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ArgumentError(f"einsum(): {len(terms)} operands in the equation '{equation}' but {len(shapes)} given")
    used = set(eq) - {".", ",", "-", ">"}
    bad = sorted(c for c in used if c not in _LETTERS)
    if bad:
        raise ArgumentError(f"einsum(): invalid subscript {bad[0]!r} in the equation '{equation}': "
                            "use letters a-z, A-Z")
    n_ell = 0
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term:
            if term.count("...") > 1 or "." in term.replace("...", "", 1):
                raise ArgumentError(f"einsum(): more than one ellipsis in the term '{term}' of '{equation}'")
            if len(shape) < named:
                raise ShapeError(f"einsum(): the term '{term}' needs at least {named} dims, got shape {shape}")
            n_ell = max(n_ell, len(shape) - named)
        elif "." in term or named != len(shape):
            raise ShapeError(f"einsum(): the term '{term}' has {named} subscripts for an operand of shape {shape}")
    fresh = [c for c in _LETTERS if c not in used][:n_ell]
    if len(fresh) < n_ell:
        raise ArgumentError(f"einsum(): too many dims for the equation '{equation}'")
    inputs = []
    for term, shape in zip(terms, shapes):
        k = len(shape) - len(term.replace("...", ""))
        inputs.append(term.replace("...", "".join(fresh[n_ell - k :]) if k else ""))
    if arrow:
        if rhs.count("...") > 1 or "." in rhs.replace("...", "", 1):
            raise ArgumentError(f"einsum(): invalid output '{rhs}' in '{equation}'")
        output = rhs.replace("...", "".join(fresh))
        for c in output:
            if output.count(c) > 1 or not any(c in s for s in inputs):
                raise ArgumentError(f"einsum(): output subscript {c} appears more than once or in no input, "
                                    f"in '{equation}'")
    else:
        joined = "".join(terms)
        output = "".join(fresh) + "".join(sorted(c for c in set(joined) if c != "." and joined.count(c) == 1))
    return inputs, output


def _label_sizes(equation: str, inputs: list, shapes: list) -> dict:
    """Each letter's size; a size of 1 broadcasts against the others (PyTorch's rule)."""
    sizes = {}
    for k, (term, shape) in enumerate(zip(inputs, shapes)):
        for c, s in zip(term, shape):
            seen = sizes.get(c, 1)
            if s != 1 and seen != 1 and s != seen:
                raise ShapeError(f"einsum(): subscript {c} has size {s} for operand {k} which does not broadcast with "
                                 f"previously seen size {seen} (equation '{equation}', shapes {shapes})")
            sizes[c] = s if seen == 1 else seen  # not max: an empty dim (0) is a size, and 1 stretches to it
    return sizes


class Einsum(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, *operands, inputs=(), output="", sizes=None):
        xp = ctx.xp
        # NumPy's einsum broadcasts only ellipsis dims: stretch size-1 subscripts first.
        ops = [op if all(s == sizes[c] for c, s in zip(t, op.shape)) else xp.broadcast_to(op, [sizes[c] for c in t])
               for t, op in zip(inputs, operands)]
        ctx.inputs, ctx.output, ctx.sizes = inputs, output, sizes
        ctx.save_for_backward(*operands)
        if len(ops) == 1 and inputs[0] == output:
            return ops[0].copy()
        if len(ops) == 2:
            out = _pair_as_matmul(ctx.backend, inputs, output, sizes, *ops)
            if out is not None:
                return out
        return xp.einsum(",".join(inputs) + "->" + output, *ops, optimize=len(ops) > 1)

    @staticmethod
    def backward(ctx, gy):
        operands = ctx.saved_tensors
        return tuple(
            _einsum_grad(gy, k, operands, ctx.inputs, ctx.output, ctx.sizes) if need else None
            for k, need in enumerate(ctx.needs_input_grad)
        )


def _pair_as_matmul(backend, inputs, output: str, sizes: dict, a, b):
    """The einsum of two float or complex operands as one (batched) matrix product, as PyTorch computes it:
    letters in both inputs and the output index the batch, those of one input and the output the rows or the
    columns, those of both inputs alone are contracted, and one input's letters found nowhere else are summed
    first. NumPy's einsum cannot hand a contraction with batch letters to BLAS ('bhtd,bhsd->bhts', attention's
    scores, ran in its own loop on one core at 3.5x PyTorch's time). None where a letter repeats within a term
    (a diagonal) or for other dtypes: NumPy's einsum computes those."""
    ta, tb = inputs
    if (a.dtype.kind not in "fc" or b.dtype.kind not in "fc" or len(set(ta)) < len(ta) or len(set(tb)) < len(tb)
            or len(set(output)) < len(output)):
        return None
    only_a = [c for c in ta if c not in tb and c not in output]
    if only_a:  # summed away first: its letters are in no other place
        a, ta = a.sum(axis=tuple(ta.index(c) for c in only_a)), "".join(c for c in ta if c not in only_a)
    only_b = [c for c in tb if c not in ta and c not in output]
    if only_b:
        b, tb = b.sum(axis=tuple(tb.index(c) for c in only_b)), "".join(c for c in tb if c not in only_b)
    batch = [c for c in output if c in ta and c in tb]
    rows = [c for c in output if c in ta and c not in tb]
    cols = [c for c in output if c in tb and c not in ta]
    summed = [c for c in ta if c in tb and c not in output]
    if list(output) == batch + cols + rows:  # the output's order with the operands' roles swapped
        a, ta, b, tb, rows, cols = b, tb, a, ta, cols, rows
    size = lambda letters: math.prod(sizes[c] for c in letters)
    a3 = a.transpose([ta.index(c) for c in batch + rows + summed]).reshape(size(batch), size(rows), size(summed))
    b3 = b.transpose([tb.index(c) for c in batch + summed + cols]).reshape(size(batch), size(summed), size(cols))
    product = backend.matmul(a3, b3).reshape([sizes[c] for c in batch + rows + cols])
    order = batch + rows + cols
    if order == list(output):
        return product
    return backend.xp.ascontiguousarray(product.transpose([order.index(c) for c in output]))  # C order, as PyTorch's


def _einsum_grad(gy: Tensor, k: int, operands, inputs, output: str, sizes: dict) -> Tensor:
    """d/d operand k: the contraction of gy with the other operands onto operand k's letters (an einsum),
    broadcast along letters found nowhere else, and placed on the diagonals of repeated letters."""
    term = inputs[k]
    others = [(t, op) for j, (t, op) in enumerate(zip(inputs, operands)) if j != k]
    available = set(output).union(*(set(t) for t, _ in others))
    unique = "".join(dict.fromkeys(term))
    kept = "".join(c for c in unique if c in available)
    g = Einsum.apply(gy, *(conj_of(op) for _, op in others), inputs=(output,) + tuple(t for t, _ in others), output=kept,
                     sizes=sizes)
    for i, c in enumerate(unique):  # letters only operand k has: its gradient is constant along them
        if c not in available:
            g = g.unsqueeze(i)
    g = g.expand(*[sizes[c] for c in unique])
    seen = ""
    for p, c in enumerate(term):
        if c in seen:  # a repeated letter: the gradient lives on the diagonal of the two dims
            q = term.index(c)
            n = sizes[c]
            g = g.unsqueeze(p)
            mask_shape = [1] * g.ndim
            mask_shape[q] = mask_shape[p] = n
            g = _masked(g, gy._backend.xp.eye(n).reshape(mask_shape))
        seen += c
    return g


@autocast_policy(LOWER_PRECISION)
def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, with NumPy's equations: explicit (``'ij,jk->ik'``) or implicit (``'ij,jk'``),
    ellipsis for broadcast dims, repeated letters for diagonals. The gradient of each operand is the einsum
    of the output gradient with the other operands onto that operand's subscripts.

    PyTorch's sublist form is read too: ``einsum(a, [0, 1], b, [1, 2], [0, 2])``, subscripts 0-51 and
    ``...`` (Ellipsis), the output's list optional.
    """
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation, *operands))
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if has_torch_function(operands):  # handed over as einsum(equation, *operands), either form, as PyTorch's
        return handle_torch_function(einsum, operands, equation, *operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the equation must be a string, got {type(equation).__name__}")
    for op in operands:
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): expected Tensor operands, got {type(op).__name__}")
    if not operands:
        raise ArgumentError("einsum(): must provide at least one operand")
    _require_same_dtype("einsum()", *operands)
    shapes = [_shape(op) for op in operands]
    inputs, output = _parse_einsum(equation, shapes)
    sizes = _label_sizes(equation, inputs, shapes)
    return Einsum.apply(*operands, inputs=tuple(inputs), output=output, sizes=sizes)


einsum._overridable = True  # it hands its calls over itself, once the one-list form is read (overrides.py)


@autocast_policy(cpu=LOWER_PRECISION, cuda=PROMOTE)
def tensordot(a: Tensor, b: Tensor, dims=2, out: Tensor | None = None) -> Tensor:
    """Contract dims of a with dims of b: ``dims=d`` pairs the last d of a with the first d of b;
    ``dims=([i, ...], [j, ...])`` pairs a's dim i with b's dim j."""
    if isinstance(dims, int):
        if dims < 0:
            raise ArgumentError(f"tensordot: expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: dims={dims} is more than the dims of shapes {_shape(a)} and {_shape(b)}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = (list(d) if isinstance(d, (list, tuple)) else [d] for d in dims)
        if len(dims_a) != len(dims_b):
            raise ArgumentError(f"tensordot: both dimension lists should have same length, got {dims_a} and {dims_b}")
    dims_a = [d % max(a.ndim, 1) for d in dims_a]
    dims_b = [d % max(b.ndim, 1) for d in dims_b]
    for i, j in zip(dims_a, dims_b):
        # a contracted dim of size 1 on one side broadcasts: the other side is summed over it, as PyTorch's
        if b.shape[j] == 1 and a.shape[i] != 1:
            a = a.sum(i, keepdim=True)
        elif a.shape[i] == 1 and b.shape[j] != 1:
            b = b.sum(j, keepdim=True)
        elif a.shape[i] != b.shape[j]:
            raise ShapeError(f"tensordot: contracted dimensions need to match, but first has size {a.shape[i]} "
                             f"in dim {i} "
                             f"and second has size {b.shape[j]} in dim {j} (shapes {_shape(a)} and {_shape(b)})")
    if a._array.dtype != b._array.dtype:
        raise DTypeError(f"tensordot: both inputs should have same dtype, got {a.dtype} and {b.dtype}")
    letters = iter(_LETTERS)
    sub_a = [next(letters) for _ in range(a.ndim)]
    sub_b = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(dims_a, dims_b):
        sub_b[j] = sub_a[i]
    kept = [c for i, c in enumerate(sub_a) if i not in dims_a] + [c for j, c in enumerate(sub_b) if j not in dims_b]
    result = einsum("".join(sub_a) + "," + "".join(sub_b) + "->" + "".join(kept), a, b)
    return write_out("tensordot", result, out)


def kron(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Kronecker product: block (i, j) is input[i, j] * other (dtypes promote). A broadcast product."""
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + _shape(input))
    b = other.reshape((1,) * (nd - other.ndim) + _shape(other))
    interleaved_a = [s for d in a.shape for s in (d, 1)]
    interleaved_b = [s for d in b.shape for s in (1, d)]
    product = a.reshape(interleaved_a) * b.reshape(interleaved_b)
    return write_out("kron", product.reshape([x * y for x, y in zip(a.shape, b.shape)]), out)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """sum(x * y) along dim, broadcast over the rest. d/dx = g y, d/dy = g x."""
    _require_float("linalg.vecdot", x, y)
    _require_same_dtype("linalg.vecdot", x, y)
    product = x * y
    return write_out("linalg.vecdot", product.sum(dim), out)


@autocast_policy(cpu=FLOAT32)
def trace(input: Tensor) -> Tensor:
    """Sum of the diagonal of a matrix. d/dA = g I."""
    if input.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, but got tensor with dim {input.ndim} (shape {_shape(input)})")
    if input._array.dtype.kind == "b":
        raise DTypeError("trace: not implemented for bool tensors")
    k = min(input.shape)
    square = input if input.shape[0] == input.shape[1] else input[:k, :k]
    if input._array.dtype.kind in "iu":
        return einsum("ii->", square.long())  # integers sum as int64, as PyTorch's
    return Trace.apply(square)


class Trace(Op):
    """The sum of a square matrix's diagonal; its gradient gy on the diagonal and zeros elsewhere (as an
    einsum "ii->", its gradient was gy times an identity matrix made in float64: 7x PyTorch's time)."""

    complex_ok = True

    @staticmethod
    def forward(ctx, x):
        ctx.n = x.shape[0]
        return ctx.xp.asarray(ctx.xp.einsum("ii->", x))

    @staticmethod
    def backward(ctx, gy):
        return diag_embed(gy.expand(ctx.n))


def _cross_along(op: str, input: Tensor, other: Tensor, dim: int) -> Tensor:
    if input.ndim != other.ndim:
        raise ShapeError(f"{op}: inputs must have the same number of dimensions, got shapes {_shape(input)} and "
                         f"{_shape(other)}")
    d = dim % max(input.ndim, 1) if -input.ndim <= dim < input.ndim else None
    if d is None:
        raise IndexError(f"{op}: {dim_out_of_range(dim, input.ndim)}")
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise ShapeError(f"{op}: inputs dimension {dim} must have length 3. Got {input.shape[d]} and {other.shape[d]}")
    _require_same_dtype(op, input, other)

    def rolled(t: Tensor, order: list) -> Tensor:
        return t[(slice(None),) * d + (order,)]

    return rolled(input, [1, 2, 0]) * rolled(other, [2, 0, 1]) - rolled(input, [2, 0, 1]) * rolled(other, [1, 2, 0])


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Tensor | None = None) -> Tensor:
    """Cross product of 3-vectors along dim (the first dim of size 3 when None, as ``torch.cross``)."""
    if dim is None:
        dim = next((i for i, s in enumerate(input.shape) if s == 3), None)
        if dim is None:
            raise ShapeError(f"cross: no dimension of size 3 in input of shape {_shape(input)}")
    return write_out("cross", _cross_along("cross", input, other, dim), out)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """``torch.linalg.cross``: the cross product along dim (default the last), inputs broadcast."""
    return write_out("linalg.cross", _cross_along("linalg.cross", input, other, dim), out)


# Inverses, solves, determinants --------------------------------------------------------------------------


class Inverse(Op):
    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        try:
            y = xp.linalg.inv(a)
        except numpy.linalg.LinAlgError:  # CuPy raises NumPy's class too
            b, pivot = _first_singular(a)
            element = f"The diagonal element {pivot} is zero, the" if pivot else "The"
            raise LinAlgError(f"linalg.inv: {_batch_prefix(a.shape[:-2], b)}{element} inversion could not be completed "
                              "because the input matrix is singular.") from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        yt = y.mT
        return -(yt @ gy @ yt)


def linalg_inv(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inverse of each square matrix. With Y = A^-1: d/dA = -Y^T G Y^T."""
    _require_float("linalg.inv", A)
    _require_matrices("linalg.inv", A, square=True)
    return write_out("linalg.inv", Inverse.apply(A), out)


def inverse(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``torch.inverse``: as ``linalg.inv``."""
    return write_out("inverse", linalg_inv(input), out)


class Solve(Op):
    complex_ok = True

    @staticmethod
    def forward(ctx, a, b):
        xp = ctx.xp
        try:
            x = xp.linalg.solve(a, b)
        except numpy.linalg.LinAlgError:  # CuPy raises NumPy's class too
            batch = xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            index, _ = _first_singular(xp.broadcast_to(a, batch + a.shape[-2:]))
            raise LinAlgError(f"torch.linalg.solve: {_batch_prefix(batch, index)}The solver failed because the input "
                              "matrix is singular.") from None
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, gx):
        a, x = ctx.saved_tensors
        gb = _solve_matrix(conj_of(a.mT), gx)  # A^-H G (A^-T G for real A)
        ga = -(gb @ conj_of(x.mT)) if ctx.needs_input_grad[0] else None
        return ga, gb


def _solve_matrix(a: Tensor, b: Tensor) -> Tensor:
    return Solve.apply(a, b)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Tensor | None = None) -> Tensor:
    """X with A X = B (X A = B when left=False); B a batch of vectors (*, n) or matrices (*, n, k), batch
    dims broadcast, real or complex. d/dB = A^-H G, d/dA = -(A^-H G) X^H."""
    if A._array.dtype.kind != "c" or B._array.dtype.kind != "c":
        _require_float("linalg.solve", A, B)
    _require_matrices("linalg.solve", A, square=True)
    _require_same_dtype("linalg.solve", A, B)
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and _shape(B) == _shape(A)[:-1])
    rhs = B.unsqueeze(-1) if vector else B
    equation = "AX = B" if left else "XA = B"
    if rhs.ndim < 2 or rhs.shape[-2 if left else -1] != n:
        rows, cols = (rhs.shape[-2], rhs.shape[-1]) if rhs.ndim >= 2 else (rhs.shape[0], 1)
        raise ShapeError(f"linalg.solve: Incompatible shapes of A and B for the equation {equation} "
                         f"({n}x{n} and {rows}x{cols})")
    if left:
        x = _solve_matrix(A, rhs)
    else:
        x = _solve_matrix(A.mT, rhs.mT).mT
    return write_out("linalg.solve", x.squeeze(-1) if vector else x, out)


def _substitute(xp, t, b, upper: bool, unit: bool):
    """x with t x = b for triangular t (*, n, n) and b (*, n, k), batch dims broadcast: forward (lower)
    or back (upper) substitution, one row at a time over the whole batch. Only t's triangle is read (and
    not its diagonal when ``unit``); a zero on the diagonal gives inf and NaN, as PyTorch's."""
    n = t.shape[-1]
    batch = xp.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    t = xp.broadcast_to(t, batch + t.shape[-2:])
    b = xp.broadcast_to(b, batch + b.shape[-2:])
    x = xp.zeros(b.shape, dtype=xp.result_type(t, b))
    for i in (range(n - 1, -1, -1) if upper else range(n)):
        done = slice(i + 1, n) if upper else slice(0, i)
        row = b[..., i, :] - (t[..., i : i + 1, done] @ x[..., done, :])[..., 0, :]
        x[..., i, :] = row if unit else row / t[..., i, i, None]
    return x


class SolveTriangular(Op):
    @staticmethod
    def forward(ctx, a, b, upper=False, unitriangular=False):
        ctx.upper, ctx.unit = upper, unitriangular
        x = _substitute(ctx.xp, a, b, upper, unitriangular)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, gx):
        a, x = ctx.saved_tensors
        upper, unit = ctx.upper, ctx.unit
        gb = SolveTriangular.apply(a.mT, gx, upper=not upper, unitriangular=unit)  # A^-T G
        ga = None
        if ctx.needs_input_grad[0]:  # -(A^-T G) X^T on the triangle that was read
            full = -(gb @ x.mT)
            ga = full.triu(1 if unit else 0) if upper else full.tril(-1 if unit else 0)
        return ga, gb


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out: Tensor | None = None) -> Tensor:
    """X with A X = B (X A = B when left=False) for A triangular (upper or lower; its other triangle is
    not read, nor its diagonal when ``unitriangular``), batch dims broadcast. d/dB = A^-T G,
    d/dA = -(A^-T G) X^T on A's triangle."""
    op = "linalg.solve_triangular"
    _require_float(op, A, B)
    _require_matrices(op, A, square=True)
    _require_same_dtype(op, A, B)
    if B.ndim < 2:
        raise ShapeError(f"{op}: The input tensor B must have at least 2 dimensions, got shape {_shape(B)}.")
    n = A.shape[-1]
    if B.shape[-2 if left else -1] != n:
        raise ShapeError(f"{op}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                         f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    if left:
        x = SolveTriangular.apply(A, B, upper=upper, unitriangular=unitriangular)
    else:  # X A = B is A^T X^T = B^T, A^T triangular the other way up
        x = SolveTriangular.apply(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    return write_out(op, x, out)


class Det(Op):
    @staticmethod
    def forward(ctx, a):
        d = ctx.xp.linalg.det(a)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, gd):
        a, d = ctx.saved_tensors
        if a.shape[-1] == 0:
            return a * 0.0
        if bool(a._backend.xp.all(d._array != 0)):
            return (gd * d).unsqueeze(-1).unsqueeze(-1) * linalg_inv(a).mT
        return gd.unsqueeze(-1).unsqueeze(-1) * _cofactors(a)


def _cofactors(a: Tensor) -> Tensor:
    """The cofactor matrix (det(A) A^-T where A is invertible) of possibly singular matrices, from the SVD
    A = U S V^T: det(U) det(V) U diag(prod_{j != i} s_j) V^T (PyTorch's singular branch; no division)."""
    from .shape import stack

    xp, n = a._backend.xp, a.shape[-1]
    u, s, vh = linalg_svd(a, full_matrices=False)
    signs = xp.linalg.det(u._array) * xp.linalg.det(vh._array)
    products = []
    for i in range(n):
        others = [s[..., j] for j in range(n) if j != i]
        product = others[0] if others else s[..., 0] * 0.0 + 1.0
        for factor in others[1:]:
            product = product * factor
        products.append(product)
    cofactors = (u * stack(products, -1).unsqueeze(-2)) @ vh
    return cofactors * _constant(a, signs.astype(a._array.dtype)[..., None, None])


def linalg_det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Determinant of each square matrix. d/dA = g det(A) A^-T (the cofactor matrix, also at singular A)."""
    _require_float("linalg.det", A)
    _require_matrices("linalg.det", A, square=True)
    return write_out("linalg.det", Det.apply(A), out)


def det(input: Tensor) -> Tensor:
    """``torch.det``: as ``linalg.det``."""
    return linalg_det(input)


class SlogDet(Op):
    @staticmethod
    def forward(ctx, a):
        sign, logabs = ctx.xp.linalg.slogdet(a)
        ctx.sign, ctx.logabs = sign, logabs
        ctx.save_for_backward(a)
        ctx.mark_non_differentiable(sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        (a,) = ctx.saved_tensors
        if glog is None:
            return None
        g = glog.unsqueeze(-1).unsqueeze(-1)
        xp = a._backend.xp
        if bool(xp.all(ctx.sign != 0)):
            return g * linalg_inv(a).mT
        # Singular: the cofactors over det, inf and NaN where det = 0 (PyTorch gives inf/NaN there too).
        det = ctx.sign * xp.exp(ctx.logabs)
        return g * _cofactors(a) / _constant(a, det[..., None, None])


def linalg_slogdet(A: Tensor, *, out=None) -> SlogdetResult:
    """(sign, log|det|) of each square matrix. d log|det A| / dA = A^-T; sign has no gradient."""
    _require_float("linalg.slogdet", A)
    _require_matrices("linalg.slogdet", A, square=True)
    sign, logabs = SlogDet.apply(A)
    if out is not None:
        write_out("linalg.slogdet", sign, out[0])
        write_out("linalg.slogdet", logabs, out[1])
        return SlogdetResult(out[0], out[1])
    return SlogdetResult(sign, logabs)


def slogdet(input: Tensor) -> SlogdetResult:
    """``torch.slogdet``: as ``linalg.slogdet``."""
    return linalg_slogdet(input)


def logdet(input: Tensor) -> Tensor:
    """log det A: NaN where det < 0, -inf where det = 0. d/dA = A^-T."""
    _require_float("logdet", input)
    _require_matrices("logdet", input, square=True)
    sign, logabs = SlogDet.apply(input)
    from .elementwise import where

    return where(sign < 0, math.nan, logabs)


def linalg_matrix_power(A: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """A^n by repeated squaring (n < 0: the inverse's power; n = 0: the identity, gradient 0)."""
    _require_matrices("linalg.matrix_power", A, square=True)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        result = _ignored(A) + _eye(A, A.shape[-1])
    elif n == 1:
        result = A.clone()
    else:
        base = linalg_inv(A) if n < 0 else A
        result, k = None, abs(n)
        while k:
            if k & 1:
                result = base if result is None else result @ base
            k >>= 1
            if k:
                base = base @ base
    return write_out("linalg.matrix_power", result, out)


def matrix_power(input: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """``torch.matrix_power``: as ``linalg.matrix_power``."""
    return write_out("matrix_power", linalg_matrix_power(input, n), out)


class Cholesky(Op):
    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        try:
            low = xp.linalg.cholesky(a)
        except numpy.linalg.LinAlgError:  # CuPy raises NumPy's class too
            b, order = _failing_minor(a)
            raise LinAlgError(f"linalg.cholesky: {_batch_prefix(a.shape[:-2], b)}The factorization could not be "
                              "completed because the input is not positive-definite (the leading minor of order "
                              f"{order} is not positive-definite).") from None
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, gl):
        (low,) = ctx.saved_tensors
        # PyTorch's cholesky_backward: L^-T Phi(L^T gL) L^-1, Phi = lower triangle with halved diagonal,
        # then symmetrised (A is symmetric, so only its symmetric part has a gradient).
        inv = linalg_inv(low)
        phi = _tril_half_diag(low.mT @ gl)
        ga = inv.mT @ phi @ inv
        return (ga + ga.mT) * 0.5


def _failing_minor(a) -> tuple[int, int]:
    """The flat batch index of the first matrix that is not positive-definite, and the order of its first
    leading minor that is not (on the host, in a's dtype; on the error path only)."""
    host = numpy.asarray(a.get() if hasattr(a, "get") else a)
    mats = host.reshape((-1,) + host.shape[-2:])
    for b, m in enumerate(mats):
        for k in range(1, m.shape[0] + 1):
            try:
                numpy.linalg.cholesky(m[:k, :k])
            except numpy.linalg.LinAlgError:
                return b, k
    return 0, mats.shape[-1]


def linalg_cholesky(A: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    """L lower triangular with A = L L^T, from A's lower triangle; upper=True: U = L^T with A = U^T U, from
    A's upper triangle (as LAPACK's, and PyTorch's, potrf reads them)."""
    _require_float("linalg.cholesky", A)
    _require_matrices("linalg.cholesky", A, square=True)
    if upper:
        return write_out("linalg.cholesky", Cholesky.apply(A.mT).mT, out)
    return write_out("linalg.cholesky", Cholesky.apply(A), out)


def cholesky(input: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """``torch.cholesky`` (deprecated there, and here with the same warning): as ``linalg.cholesky``, upper
    positional."""
    warn_once("cholesky", "gg.cholesky is deprecated (as torch.cholesky) in favor of gg.linalg.cholesky; "
                          "cholesky(A, upper=True) is gg.linalg.cholesky(A).mH")
    return write_out("cholesky", linalg_cholesky(input, upper=upper), out)


class Pinv(Op):
    @staticmethod
    def forward(ctx, a, atol=None, rtol=None, hermitian=False):
        xp = ctx.xp
        if hermitian:
            w, v = xp.linalg.eigh(a)
            largest = xp.abs(w).max(axis=-1, keepdims=True) if w.shape[-1] else xp.zeros(w.shape[:-1] + (1,), w.dtype)
            cutoff = _cutoff(xp, largest, a.shape, atol, rtol, a.dtype)
            inv_w = xp.where(xp.abs(w) > cutoff, 1 / xp.where(w == 0, 1, w), 0).astype(a.dtype)
            p = (v * inv_w[..., None, :]) @ xp.swapaxes(v, -1, -2)
        else:
            u, s, vh = xp.linalg.svd(a, full_matrices=False)
            cutoff = _cutoff(xp, s[..., :1], a.shape, atol, rtol, a.dtype)
            inv_s = xp.where(s > cutoff, 1 / xp.where(s == 0, 1, s), 0).astype(a.dtype)
            p = (xp.swapaxes(vh, -1, -2) * inv_s[..., None, :]) @ xp.swapaxes(u, -1, -2)
        ctx.save_for_backward(a, p)
        return p

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.saved_tensors
        # PyTorch's pinv_backward (the derivative on matrices of constant rank), in its cheaper
        # arrangement for wide or tall A.
        m, n = a.shape[-2], a.shape[-1]
        ph, gh = p.mT, g.mT
        if m <= n:
            k = gh @ p
            kph = k @ ph
            return -(p @ k).mT + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
        k = p @ gh
        phk = ph @ k
        return -(k @ p).mT + (gh - a @ k) @ p @ ph + phk - phk @ p @ a


def _cutoff(xp, largest, shape, atol, rtol, dtype):
    """PyTorch's tolerance for small singular values: max(atol, rtol * largest); rtol defaults to
    eps * max(m, n) when neither is given and to 0 when only atol is."""
    if rtol is None:
        rtol = xp.finfo(dtype).eps * max(shape[-2], shape[-1]) if atol is None or _is_zero(atol) else 0.0
    atol = 0.0 if atol is None else atol
    return xp.maximum(xp.asarray(atol, dtype=dtype)[..., None] if hasattr(atol, "shape") else atol,
                      (xp.asarray(rtol)[..., None] if hasattr(rtol, "shape") else rtol) * largest)


def _is_zero(value) -> bool:
    return not hasattr(value, "shape") and value == 0


def _tolerance_arg(value):
    return value._array if isinstance(value, Tensor) else value


def linalg_pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, out: Tensor | None = None) -> Tensor:
    """Moore-Penrose pseudo-inverse; singular values at most max(atol, rtol * s_max) count as zero.
    The gradient is PyTorch's, valid where the rank does not change."""
    if A._array.dtype.kind not in FLOAT_KINDS or A.ndim < 2:
        raise DTypeError(f"linalg.pinv({A.dtype}{list(A.shape)}): expected a tensor with 2 or more dimensions of "
                         "float, double, cfloat or cdouble types")
    result = Pinv.apply(A, atol=_tolerance_arg(atol), rtol=_tolerance_arg(rtol), hermitian=hermitian)
    return write_out("linalg.pinv", result, out)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with rtol=rcond."""
    return linalg_pinv(input, rtol=rcond)


# Decompositions -----------------------------------------------------------------------------------------


class QR(Op):
    @staticmethod
    def forward(ctx, a, mode="reduced"):
        q, r = ctx.xp.linalg.qr(a, mode=mode)
        ctx.mode = mode
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("linalg.qr: The QR decomposition is not differentiable when mode='complete' and "
                               f"nrows > ncols (got {m} x {n})")
        if m >= n:
            return _qr_backward_tall(gq, gr, q, r)
        # Wide A = [X | Y], R = [U | V]: X = QU is square, Y = QV (PyTorch's reduction to the square case).
        gv = gr[..., :, m:] if gr is not None else None
        u = r[..., :, :m]
        y = (q @ r)[..., :, m:]
        gq_square = gq if gv is None else (y @ gv.mT if gq is None else gq + y @ gv.mT)
        gx = _qr_backward_tall(gq_square, gr[..., :, :m] if gr is not None else None, q, u)
        gy = q @ gv if gv is not None else _zeros_like(y)
        from .shape import cat

        return cat([gx, gy], -1)


def _zeros_like(t: Tensor) -> Tensor:
    return _constant(t, t._backend.xp.zeros(t.shape, dtype=t._array.dtype))


def _qr_backward_tall(gq, gr, q: Tensor, r: Tensor) -> Tensor:
    """m >= n: gA = [gQ + Q copyltu(M)] R^-T with M = R gR^T - gQ^T Q (copyltu: the lower triangle
    mirrored onto the upper)."""
    m_parts = []
    if gr is not None:
        m_parts.append(r @ gr.mT)
    if gq is not None:
        m_parts.append(-(gq.mT @ q))
    m_total = m_parts[0] if len(m_parts) == 1 else m_parts[0] + m_parts[1]
    low = _tril_half_diag(m_total)
    b = q @ (low + low.mT)
    if gq is not None:
        b = b + gq
    return _solve_matrix(r, b.mT).mT  # B R^-T


def linalg_qr(A: Tensor, mode: str = "reduced", *, out=None) -> QRResult:
    """A = QR, Q with orthonormal columns, R upper triangular. mode 'reduced' (Q is m x k), 'complete'
    (Q is m x m) or 'r' (R only; Q is empty and the result is not differentiable)."""
    _require_float("linalg.qr", A)
    _require_matrices("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                            "or 'complete'")
    if mode == "r":
        xp = A._backend.xp
        if is_grad_enabled() and A.requires_grad:
            r = _RFromQR.apply(A)
        else:
            r = _constant(A, xp.linalg.qr(A._array, mode="r").astype(A._array.dtype))
        result = QRResult(_constant(A, xp.zeros((0,), dtype=A._array.dtype)), r)
    else:
        result = QRResult(*QR.apply(A, mode=mode))
    if out is not None:
        for dst, src in zip(out, result):
            write_out("linalg.qr", src, dst)
        return QRResult(*out)
    return result


class _RFromQR(Op):
    """R of mode='r' recorded so that backward raises as PyTorch does (Q was not computed)."""

    name = "linalg_qr"

    @staticmethod
    def forward(ctx, a):
        return ctx.xp.linalg.qr(a, mode="r").astype(a.dtype)

    @staticmethod
    def backward(ctx, gr):
        raise RuntimeError("linalg.qr: The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                           "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                           "linalg.qr.")


def qr(input: Tensor, some: bool = True, *, out=None) -> QRResult:
    """``torch.qr`` (deprecated there, and here with the same warning): the reduced QR (some=True) or the
    complete one."""
    warn_once("qr", "gg.qr is deprecated (as torch.qr) in favor of gg.linalg.qr, which takes mode='reduced' "
                    "(some=True) or mode='complete' (some=False)")
    return linalg_qr(input, "reduced" if some else "complete", out=out)


class SVD(Op):
    @staticmethod
    def forward(ctx, a, full_matrices=True):
        u, s, vh = ctx.xp.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)
        # Unused outputs pass None, not zeros: the singular values alone (svdvals, the nuclear and 2-norms)
        # take U diag(gS) Vh, which has a value at repeated or zero singular values where the rest does not
        ctx.set_materialize_grads(False)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        m, n = u.shape[-2], vh.shape[-1]
        k = s.shape[-1]
        # Columns of U and rows of Vh beyond k do not depend on A smoothly: PyTorch ignores their gradients.
        if u.shape[-1] != k:
            u = u[..., :, :k]
            gu = gu[..., :, :k] if gu is not None else None
        if vh.shape[-2] != k:
            vh = vh[..., :k, :]
            gvh = gvh[..., :k, :] if gvh is not None else None
        return _svd_backward(gu, gs, gvh, u, s, vh, m, n)


def _svd_backward(gu, gs, gvh, u, s, vh, m: int, n: int) -> Tensor:
    """PyTorch's svd_backward for real matrices (distinct non-zero singular values)."""
    if gu is None and gvh is None:
        return (u * gs.unsqueeze(-2)) @ vh
    v = vh.mT
    s2 = s * s
    e = s2.unsqueeze(-2) - s2.unsqueeze(-1)  # E_ij = s_j^2 - s_i^2, with 1 on the diagonal
    e = e + _eye(e, s.shape[-1])
    ga = None
    if gu is not None:
        uhgu = u.mT @ gu
        uhgu = uhgu - uhgu.mT
        ga = uhgu * s.unsqueeze(-2)
    if gvh is not None:
        vhgv = v.mT @ gvh.mT
        vhgv = vhgv - vhgv.mT
        term = s.unsqueeze(-1) * vhgv
        ga = term if ga is None else ga + term
    ga = ga / e
    if gs is not None:
        ga = ga + diag_embed(gs)
    if m > n and gu is not None:
        ga = u @ ga
        gu_sinv = gu / s.unsqueeze(-2)
        ga = ga + gu_sinv - u @ (u.mT @ gu_sinv)
        return ga @ vh
    if m < n and gvh is not None:
        ga = ga @ vh
        sinv_gvh = gvh / s.unsqueeze(-1)
        ga = ga + sinv_gvh - (sinv_gvh @ v) @ vh
        return u @ ga
    return u @ ga @ vh


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None) -> SVDResult:
    """A = U diag(S) Vh, S descending. Gradients as PyTorch's (distinct singular values); with
    full_matrices the gradients of the extra columns of U and rows of Vh are ignored. ``driver`` (a
    cuSOLVER choice in PyTorch) is accepted and ignored."""
    _require_float("linalg.svd", A)
    _require_matrices("linalg.svd", A)
    result = SVDResult(*SVD.apply(A, full_matrices=full_matrices))
    if out is not None:
        for dst, src in zip(out, result):
            write_out("linalg.svd", src, dst)
        return SVDResult(*out)
    return result


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None) -> SVDLegacyResult:
    """``torch.svd``: (U, S, V) with V not transposed; some=True is the reduced SVD; compute_uv=False
    gives zero-filled U and V."""
    _require_float("svd", input)
    _require_matrices("svd", input)
    if not compute_uv:
        s = linalg_svdvals(input)
        xp, (m, n) = input._backend.xp, input.shape[-2:]
        batch = _shape(input)[:-2]
        zeros = lambda r, c: _constant(input, xp.zeros(batch + (r, c), dtype=input._array.dtype))  # noqa: E731
        return SVDLegacyResult(zeros(m, m), s, zeros(n, n))
    u, s, vh = linalg_svd(input, full_matrices=not some)
    result = SVDLegacyResult(u, s, vh.mT)
    if out is not None:
        for dst, src in zip(out, result):
            write_out("svd", src, dst)
        return SVDLegacyResult(*out)
    return result


def _records(t: Tensor) -> bool:
    return is_grad_enabled() and t.requires_grad


def linalg_svdvals(A: Tensor, *, driver=None, out: Tensor | None = None) -> Tensor:
    """The singular values, descending. d/dA = U diag(g) V^T. ``driver`` is accepted and ignored."""
    _require_float("linalg.svd", A)
    _require_matrices("linalg.svdvals", A)
    if _records(A):
        s = SVD.apply(A, full_matrices=False)[1]
    else:  # no gradient wanted: skip the singular vectors
        s = _constant(A, A._backend.xp.linalg.svd(A._array, compute_uv=False))
    return write_out("linalg.svdvals", s, out)


def _check_uplo(uplo: str) -> None:
    if uplo not in ("L", "U"):
        raise ArgumentError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")


class Eigh(Op):
    @staticmethod
    def forward(ctx, a, uplo="L"):
        w, v = ctx.xp.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v, a)
        # An output without a gradient arrives as None, not zeros: with gradients on the eigenvalues only
        # (eigvalsh, or eigh's eigenvectors unused) the backward is V diag(gw) V^T, finite for repeated
        # eigenvalues, where the eigenvector term's 0 / (w_j - w_i) would be NaN (PyTorch skips it too).
        ctx.materialize_grads = False
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v, a = ctx.saved_tensors
        if gv is None:
            if gw is None:
                return None
            return EighValuesBackward.apply(a, gw, w, v)
        # PyTorch's linalg_eig_backward, Hermitian case: project V^T gV onto the skew-symmetric matrices,
        # divide by E_ij = w_j - w_i off the diagonal, put gw on the diagonal.
        vtgv = v.mT @ gv
        skew = (vtgv - vtgv.mT) * 0.5
        e = w.unsqueeze(-2) - w.unsqueeze(-1)
        e = e + _eye(e, w.shape[-1])
        inner = skew / e
        if gw is not None:
            inner = inner + diag_embed(gw)
        return v @ inner @ v.mT


class EighValuesBackward(Op):
    """Eigh's backward with gradients on the eigenvalues only, V diag(gw) V^T, as an op of A and gw (w and V,
    Eigh's outputs, ride along as inputs without gradients) so that its own derivative is the exact one,
    also where eigenvalues repeat. Through V, d(V diag(gw) V^T) = V (K o V^T dA V) V^T with the divided
    differences K_ij = (gw_i - gw_j) / (w_i - w_j): 0 where gw_i = gw_j (the diagonal; a repeated
    eigenvalue whose copies get the same gradient, as any function of the eigenvalue set gives them),
    where going through Eigh's eigenvector backward would divide rounding noise by w_j - w_i ~ 1e-16."""

    @staticmethod
    def forward(ctx, a, gw, w, v):
        ctx.save_for_backward(gw, w, v)
        return (v * gw[..., None, :]) @ ctx.xp.swapaxes(v, -1, -2)

    @staticmethod
    def backward(ctx, gf):
        gw, w, v = ctx.saved_tensors
        s = v.mT @ ((gf + gf.mT) * 0.5) @ v
        dg = gw.unsqueeze(-1) - gw.unsqueeze(-2)
        dw = w.unsqueeze(-1) - w.unsqueeze(-2)
        k = dg / dw.masked_fill(dg == 0, 1.0)  # 0 where dg is, without a 0 / 0
        return v @ (k * s) @ v.mT, s.diagonal(0, -2, -1), None, None


def linalg_eigh(A: Tensor, UPLO: str = "L", *, out=None) -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, from the lower
    (UPLO='L') or upper triangle. Gradients as PyTorch's (distinct eigenvalues)."""
    _require_float("linalg.eigh", A)
    _require_matrices("linalg.eigh", A, square=True)
    _check_uplo(UPLO)
    result = EighResult(*Eigh.apply(A, uplo=UPLO))
    if out is not None:
        for dst, src in zip(out, result):
            write_out("linalg.eigh", src, dst)
        return EighResult(*out)
    return result


def linalg_eigvalsh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    """The eigenvalues of symmetric matrices, ascending. d/dA = V diag(g) V^T."""
    _require_float("linalg.eigvalsh", A)
    _require_matrices("linalg.eigvalsh", A, square=True)
    _check_uplo(UPLO)
    if _records(A):
        w = Eigh.apply(A, uplo=UPLO)[0]
    else:
        w = _constant(A, A._backend.xp.linalg.eigvalsh(A._array, UPLO=UPLO))
    return write_out("linalg.eigvalsh", w, out)


class Eig(Op):
    """Eigenvalues and eigenvectors of square matrices, complex (LAPACK's geev, on the host: CuPy has no
    general eigensolver, and PyTorch too runs it on the CPU); each eigenvector of unit norm."""

    complex_ok = True

    @staticmethod
    def forward(ctx, a):
        backend = ctx.backend
        w, v = numpy.linalg.eig(backend.to_numpy(a, "linalg.eig"))
        complex_dtype = numpy.result_type(a.dtype, numpy.complex64)
        w, v = backend.asarray(w.astype(complex_dtype)), backend.asarray(v.astype(complex_dtype))
        ctx.save_for_backward(w, v)
        ctx.materialize_grads = False  # eigvals' backward is the one without gV
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        # PyTorch's linalg_eig_backward: gA = V^-H (gL on the diagonal, off it the projected V^H gV divided
        # by conj(L_j - L_i)) V^H. A loss that depends on the eigenvectors' phase has no gradient.
        w, v = ctx.saved_tensors
        vh = v.mH
        if gv is None:
            return solve(vh, gw.unsqueeze(-1) * vh)
        vhgv = vh @ gv
        diagonal = vhgv.diagonal(0, -2, -1)
        if bool((diagonal.imag.abs() > 1e-2 * (1.0 + diagonal.abs())).any()):
            raise RuntimeError("linalg.eig: the eigenvectors of a matrix are defined up to a phase, and the loss depends "
                               "on that phase, so it has no gradient; make the loss depend on |V| or on V V^-1 terms")
        vhgv = vhgv - vh @ (v * diagonal.real.unsqueeze(-2))
        wc = w.conj()
        e = wc.unsqueeze(-2) - wc.unsqueeze(-1) + _eye(w.real, w.shape[-1])
        inner = vhgv / e
        inner = inner - diag_embed(inner.diagonal(0, -2, -1))
        if gw is not None:
            inner = inner + diag_embed(gw)
        return solve(vh, inner @ vh)


def linalg_eig(A: Tensor, *, out=None) -> EigResult:
    """Eigenvalues and unit eigenvectors of square matrices, complex whatever A's dtype (complex64 for
    float32). Gradients as PyTorch's (distinct eigenvalues; the loss must not depend on the eigenvectors'
    phase, which is arbitrary)."""
    _require_matrices("linalg.eig", A, square=True)
    if A._array.dtype.kind != "c":
        _require_float("linalg.eig", A)
    result = EigResult(*Eig.apply(A))
    if out is not None:
        for dst, src in zip(out, result):
            write_out("linalg.eig", src, dst)
        return EigResult(*out)
    return result


def linalg_eigvals(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The eigenvalues of square matrices, complex. d/dA = V^-H diag(g) V^H."""
    _require_matrices("linalg.eigvals", A, square=True)
    if A._array.dtype.kind != "c":
        _require_float("linalg.eigvals", A)
    if _records(A):
        w = Eig.apply(A)[0]
    else:
        host = numpy.linalg.eigvals(A._backend.to_numpy(A._array, "linalg.eigvals"))
        w = _constant(A, A._backend.asarray(host.astype(numpy.result_type(A._array.dtype, numpy.complex64))))
    return write_out("linalg.eigvals", w, out)


def linalg_matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False,
                       out: Tensor | None = None) -> Tensor:
    """The number of singular values above max(atol, rtol * s_max) (int64; not differentiable)."""
    if A._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError("linalg.matrix_rank: This function doesn't handle types other than float and double "
                         f"(got {A.dtype})")
    _require_matrices("linalg.matrix_rank", A)
    xp = A._backend.xp
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(A._array))
        largest = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
    else:
        s = xp.linalg.svd(A._array, compute_uv=False)
        largest = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
    cutoff = _cutoff(xp, largest, A.shape, _tolerance_arg(atol), _tolerance_arg(rtol), A._array.dtype)
    rank = (s > cutoff).sum(axis=-1).astype(xp.int64)
    return write_out("linalg.matrix_rank", _constant(A, xp.asarray(rank)), out)


# Norms -------------------------------------------------------------------------------------------------


class VectorNorm(Op):
    @staticmethod
    def forward(ctx, x, ord=2.0, axes=None, keepdim=False):
        xp = ctx.xp
        a = x if ord == 2 else xp.abs(x)  # x is real (vector_norm takes a complex input's moduli): x^2 = |x|^2
        if ord == math.inf:
            y = a.max(axis=axes, keepdims=True)
        elif ord == -math.inf:
            y = a.min(axis=axes, keepdims=True)
        elif ord == 0:
            y = (a != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif ord == 1:
            y = a.sum(axis=axes, keepdims=True)
        elif ord == 2:
            y = xp.sqrt(ctx.backend.sum_of_squares(a, axes, True))
        else:
            y = (a**ord).sum(axis=axes, keepdims=True) ** (1.0 / ord)  # 0 ** negative ord is inf, as the norm should be
        y = c_order(y)  # PyTorch's norms are contiguous whatever x's layout
        ctx.ord, ctx.axes, ctx.keepdim = ord, axes, keepdim
        out = y if keepdim else y.reshape([s for i, s in enumerate(y.shape) if axes is not None and i not in axes])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        shape = _shape(x)
        if not ctx.keepdim:
            kept = [1 if ctx.axes is None or i in ctx.axes else s for i, s in enumerate(shape)]
            gy, y = gy.reshape(kept), y.reshape(kept)
        return _norm_backward(gy, x, ctx.ord, y, ctx.axes)


def _norm_backward(g: Tensor, x: Tensor, p: float, norm: Tensor, axes) -> Tensor:
    """PyTorch's norm_backward, with keepdim-shaped g and norm; where it masks a division by zero the
    denominator is made safe first, so that the masked branch has no NaN in its own derivative either."""
    from .elementwise import logical_or, where

    if p == 0:
        return None  # the count of non-zeros is piecewise constant; PyTorch leaves the gradient undefined
    zero = norm == 0
    safe = where(zero, 1.0, norm)
    if p == 2:
        scaled = x / safe
        # the mask's full pass only where some norm is 0 (on a GPU always: no sync in backward)
        if x._backend.xp is not numpy or bool(zero._array.any()):
            scaled = where(zero, 0.0, scaled)
        return g * scaled
    sgn = where(x.isnan(), 0.0, x.sign())  # PyTorch's sgn(NaN) is 0
    if p == 1:
        return sgn * g
    if math.isinf(p):
        mask = logical_or(x.abs() == norm, x.isnan()).to(x.dtype)
        return sgn * ((g / mask.sum(axes, keepdim=True)) * mask)
    ax = x.abs()
    if p < 1:
        nonzero = x != 0
        powered = where(nonzero, where(nonzero, ax, 1.0) ** (p - 1), 0.0)
        return sgn * powered * g * norm ** (1 - p)
    if p < 2:
        scale = where(zero, 0.0, g / safe ** (p - 1))
        return sgn * ax ** (p - 1) * scale
    scale = where(zero, 0.0, g / safe ** (p - 1))
    return x * ax ** (p - 2) * scale


def _norm_dims(op: str, dim, ndim: int):
    axes = distinct_dims(op, dim, ndim)
    return axes if axes or ndim == 0 else None  # dim=() means every dim, as in PyTorch


def _with_dtype(x: Tensor, dtype) -> Tensor:
    return x if dtype is None else x.to(dtype)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out: Tensor | None = None) -> Tensor:
    """(sum |x_i|^ord)^(1/ord) over dim (all dims when None); ord inf/-inf: max/min |x_i|; ord 0: the
    number of non-zeros. Gradients as PyTorch's: 0 at the zero vector for ord 2, the maxima share it for inf."""
    if x._array.dtype.kind == "c":  # the norm of the moduli, as PyTorch's
        x = x.abs()
    _require_float("linalg.vector_norm", x)
    if isinstance(ord, str) or isinstance(ord, bool):
        raise ArgumentError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    ord = float(ord)
    axes = _norm_dims("linalg.vector_norm", dim, x.ndim)
    if x.ndim == 0:
        axes = None
    x = _with_dtype(x, dtype)
    reduced = [x.shape[i] for i in (axes if axes is not None else range(x.ndim))]
    if (ord < 0 or math.isinf(ord)) and 0 in reduced:
        name = {math.inf: "inf", -math.inf: "-inf"}.get(ord, f"{ord:g}")
        raise ArgumentError(f"linalg.vector_norm cannot compute the {name} norm on an empty tensor because the "
                            f"operation does not have an identity (shape {_shape(x)})")
    result = VectorNorm.apply(x, ord=ord, axes=axes, keepdim=keepdim)
    return write_out("linalg.vector_norm", result, out)


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


class ExtremeLast(Op):
    """max (or min) over the last dim whose gradient ties share evenly, as PyTorch's amax/amin."""

    @staticmethod
    def forward(ctx, x, largest=True):
        y = x.max(axis=-1) if largest else x.min(axis=-1)
        mask = (x == y[..., None]).astype(x.dtype)
        ctx.save_for_backward(mask / mask.sum(axis=-1, keepdims=True))
        return y

    @staticmethod
    def backward(ctx, gy):
        (share,) = ctx.saved_tensors
        return gy.unsqueeze(-1) * share


def _amax(x: Tensor) -> Tensor:
    if x.shape[-1] == 0:  # a norm of an empty matrix is 0, as in PyTorch
        return x.sum(-1)
    return ExtremeLast.apply(x, largest=True)


def _amin(x: Tensor) -> Tensor:
    if x.shape[-1] == 0:
        raise ShapeError(f"linalg.matrix_norm: the minimum over an empty dimension (shape {_shape(x)}) has no value")
    return ExtremeLast.apply(x, largest=False)


def _matrix_norm_last(a: Tensor, ord) -> Tensor:
    """The matrix norm over the last two dims (no keepdim)."""
    if ord == "fro":
        return vector_norm(a, 2, (-2, -1))
    if ord == "nuc":
        return linalg_svdvals(a).sum(-1)
    if ord in (2, -2):
        s = linalg_svdvals(a)
        return _amax(s) if ord == 2 else _amin(s)
    sums = a.abs().sum(-2 if ord in (1, -1) else -1)
    return _amax(sums) if ord > 0 else _amin(sums)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out: Tensor | None = None) -> Tensor:
    """Matrix norms over the two dims in dim: 'fro', 'nuc' (sum of singular values), 2 / -2 (largest /
    smallest singular value), 1 / -1 (max / min column abs sum), inf / -inf (max / min row abs sum).
    A complex A takes the norms of its moduli ('fro', 1, -1, inf, -inf) and is refused for the singular
    value norms ('nuc', 2, -2: gpugrad's SVD is real only)."""
    if A._array.dtype.kind == "c":
        if ord in ("nuc", 2, -2):
            raise DTypeError(f"linalg.matrix_norm: ord={ord!r} needs the singular values of a complex matrix, which "
                             f"gpugrad does not compute (its SVD is real only); got {A.dtype}")
    else:
        _require_float("linalg.matrix_norm", A)
    if A.ndim < 2:
        raise ShapeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got shape "
                         f"{_shape(A)}.")
    if isinstance(ord, float) and not math.isinf(ord) and ord == int(ord):
        ord = int(ord)
    if ord not in _MATRIX_ORDS:
        raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2:
        raise ArgumentError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}")
    d0, d1 = _norm_dims("linalg.matrix_norm", dims, A.ndim)
    A = _with_dtype(A, dtype)
    rest = [i for i in range(A.ndim) if i not in (d0, d1)]
    result = _matrix_norm_last(A.permute(rest + [d0, d1]), ord)
    if keepdim:
        for d in sorted((d0, d1)):
            result = result.unsqueeze(d)
    return write_out("linalg.matrix_norm", result, out)


def linalg_norm(input: Tensor, ord=None, dim=None, keepdim: bool = False, *, out: Tensor | None = None,
                dtype=None) -> Tensor:
    """``torch.linalg.norm``: a matrix norm when ord is a string or dim has two entries (or ord is given for a
    2-D input without dim), a vector norm otherwise; without ord, the 2-norm of the flattened input. A complex
    input's norm is real, as PyTorch's (the norm of the moduli)."""
    if input._array.dtype.kind != "c":
        _require_float("linalg.norm", input)
    dims = None if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if dims is not None and len(dims) not in (1, 2):
        raise ArgumentError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if dims is None and ord is not None and input.ndim not in (1, 2):
        raise ShapeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                         f"Got {input.ndim}D.")
    matrix = isinstance(ord, str) or (dims is not None and len(dims) == 2 and ord is not None) or (
        dims is None and ord is not None and input.ndim == 2)
    if matrix:
        result = matrix_norm(input, ord, dims if dims is not None else (-2, -1), keepdim, dtype=dtype)
    else:
        result = vector_norm(input, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    return write_out("linalg.norm", result, out)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out: Tensor | None = None, dtype=None) -> Tensor:
    """``torch.norm``: p='fro' is the 2-norm over dim (all dims when None) or the Frobenius norm of a pair of
    dims; p='nuc' the nuclear norm; a number p the vector p-norm over dim (any number of dims)."""
    dims = None if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if p == "fro" and (dims is None or len(dims) <= 2):
        result = vector_norm(input, 2, dims, keepdim, dtype=dtype)
    elif isinstance(p, str):
        result = matrix_norm(input, p, dims if dims is not None else tuple(range(input.ndim)), keepdim, dtype=dtype)
    else:
        result = vector_norm(input, 2 if p is None else p, dims, keepdim, dtype=dtype)
    return write_out("norm", result, out)


@autocast_policy(LOWER_PRECISION)
def inner(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Sums of products over the last dim of each (a 0-d argument scales the other)."""
    if input.ndim == 0 or other.ndim == 0:
        return write_out("inner", input * other, out)
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(f"inner: last dimensions must match, got shapes {tuple(input.shape)} and {tuple(other.shape)}")
    return write_out("inner", tensordot(input, other, dims=([-1], [-1])), out)


def vdot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inner product of two vectors, the first conjugated: sum(conj(input) * other)."""
    if input.ndim != 1 or other.ndim != 1:
        raise ShapeError(f"vdot: expects 1-D tensors, got shapes {tuple(input.shape)} and {tuple(other.shape)}")
    return write_out("vdot", matmul(conj_of(input), other), out)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast), as one number."""
    return vector_norm(input - other, p)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of an (N, M) tensor, pair (i, j) for i < j in row-major order:
    N (N - 1) / 2 of them. The gradient at a zero distance is 0, as PyTorch's."""
    if input.ndim != 2:
        raise ShapeError(f"pdist: only supports 2-D tensors, got shape {tuple(input.shape)}")
    if p < 0:
        raise ArgumentError(f"pdist: only supports non-negative p values, got {p}")
    from ..factory import triu_indices

    first, second = triu_indices(input.shape[0], input.shape[0], 1, device=input.device)
    return vector_norm(input[first] - input[second], p, dim=-1)


class EuclideanDist(Op):
    """PyTorch's ``_euclidean_dist``: the distances between the rows of x1 (..., P, M) and x2 (..., R, M),
    one batch shape, as sqrt(max(|a|^2 - 2 a.b + |b|^2, 0)) from one matrix product of [-2 x1, |x1|^2, 1]
    and [x2, 1, |x2|^2]. Where rows nearly coincide the difference cancels (PyTorch's values, which
    libraries compare with); its gradient is PyTorch's too, 0 where the distance is 0."""

    @staticmethod
    def forward(ctx, x1, x2):
        xp = ctx.xp
        norms1 = (x1 * x1).sum(axis=-1, keepdims=True)
        norms2 = (x2 * x2).sum(axis=-1, keepdims=True)
        left = xp.concatenate([x1 * -2, norms1, xp.ones_like(norms1)], axis=-1)
        right = xp.concatenate([x2, xp.ones_like(norms2), norms2], axis=-1)
        y = xp.sqrt(xp.maximum(ctx.backend.matmul(left, xp.swapaxes(right, -1, -2)), 0))  # NaN stays NaN
        ctx.save_for_backward(x1, x2, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        from .elementwise import where

        x1, x2, dist = ctx.saved_tensors
        zero = dist == 0
        ratio = where(zero, 0.0, gy / where(zero, 1.0, dist))
        g1 = x1 * ratio.sum(dim=-1, keepdim=True) - ratio @ x2 if ctx.needs_input_grad[0] else None
        g2 = x2 * ratio.sum(dim=-2).unsqueeze(-1) - ratio.mT @ x1 if ctx.needs_input_grad[1] else None
        return g1, g2


_CDIST_MODES = {None: 0, "use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1,
                "donot_use_mm_for_euclid_dist": 2}


@autocast_policy(FLOAT32)
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M): (..., P, R).
    For p = 2 with more than 25 rows on either side (or ``compute_mode="use_mm_for_euclid_dist"``), from a
    matrix product as PyTorch's (EuclideanDist); else from the differences. The gradient at a zero distance
    is 0, as PyTorch's."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise ShapeError(f"cdist: expects at least 2-D inputs, got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: x1 and x2 must have the same number of columns, got shapes {tuple(x1.shape)} "
                         f"and {tuple(x2.shape)}")
    if p < 0:
        raise ArgumentError(f"cdist: only supports non-negative p values, got {p}")
    mode = _CDIST_MODES.get(compute_mode)
    if mode is None:
        raise ArgumentError(f"cdist: {compute_mode} is not a valid value for compute_mode")
    if p == 2 and (mode == 1 or mode == 0 and (x1.shape[-2] > 25 or x2.shape[-2] > 25)):
        _require_float("cdist", x1, x2)
        batch = tuple(numpy.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2])))
        x1 = x1.expand(*batch, *x1.shape[-2:])
        x2 = x2.expand(*batch, *x2.shape[-2:])
        return EuclideanDist.apply(x1, x2)
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, dim=-1)


class CholeskySolve(Op):
    """X = (L L^T)^-1 B (L = U^T when ``upper``): two substitutions. Its gradient in the factor is PyTorch's,
    the one of X as a function of the whole matrix L (through L L^T), not cut to the triangle read:
    gB = (L L^T)^-1 gX, C = gB X^T + X gB^T, gL = -C L (lower) or -U C (upper)."""

    @staticmethod
    def forward(ctx, b, factor, upper=False):
        ctx.upper = upper
        xp = ctx.xp
        lower = xp.swapaxes(factor, -1, -2) if upper else factor
        x = _substitute(xp, xp.swapaxes(lower, -1, -2), _substitute(xp, lower, b, False, False), True, False)
        ctx.save_for_backward(factor, x)
        return x

    @staticmethod
    def backward(ctx, gx):
        factor, x = ctx.saved_tensors
        gb = CholeskySolve.apply(gx, factor, upper=ctx.upper)
        gfactor = None
        if ctx.needs_input_grad[1]:
            c = gb @ x.mT
            c = c + c.mT
            gfactor = -(factor @ c) if ctx.upper else -(c @ factor)
        return gb, gfactor


def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """X with (L L^T) X = B (U^T U X = B when ``upper``), from the Cholesky factor (only its triangle is
    read), batch dims broadcast. Differentiable in both, in L as PyTorch's: not cut to the triangle."""
    op = "cholesky_solve"
    _require_float(op, B, L)
    if B.ndim < 2:
        raise ShapeError(f"{op}: b should have at least 2 dimensions, but has {B.ndim} dimensions instead")
    _require_matrices(op, L, square=True)
    _require_same_dtype(op, B, L)
    if B.shape[-2] != L.shape[-1]:
        raise ShapeError(f"{op}: Incompatible matrix sizes for cholesky_solve: each A matrix is {L.shape[-1]} by "
                         f"{L.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    return write_out(op, CholeskySolve.apply(B, L, upper=bool(upper)), out)


def cholesky_inverse(L: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """(L L^T)^-1 (or (U^T U)^-1) from the Cholesky factor."""
    _require_matrices("cholesky_inverse", L, square=True)
    eye = _constant(L, L._backend.xp.eye(L.shape[-1], dtype=L._array.dtype))
    return write_out("cholesky_inverse", cholesky_solve(eye, L, upper), out)


LstsqResult = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def linalg_lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> LstsqResult:
    """The least-squares solution X of A X = B (the minimum-norm one, A^+ B, where A has not full rank),
    as PyTorch's named tuple: ``residuals`` (the squared residual norms, for a tall full-rank A and the
    drivers other than gelsy, the default; else empty), ``rank`` (but for gels) and ``singular_values``
    (gelsd and gelss). B may be a batch of vectors. Differentiable through the pseudo-inverse."""
    op = "linalg.lstsq"
    _require_float(op, A, B)
    _require_matrices(op, A)
    _require_same_dtype(op, A, B)
    if driver is not None and driver not in _LSTSQ_DRIVERS:
        raise ArgumentError(f"{op}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), got {driver}")
    driver = driver or "gelsy"
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != A.shape[-2]:
        raise ShapeError(f"{op}: input.size(-2) should match other.size(-2), got {_shape(A)} and {_shape(B)}")
    solution = linalg_pinv(A, rtol=rcond) @ rhs
    xp, backend = A._backend.xp, A._backend
    empty = Tensor._make(xp.zeros((0,), dtype=A._array.dtype), backend)
    m, n = A.shape[-2], A.shape[-1]
    rank = linalg_matrix_rank(A, rtol=rcond) if driver != "gels" else Tensor._make(xp.zeros((0,), xp.int64), backend)
    residuals = empty
    if driver != "gelsy" and m > n and bool((linalg_matrix_rank(A) == n).all()):
        residuals = (A @ solution - rhs).pow(2).sum(-2)  # (*, k): a vector B keeps its k = 1, as PyTorch's
    singular_values = linalg_svdvals(A) if driver in ("gelsd", "gelss") else empty
    return LstsqResult(solution.squeeze(-1) if vector else solution, residuals, rank, singular_values)


# Pade (13, 13) coefficients and the 1-norm below which they reach float64 accuracy (Higham, "The scaling
# and squaring method for the matrix exponential revisited", 2005).
_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def linalg_matrix_exp(A: Tensor) -> Tensor:
    """e^A of square matrices by scaling and squaring: A / 2^s to 1-norm under theta_13, its Pade (13, 13)
    approximant (one solve), squared s times; s is one for the batch (its largest). Made of matmul and
    solve, so differentiable."""
    op = "linalg.matrix_exp"
    _require_float(op, A)
    _require_matrices(op, A, square=True)
    n = A.shape[-1]
    if A.numel() == 0:
        return A.clone()
    norm = float(A._backend.to_numpy(A._array, op).astype(numpy.float64).__abs__().sum(-2).max())
    s = max(0, math.ceil(math.log2(norm / _THETA13))) if norm > _THETA13 else 0
    x = A / 2.0**s if s else A
    b = _PADE13
    eye = _constant(A, A._backend.xp.eye(n, dtype=A._array.dtype))
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    result = _solve_matrix(v - u, v + u)
    for _ in range(s):
        result = result @ result
    return result


def matrix_exp(input: Tensor) -> Tensor:
    """Alias of ``linalg.matrix_exp`` (``torch.matrix_exp``)."""
    return linalg_matrix_exp(input)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float, *, out: Tensor | None = None) -> Tensor:
    """Each slice ``input.select(dim, i)`` whose p-norm exceeds ``maxnorm`` scaled down to it (by
    maxnorm / (norm + 1e-7), as PyTorch); the others as they are. Differentiable, norms included."""
    if input._array.dtype.kind not in FLOAT_KINDS:
        raise DTypeError(f"renorm: expected a floating point tensor, got {input.dtype}")
    if p <= 0:
        raise ArgumentError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise ArgumentError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    from .elementwise import where

    (axis,) = normalize_dims("renorm", dim, input.ndim)
    others = tuple(d for d in range(input.ndim) if d != axis)
    norms = vector_norm(input, p, dim=others, keepdim=True) if others else input.abs()
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return write_out("renorm", input * factor, out)


# What this family exports; gpugrad.ops gathers it.
FUNCTIONS = (
    matmul, dot, mm, bmm, mv, outer, ger, addmm, addmv, addr, baddbmm, einsum, tensordot, kron, cross, trace,
    det, logdet, slogdet, inverse, cholesky, qr, svd, matrix_power, pinverse, norm, inner, dist, cdist, vdot,
    addbmm, pdist, renorm, matrix_exp, cholesky_solve, cholesky_inverse,
)
_LINALG_ONLY = (
    linalg_inv, solve, linalg_cholesky, linalg_qr, linalg_svd, linalg_svdvals, linalg_eigh, linalg_eigvalsh,
    linalg_eig, linalg_eigvals, linalg_det, linalg_slogdet, linalg_matrix_power, linalg_pinv, linalg_norm, vector_norm, matrix_norm, vecdot,
    linalg_cross, solve_triangular, linalg_matrix_exp, linalg_lstsq,
)
DIFFERENTIABLE = FUNCTIONS + _LINALG_ONLY
_TENSOR_METHODS = (
    matmul, dot, mm, bmm, mv, outer, ger, addmm, addmv, addr, baddbmm, kron, cross, trace, det, logdet, slogdet,
    inverse, cholesky, qr, svd, matrix_power, pinverse, norm, inner, dist, vdot, addbmm, renorm, matrix_exp,
    cholesky_solve, cholesky_inverse,
)
METHODS = {f.__name__: f for f in _TENSOR_METHODS}
METHODS.update({"mT": property(mT), "__matmul__": foreign_operand_to_python(matmul),
                "__rmatmul__": foreign_operand_to_python(reflected(matmul))})


def mH(x: Tensor) -> Tensor:
    """The conjugate transpose of each matrix (the transpose, for real tensors)."""
    return conj_of(mT(x))


def _matrix_transpose(x: Tensor) -> Tensor:
    """``x.H``: the conjugate transpose of a matrix."""
    if x.ndim != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {x.ndim}-D tensor.")
    return mH(x)


METHODS.update({"H": property(_matrix_transpose), "adjoint": mH, "mH": property(mH)})
INPLACE = (addmm, addmv, addr, baddbmm, addbmm, renorm)
