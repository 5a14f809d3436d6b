"""``gpugrad.special``: PyTorch's ``torch.special`` namespace, all of its functions.

The functions it shares with the top level are the same objects under torch.special's names (``expit``
is sigmoid, ``gammaln`` lgamma, ``psi`` digamma, ``multigammaln`` mvlgamma); those only it has live in
gpugrad/ops/special.py. Among them the Bessel functions (``bessel_j0`` ``bessel_j1`` ``bessel_y0``
``bessel_y1``, ``modified_bessel_i0`` ``i1`` ``k0`` ``k1``, ``scaled_modified_bessel_k0`` ``k1``,
``spherical_bessel_j0``), ``airy_ai`` and the orthogonal polynomials (``chebyshev_polynomial_t`` ``u``
``v`` ``w`` and their ``shifted_`` forms, ``hermite_polynomial_h`` ``he``, ``laguerre_polynomial_l``,
``legendre_polynomial_p``) are not differentiable, as in PyTorch: their results never require grad.
"""
from .ops import (
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    i0,
    log1p,
    log_softmax,
    logit,
    logsumexp,
    polygamma,
    round,
    sinc,
    softmax,
    xlogy,
)
from .ops import digamma as psi
from .ops import lgamma as gammaln
from .ops import mvlgamma as multigammaln
from .ops import sigmoid as expit
from .ops.special import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    entr,
    erfcx,
    gammainc,
    gammaincc,
    hermite_polynomial_h,
    hermite_polynomial_he,
    i0e,
    i1,
    i1e,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    log_ndtr,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    ndtr,
    ndtri,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
    spherical_bessel_j0,
    xlog1py,
    zeta,
)
from .overrides import make_overridable as _make_overridable

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
    "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2",
    "expit", "expm1", "gammainc", "gammaincc", "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e",
    "i1", "i1e", "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0",
    "xlog1py", "xlogy", "zeta",
]


_make_overridable(globals())  # calls may be handed to __torch_function__ (gpugrad/overrides.py)
