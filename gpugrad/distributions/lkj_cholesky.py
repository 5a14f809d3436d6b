"""LKJCholesky(dim, concentration), as ``torch.distributions.LKJCholesky``: the LKJ distribution over
correlation matrices M (density proportional to det(M)^(concentration - 1)), given by M's lower Cholesky
factor L. Drawn by the onion method of Lewandowski, Kurowicka and Joe (2009), sect. 3.2, vectorised over the
rows as in NumPyro and PyTorch; the log-density is Stan's ``lkj_corr_cholesky``."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from .. import arange, cat, mvlgamma, no_grad, randn, where, zeros
from ..dtypes import finfo
from ..size import Size
from ..tensor import Tensor
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """Lower Cholesky factors L of ``dim`` x ``dim`` correlation matrices L L^T, with density proportional to
    det(L L^T)^(concentration - 1) on the correlation matrices: uniform over them for concentration 1,
    peaked at the identity above 1, towards singular matrices below 1. Not reparameterised (``sample`` only).
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Tensor | float = 1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        # Row i >= 1 of L is sqrt(y_i) u_i off the diagonal, u_i uniform on the unit sphere of the first i
        # coordinates and y_i ~ Beta(i / 2, concentration + (dim - 2) / 2 - (i - 1) / 2) (row 0 has no
        # off-diagonal part: its y is drawn and unused). PyTorch's first parameter is i - 1/2 from row 2 on,
        # which draws from another law than its log_prob for dim >= 3; this is LKJ's (and NumPyro's) i / 2.
        marginal = self.concentration + 0.5 * (dim - 2)
        offset = arange(dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = 0.5 * cat([zeros(1, dtype=offset.dtype, device=offset.device), offset])
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - offset)
        super().__init__(batch_shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape: Sequence[int], _instance: LKJCholesky | None = None) -> LKJCholesky:
        """This distribution broadcast to ``batch_shape`` (no argument checks, shared memory)."""
        new = self.__new__(type(self)) if _instance is None else _instance
        batch_shape = Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(*batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Sequence[int] = ()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + (dim, dim)``: each row i is sqrt(y_i) times a uniform
        direction in its first i coordinates, with sqrt(1 - |row|^2) on the diagonal."""
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            normal = randn(tuple(self._extended_shape(sample_shape)), dtype=y.dtype, device=y.device).tril(-1)
            norm = normal.norm(dim=-1, keepdim=True)
            direction = normal / where(norm > 0, norm, 1.0)  # row 0 is empty: 0, not 0 / 0
            w = y.sqrt() * direction
            diagonal = (1 - w.pow(2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + diagonal.diag_embed()

    def log_prob(self, value: Tensor) -> Tensor:
        """sum over i >= 1 of (2 (concentration - 1) + dim - 1 - i) log L_ii, less the log normaliser of
        LKJ (2009, p. 1999)."""
        if self._validate_args:
            self._validate_sample(value)
        conc = self.concentration
        diagonal = value.diagonal(dim1=-2, dim2=-1)[..., 1:]
        order = arange(2, self.dim + 1, dtype=conc.dtype, device=conc.device)
        order = 2 * (conc - 1).unsqueeze(-1) + self.dim - order
        unnormalised = (order * diagonal.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = conc + 0.5 * dm1
        # mvlgamma's pi term is (dim - 1)(dim - 2)/4 log pi; LKJ's is dim (dim - 1)/4 log pi
        normaliser = 0.5 * dm1 * math.log(math.pi) + mvlgamma(alpha - 0.5, dm1) - alpha.lgamma() * dm1
        return unnormalised - normaliser
