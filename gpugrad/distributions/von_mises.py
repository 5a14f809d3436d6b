"""VonMises(loc, concentration), as ``torch.distributions.VonMises``: the circular normal distribution on
angles (values and loc read modulo 2 pi); drawn by Best and Fisher's (1979) rejection sampler, in float64.
The Bessel functions are exact (``special.i0e``, ``i1e``); PyTorch's are polynomial fits good to ~1e-7."""
from __future__ import annotations

import math

from .. import float64, rand, where, zeros
from ..autograd import no_grad
from ..size import Size
from ..special import i0e, i1e
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


def _log_i0(x: Tensor) -> Tensor:
    return i0e(x).log() + x


def _log_i1(x: Tensor) -> Tensor:
    return i1e(x).log() + x


def _rejection_sample(loc: Tensor, concentration: Tensor, proposal_r: Tensor, x: Tensor) -> Tensor:
    """Best and Fisher: a wrapped-Cauchy envelope, accepted where the squeeze or the log test passes."""
    done = zeros(tuple(x.shape), dtype=bool, device=loc.device)
    while not bool(done.all()):
        u1, u2, u3 = rand((3,) + tuple(x.shape), dtype=loc.dtype, device=loc.device).unbind()
        z = (math.pi * u1).cos()
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        if bool(accept.any()):
            x = where(accept & ~done, (u3 - 0.5).sign() * f.acos(), x)
            done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """Density exp(kappa cos(x - loc)) / (2 pi I0(kappa)), kappa = concentration. The mean and variance
    are the circular ones."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, Size(), validate_args)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.concentration * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(self.concentration)

    @lazy_property
    def _loc(self) -> Tensor:
        return self.loc.to(float64)

    @lazy_property
    def _concentration(self) -> Tensor:
        return self.concentration.to(float64)

    @lazy_property
    def _proposal_r(self) -> Tensor:
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa**2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        return where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho**2) / (2 * rho))

    def sample(self, sample_shape=Size()) -> Tensor:
        """Angles in [-pi, pi), drawn in float64 (float32 rejection stalls at tiny concentrations)."""
        with no_grad():
            shape = tuple(self._extended_shape(sample_shape))
            x = zeros(shape, dtype=float64, device=self.loc.device)
            return _rejection_sample(self._loc, self._concentration, self._proposal_r, x).to(self.loc.dtype)

    def expand(self, batch_shape, _instance=None) -> "VonMises":
        validate_args = self.__dict__.get("_validate_args")
        return type(self)(self.loc.expand(*batch_shape), self.concentration.expand(*batch_shape),
                          validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        """1 - I1(kappa) / I0(kappa)."""
        return 1 - (_log_i1(self.concentration) - _log_i0(self.concentration)).exp()
