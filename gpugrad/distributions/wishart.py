"""Wishart(df, covariance_matrix= or precision_matrix= or scale_tril=), as
``torch.distributions.Wishart``: distributions over positive-definite p x p matrices, reparameterised by
the Bartlett decomposition (L A with chi-square draws on A's diagonal and normal ones below it). An
exponential family, so ``kl_divergence`` between two Wisharts is the Bregman divergence of the log
normaliser (as in PyTorch, which registers nothing Wishart-specific)."""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from numbers import Number

from .. import (
    arange,
    broadcast_shapes,
    cholesky_solve,
    digamma,
    eye,
    linalg,
    mvlgamma,
    randn,
    tensor,
    where,
)
from ..dtypes import finfo
from ..jit import is_tracing
from ..size import Size
from ..tensor import Tensor
from . import constraints
from .exp_family import ExponentialFamily
from .multivariate_normal import _precision_to_scale_tril
from .student_t import Chi2
from .utils import lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma function: sum of digamma(x - i / 2) for i < p (x > (p - 1) / 2)."""
    if not bool((x > (p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return digamma(x.unsqueeze(-1) - arange(p, dtype=x.dtype, device=x.device).div(2).expand(*x.shape, p)).sum(-1)


def _clamp_above_eps(x: Tensor) -> Tensor:
    """Non-negative ``x`` kept at or above its dtype's eps (so that A's diagonal is never 0)."""
    return x.clamp(min=finfo(x.dtype).eps)


class Wishart(ExponentialFamily):
    """W(df, Sigma) over symmetric positive-definite p x p matrices: the distribution of sum of x x^T over
    ``df`` draws x ~ N(0, Sigma) (any real df > p - 1). Sigma is given as exactly one of
    ``covariance_matrix``, ``precision_matrix`` (its inverse) or ``scale_tril`` (its lower Cholesky factor,
    the cheapest: everything is computed from it). Mean df Sigma; for p = 1 it is Gamma(df / 2, 1 / (2 Sigma)).
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        """As PyTorch's: df's lower bound p - 1 depends on the event shape."""
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df: Tensor | float, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        (param,) = given
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, Number):
            batch_shape = Size(param.shape[:-2])
            # expanded to the batch (PyTorch keeps a 0-dim df here, so its mean fails for a batched scale)
            self.df = tensor(df, dtype=param.dtype, device=param.device).expand(*batch_shape)
        else:
            batch_shape = Size(broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(*batch_shape)
        event_shape = Size(param.shape[-2:])
        p = event_shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if scale_tril is not None:
            self.scale_tril = param.expand(*batch_shape, -1, -1)
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(*batch_shape, -1, -1)
        else:
            self.precision_matrix = param.expand(*batch_shape, -1, -1)
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(i + 1) for i in range(len(batch_shape))]
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        self._dist_chi2 = self._bartlett_chi2()

    def _bartlett_chi2(self) -> Chi2:
        """The chi-square laws of A's squared diagonal: df, df - 1, ..., df - p + 1 degrees of freedom."""
        factor = self._unbroadcasted_scale_tril
        steps = arange(self._event_shape[-1], dtype=factor.dtype, device=factor.device)
        return Chi2(self.df.unsqueeze(-1) - steps.expand(*self._batch_shape, -1))

    def expand(self, batch_shape: Sequence[int], _instance: Wishart | None = None) -> Wishart:
        """This Wishart broadcast to ``batch_shape`` (no argument checks, shared memory)."""
        new = self.__new__(type(self)) if _instance is None else _instance
        batch_shape = Size(batch_shape)
        matrix_shape = tuple(batch_shape) + tuple(self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(*matrix_shape)
        new.df = self.df.expand(*batch_shape)
        new._batch_dims = [-(i + 1) for i in range(len(batch_shape))]
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(*matrix_shape))
        ExponentialFamily.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._dist_chi2 = new._bartlett_chi2()
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        return (factor @ factor.mT).expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        identity = eye(factor.shape[-1], dtype=factor.dtype, device=factor.device)
        return cholesky_solve(identity, factor).expand(*self._batch_shape, *self._event_shape)

    @property
    def mean(self) -> Tensor:
        return self.df.view(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """(df - p - 1) Sigma; NaN where df <= p + 1 (no mode inside the support)."""
        factor = self.df - self._event_shape[-1] - 1
        factor = factor.masked_fill(factor <= 0, math.nan)
        return factor.view(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        """Var(W_ij) = df (Sigma_ij^2 + Sigma_ii Sigma_jj)."""
        cov = self.covariance_matrix
        diagonal = cov.diagonal(dim1=-2, dim2=-1)
        return self.df.view(*self._batch_shape, 1, 1) * (cov.pow(2) + diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape: Size) -> Tensor:
        """(L A)(L A)^T, A lower triangular: square roots of chi-square draws on the diagonal (kept >= eps),
        standard normal draws below it."""
        diagonal = _clamp_above_eps(self._dist_chi2.rsample(sample_shape).sqrt()).diag_embed()
        shape = tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)
        below = randn(shape, dtype=diagonal.dtype, device=diagonal.device).tril(-1)
        factor = self._unbroadcasted_scale_tril @ (diagonal + below)
        return factor @ factor.mT

    def _singular(self, sample: Tensor) -> Tensor:
        """True per sample index where any batch member's draw is not positive definite."""
        singular = ~self.support.check(sample)
        if self._batch_shape:
            singular = singular.any(tuple(self._batch_dims))
        return singular

    def rsample(self, sample_shape: Sequence[int] = (), max_try_correction: int | None = None) -> Tensor:
        """Draws by the Bartlett decomposition, reparameterised in the scale and in df. Draws that come out
        singular (likely only for p - 1 < df < p, or in low precision) are drawn again, up to
        ``max_try_correction`` times (10; 3 while tracing), with a warning; some may stay singular, and their
        ``log_prob`` is then -inf."""
        if max_try_correction is None:
            max_try_correction = 3 if is_tracing() else 10
        sample_shape = Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        is_singular = self._singular(sample)
        if is_tracing():  # no data-dependent control flow: redraw everything, keep the new draws where needed
            for _ in range(max_try_correction):
                mask = is_singular.reshape(tuple(is_singular.shape) + (1,) * (sample.dim() - is_singular.dim()))
                sample = where(mask, self._bartlett_sampling(sample_shape), sample)
                is_singular = self._singular(sample)
        elif bool(is_singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            sample = sample.clone()
            for _ in range(max_try_correction):
                redrawn = self._bartlett_sampling(Size((int(is_singular.sum()),)))
                sample[is_singular] = redrawn
                still_singular = self._singular(redrawn)
                is_singular = is_singular.clone()
                is_singular[is_singular.clone()] = still_singular
                if not bool(is_singular.any()):
                    break
        return sample

    def log_prob(self, value: Tensor) -> Tensor:
        """(df - p - 1)/2 log|X| - tr(Sigma^-1 X)/2 - df/2 (p log 2 + log|Sigma|) - log Gamma_p(df/2)."""
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det) - mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self) -> Tensor:
        nu, p = self.df, self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        p = self._event_shape[-1]
        shape = y + (p + 1) / 2
        return shape * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p) + mvlgamma(shape, p)
