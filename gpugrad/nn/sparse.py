"""Embedding and EmbeddingBag, the helpers behind their max_norm and scale_grad_by_freq options, and
embedding's sparse gradient (``sparse=True``: a sparse COO tensor with one row per lookup)."""
from __future__ import annotations

from .. import factory
from .. import linalg
from ..autograd.function import Op
from ..autograd.grad_mode import no_grad
from ..autograd.watch import state as _watch
from . import _expanded_weights as _ew
from ..errors import DTypeError, ShapeError
from ..kernels import embedding as kembedding
from ..sparse.coo import SparseTensor
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


__all__ = ["Embedding", "EmbeddingBag"]


def _check_indices(op: str, input: Tensor, weight: Tensor) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: weight must be a Tensor, got {type(weight).__name__}")
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor of indices, got {type(input).__name__}")
    if input._array.dtype.kind not in "iu":
        raise DTypeError(f"{op}: expected indices of dtype int64, got {input.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}")
    idx, num = input._array, weight.shape[0]
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= num:
            bad = low if low < 0 else high
            raise IndexError(f"{op}: index {bad} is out of range for num_embeddings={num} (valid: 0..{num - 1})")


def embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Rescale, in place and outside autograd, each row of ``weight`` that ``input`` looks up and whose
    ``norm_type``-norm exceeds ``max_norm`` to norm max_norm (times max_norm / (norm + 1e-7), as
    PyTorch's embedding_renorm_). Rows not looked up are left alone. Returns ``weight``."""
    _check_indices("embedding", input, weight)
    xp = input._backend.xp
    rows = xp.unique(input._array.reshape(-1))
    if rows.size == 0:
        return weight
    with no_grad():
        picked = Tensor._make(weight._array[rows], weight._backend)
        norms = linalg.vector_norm(picked, ord=norm_type, dim=1)._array
        dtype = weight._array.dtype.type
        scale = xp.where(norms > max_norm, dtype(max_norm) / (norms + dtype(1e-7)), dtype(1.0)).astype(weight._array.dtype)
        weight[Tensor._make(rows, input._backend)] = Tensor._make(picked._array * scale[:, None], weight._backend)
    return weight


class _ScaleGrad(Op):
    """The identity forward; backward multiplies the gradient by a constant factor array (broadcast)."""

    @staticmethod
    def forward(ctx, x, factor=None):
        ctx.factor = factor
        return x.copy()

    @staticmethod
    def backward(ctx, gy):
        return gy * Tensor._make(ctx.factor, gy._backend)


def embedding_scale_grad_by_freq(out: Tensor, input: Tensor) -> Tensor:
    """``out`` (the looked-up rows, input.shape + (dim,)) unchanged, with the gradient of each position
    divided by how often its index occurs in ``input``, so that a row's gradient is the mean rather than
    the sum over its occurrences in the mini-batch (PyTorch's scale_grad_by_freq)."""
    xp = input._backend.xp
    flat = input._array.reshape(-1)
    if flat.size == 0:
        return out
    _, inverse, counts = xp.unique(flat, return_inverse=True, return_counts=True)
    factor = (1.0 / counts[inverse.reshape(-1)]).astype(out._array.dtype).reshape(tuple(input.shape) + (1,))
    return _ScaleGrad.apply(out, factor=factor)


class EmbeddingLookup(Op):
    """weight[ids]: rows of weight (num, dim) for int ids of any shape. Its backward is EmbeddingBackward,
    the deterministic scatter-add kernel; ``padding_idx`` (-1: none) gets no gradient and
    ``scale_grad_by_freq`` divides each row's gradient by the id's count in ``ids``."""

    name = "embedding"

    @staticmethod
    def forward(ctx, weight, ids=None, padding_idx=-1, scale_grad_by_freq=False):
        ctx.ids, ctx.num, ctx.padding_idx, ctx.scale = ids, weight.shape[0], padding_idx, scale_grad_by_freq
        return weight[ids]

    @staticmethod
    def backward(ctx, gy):
        return EmbeddingBackward.apply(gy, ids=ctx.ids, num=ctx.num, padding_idx=ctx.padding_idx,
                                       scale_grad_by_freq=ctx.scale)


class EmbeddingBackward(Op):
    """gweight (num, dim) from gy (ids.shape + (dim,)): kernels.embedding's scatter-add (sorted ids, one
    owner per row: the same bits on any thread count). Linear in gy; its own backward gathers the rows
    back (times the padding and frequency factors), itself an EmbeddingLookup: every order differentiates."""

    name = "embedding_backward"

    @staticmethod
    def forward(ctx, gy, ids=None, num=0, padding_idx=-1, scale_grad_by_freq=False):
        ctx.ids, ctx.padding_idx, ctx.scale = ids, padding_idx, scale_grad_by_freq
        dim = gy.shape[-1]
        return kembedding.embedding_backward(ctx.xp, gy.reshape(-1, dim), ids.reshape(-1), num, padding_idx,
                                             scale_grad_by_freq, impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggw):
        ids = ctx.ids
        out = EmbeddingLookup.apply(ggw, ids=ids)
        if ctx.padding_idx < 0 and not ctx.scale:
            return out
        xp = ggw._backend.xp
        factor = (ids != ctx.padding_idx).astype(ggw._array.dtype)
        if ctx.scale and ids.size:
            _, inverse, counts = xp.unique(ids.reshape(-1), return_inverse=True, return_counts=True)
            factor = factor / counts[inverse.reshape(-1)].reshape(ids.shape).astype(factor.dtype)
        return out * Tensor._make(factor[..., None], ggw._backend)


class EmbeddingBagSum(Op):
    """embedding_bag's sums of bags of weight's rows (``divisor`` (bags, 1) for means, else None): each bag
    adds its rows straight from the table (kernels.embedding.bag_sum), where weight[ids] made every row
    first. ids (n,) and bounds (bags + 1,) as bag_sum's; ``rows``: each position's bag (the gradient's rows).
    Its backward is EmbeddingBagBackward, the lookup's scatter reading each position's bag row."""

    name = "embedding_bag"

    @staticmethod
    def forward(ctx, weight, ids=None, bounds=None, rows=None, divisor=None, padding_idx=-1):
        ctx.ids, ctx.bounds, ctx.rows, ctx.divisor, ctx.padding_idx = ids, bounds, rows, divisor, padding_idx
        ctx.num = weight.shape[0]
        out = kembedding.bag_sum(ctx.xp, weight, ids, bounds, padding_idx, impl=ctx.backend.kernel_impl)
        return out if divisor is None else out / divisor

    @staticmethod
    def backward(ctx, gy):
        return EmbeddingBagBackward.apply(gy, ids=ctx.ids, bounds=ctx.bounds, rows=ctx.rows, divisor=ctx.divisor,
                                          num=ctx.num, padding_idx=ctx.padding_idx)


class EmbeddingBagBackward(Op):
    """gweight (num, dim) of EmbeddingBagSum from gy (bags, dim): kernels.embedding's scatter, each position
    adding its bag's row (over the divisor for means). Linear in gy; its own backward is EmbeddingBagSum."""

    name = "embedding_bag_backward"

    @staticmethod
    def forward(ctx, gy, ids=None, bounds=None, rows=None, divisor=None, num=0, padding_idx=-1):
        ctx.ids, ctx.bounds, ctx.rows, ctx.divisor, ctx.padding_idx = ids, bounds, rows, divisor, padding_idx
        g = gy if divisor is None else gy / divisor
        taken = ids[:rows.shape[0]]  # the positions in bags (include_last_offset may leave a tail in none)
        return kembedding.embedding_backward(ctx.xp, g, taken, num, padding_idx, rows=rows,
                                             impl=ctx.backend.kernel_impl)

    @staticmethod
    def backward(ctx, ggw):
        return EmbeddingBagSum.apply(ggw, ids=ctx.ids, bounds=ctx.bounds, rows=ctx.rows, divisor=ctx.divisor,
                                     padding_idx=ctx.padding_idx)


class SparseEmbeddingLookup(EmbeddingLookup):
    """weight[ids], as EmbeddingLookup, with a sparse COO gradient for weight (``sparse=True``)."""

    @staticmethod
    def backward(ctx, gy):
        if ctx.scale:  # PyTorch's refusal, at backward as there
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse gradients")
        return embedding_sparse_grad(gy, ctx.ids, ctx.num, ctx.padding_idx)


def embedding_sparse_grad(gy: Tensor, ids, num: int, padding_idx: int = -1) -> SparseTensor:
    """The gradient of ``weight[ids]`` as PyTorch's sparse embedding backward makes it: a (num, dim) sparse
    COO tensor with one entry per looked-up index in input order (repeats kept, uncoalesced) whose value is
    that position's row of ``gy``; positions at ``padding_idx`` (-1: none) are left out. Its values are
    ``gy``'s rows through Tensor ops, so create_graph differentiates them."""
    xp = gy._backend.xp
    dim = gy.shape[-1]
    flat = ids.reshape(-1)
    values = gy.reshape(-1, dim)
    if padding_idx >= 0:
        keep = xp.nonzero(flat != padding_idx)[0]
        if keep.size != flat.size:
            flat = flat[keep]
            values = values.index_select(0, Tensor._make(keep, gy._backend))
    indices = flat.astype(xp.int64).reshape(1, -1)  # astype copies: the gradient's own, never the input's
    return SparseTensor._from_parts(indices, values, (num, dim), False)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """F.embedding with every PyTorch argument: rows of ``weight`` (num_embeddings, dim) picked by the
    integer indices in ``input``. The ``padding_idx`` row gets no gradient (its value is still returned);
    ``max_norm`` renormalises the looked-up rows of ``weight`` in place first; ``scale_grad_by_freq``
    divides each row's gradient by its count in ``input``. The dense gradient is one deterministic
    scatter-add (gpugrad.kernels.embedding); ``sparse=True`` makes ``weight``'s gradient a sparse COO
    tensor instead, one row per lookup (``embedding_sparse_grad``), for optim.SparseAdam, SGD and Adagrad."""
    if _watch.expanded and weight.__class__ is _ew.ExpandedWeight:  # call_for_per_sample_grads (_expanded_weights.py)
        return _ew.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    _check_indices("embedding", input, weight)
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings={num}")
        padding_idx %= num
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    lookup = SparseEmbeddingLookup if sparse else EmbeddingLookup
    return lookup.apply(weight, ids=input._array, padding_idx=-1 if padding_idx is None else padding_idx,
                        scale_grad_by_freq=bool(scale_grad_by_freq))


class Embedding(Module):
    """A lookup table: int64 indices -> rows of a (num_embeddings, embedding_dim) weight, N(0, 1) at first.

    The ``padding_idx`` row starts at zero and receives no gradient. ``max_norm`` renormalises each
    looked-up row whose ``norm_type``-norm exceeds it, in place, at every forward; ``scale_grad_by_freq``
    divides each row's gradient by its frequency in the mini-batch; ``sparse=True`` gives the weight a
    sparse COO gradient (F.embedding)::

        emb = nn.Embedding(10, 3, padding_idx=0)
        emb(gg.tensor([[1, 2], [0, 9]])).shape     # (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings={num_embeddings}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(factory.empty(num_embeddings, embedding_dim, device=device, dtype=dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"Embedding: _weight shape {tuple(_weight.shape)} does not match ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (shared, not copied), frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(
            rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings, _freeze=freeze,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima over bags of embedding rows (F.embedding_bag), without materialising the
    looked-up rows as a separate output::

        bag = nn.EmbeddingBag(10, 3, mode="sum")
        bag(gg.tensor([1, 2, 4, 5, 4]), gg.tensor([0, 2])).shape     # (2, 3): bags [1, 2] and [4, 5, 4]

    Entries equal to ``padding_idx`` are left out of their bag (that row starts at zero); an empty bag
    gives zeros. ``per_sample_weights`` (mode="sum") scales each looked-up row. ``sparse=True`` (modes sum and mean)
    gives the weight a sparse COO gradient (F.embedding_bag).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got {mode!r}")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"EmbeddingBag: padding_idx {padding_idx} must be within num_embeddings={num_embeddings}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(factory.empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"EmbeddingBag: _weight shape {tuple(_weight.shape)} does not match ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None) -> Tensor:
        return F.embedding_bag(
            input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.mode,
            self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx,
        )

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose weight is ``embeddings`` (shared, not copied), frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ShapeError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        bag = cls(
            rows, cols, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, mode=mode,
            sparse=sparse, _weight=embeddings, include_last_offset=include_last_offset, padding_idx=padding_idx,
        )
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s
