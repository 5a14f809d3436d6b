"""Dirichlet(concentration), as ``torch.distributions.Dirichlet``: points of the probability simplex over
the last dim; reparameterised through its normalised gamma draws."""
from __future__ import annotations

from ..nn.functional import one_hot
from ..ops.sampling import standard_gamma
from ..size import Size
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import clamp_probs

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Density prod x_i^(a_i - 1) Gamma(sum a) / prod Gamma(a_i), a = concentration (..., K)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """max(a - 1, 0) normalised; where every a < 1 (no interior mode), PyTorch's choice: a one-hot
        vector at the argmax of that row's 0 / 0 (its first place)."""
        a = self.concentration
        mode = (a - 1).clamp(min=0.0)
        mode = mode / mode.sum(-1, keepdim=True)
        lacking = (a < 1).all(dim=-1).unsqueeze(-1)
        return mode.where(~lacking, one_hot(mode.argmax(-1), a.shape[-1]).to(a.dtype))

    @property
    def variance(self) -> Tensor:
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0.pow(2) * (a0 + 1))

    def rsample(self, sample_shape=Size()) -> Tensor:
        """Independent Gamma(a_i, 1) draws normalised to sum to 1, reparameterised through each draw."""
        shape = tuple(self._extended_shape(sample_shape))
        gammas = standard_gamma(self.concentration.expand(shape))
        return clamp_probs(gammas / gammas.sum(-1, keepdim=True))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return (a - 1.0).xlogy(value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k, a0 = a.shape[-1], a.sum(-1)
        return a.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((a - 1.0) * a.digamma()).sum(-1)

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()
