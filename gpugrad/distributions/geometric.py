"""Geometric(probs=... or logits=...), as ``torch.distributions.Geometric``: the number of failures before
the first success of Bernoulli(probs) trials."""
from __future__ import annotations

from numbers import Number

from .. import rand, zeros_like
from ..autograd import no_grad
from ..dtypes import finfo
from ..nn.functional import binary_cross_entropy_with_logits
from ..size import Size
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import BinaryProbsLogits, broadcast_all

__all__ = ["Geometric"]


class Geometric(BinaryProbsLogits, Distribution):
    """The number of failures before the first success in Bernoulli trials of success probability
    ``probs`` (or ``logits``): P(k) = (1 - p)^k p, k = 0, 1, 2, ..."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            param, scalar = self.probs, isinstance(probs, Number)
        else:
            (self.logits,) = broadcast_all(logits)
            param, scalar = self.logits, isinstance(logits, Number)
        super().__init__(Size() if scalar else param.size(), validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                             f"{tuple(self.probs.shape)}) of distribution {self!r} to satisfy the constraint "
                             f"Interval(lower_bound=0.0, upper_bound=1.0), but found invalid values:\n{self.probs}")

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=Size()) -> Tensor:
        """floor(log u / log(1 - p)), u ~ U(tiny, 1)."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = rand(shape, dtype=self.probs.dtype, device=self.probs.device).clamp(min=finfo(self.probs.dtype).tiny)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        certain = (probs == 1) & (value == 0)  # log(1 - 1) * 0 would be NaN; P(0 failures) is 1 there
        return value * (-probs.masked_fill(certain, 0.0)).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs
