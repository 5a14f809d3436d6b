"""Helpers the distributions share, as ``torch.distributions.utils``."""
from __future__ import annotations

import functools
from numbers import Number

from ..autograd import enable_grad
from ..dtypes import finfo
from ..overrides import is_tensor_like  # re-exported, as torch.distributions.utils has it
from ..size import Size
from ..tensor import Tensor

__all__ = [
    "BinaryProbsLogits", "broadcast_all", "clamp_probs", "euler_constant", "is_tensor_like", "lazy_property",
    "logits_to_probs", "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant, as torch.distributions.utils has it



def broadcast_all(*values) -> tuple:
    """The values (Tensors or numbers) as Tensors of one shape; numbers take the first Tensor's dtype and
    device (the default dtype when all are numbers)."""
    from .. import broadcast_tensors, tensor  # the ops, bound when gpugrad has imported

    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number or gpugrad.Tensor.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    if like is None:
        return tuple(tensor(float(v)) for v in values)
    values = [v if isinstance(v, Tensor) else tensor(v, dtype=like.dtype, device=like.device) for v in values]
    return tuple(broadcast_tensors(*values))


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept inside (eps, 1 - eps) of their dtype, so that their logs are finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log p (log-odds for ``is_binary``) of clamped probabilities."""
    clamped = clamp_probs(probs)
    return clamped.log() - (-clamped).log1p() if is_binary else clamped.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """sigmoid of log-odds (``is_binary``), else softmax over the last dim."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


class lazy_property:
    """A property computed on first use, under grad mode, and kept on the instance (the distributions'
    ``probs`` from ``logits`` and the other way round)."""

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """``value`` summed over its ``dim`` rightmost dims."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


_sum_rightmost = sum_rightmost  # PyTorch's private name, which libraries import (zuko, pyro)


def _standard_normal(shape, dtype=None, device=None) -> Tensor:
    """Standard normal draws of ``shape`` (torch.distributions.utils' private helper, which libraries import)."""
    from .. import empty

    return empty(shape, dtype=dtype, device=device).normal_()


class BinaryProbsLogits:
    """``probs`` from ``logits`` (sigmoid) and the other way round, whichever the distribution was given:
    what Bernoulli, Binomial and Geometric share."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    def _take_probs_or_logits(self, probs, logits):
        """Keep whichever of ``probs`` and ``logits`` was given (exactly one must be); return the batch
        shape it gives (empty for a Python number)."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        return Size() if is_scalar else self._param.size()


def _tril_mask(n: int, diag: int, like: Tensor) -> Tensor:
    """The (n, n) bool mask of the entries on or below diagonal ``diag``."""
    from .. import arange

    index = arange(n, device=like.device)
    return index < index.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of each D x D matrix ``mat`` (*, D, D) on or below diagonal ``diag`` (in [-D, D - 1]),
    row by row, as a vector (*, N): PyTorch's layout. Differentiable in mat."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat)]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The D x D matrices (*, D, D), zero above diagonal ``diag``, filled row by row from the vectors
    ``vec`` (*, N): ``tril_matrix_to_vec``'s inverse. D is the positive root of
    D^2 + (1 + 2 diag) D - |diag| (diag + 1) - 2 N = 0; an N that is no such count raises. Differentiable
    in vec."""
    size = vec.shape[-1]
    root = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * size + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(round(root) - root) > finfo(vec.dtype).eps:  # PyTorch tests one side only, and fails later
        raise ValueError(f"The size of last dimension is {size} which cannot be expressed as the lower triangular "
                         "part of a square D x D matrix.")
    n = round(root)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag, vec)] = vec
    return mat
