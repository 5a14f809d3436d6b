"""``gpugrad.special``: PyTorch's ``torch.special`` namespace.

The functions it shares with the top level are the same objects under torch.special's names (``expit``
is sigmoid, ``gammaln`` lgamma, ``psi`` digamma, ``multigammaln`` mvlgamma); those only it has live in
gpugrad/ops/special.py. Not here yet: the Bessel functions beyond i0, i1 and their scaled forms, the
orthogonal-polynomial families, ``airy_ai``.
"""
from .ops import digamma, erf, erfc, erfinv, exp2, expm1, i0, log1p, log_softmax, logit, logsumexp, polygamma, round
from .ops import sinc, softmax, xlogy
from .ops import digamma as psi
from .ops import lgamma as gammaln
from .ops import mvlgamma as multigammaln
from .ops import sigmoid as expit
from .ops.special import entr, erfcx, gammainc, gammaincc, i0e, i1, i1e, log_ndtr, ndtr, ndtri, xlog1py, zeta

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
    "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "sinc", "softmax", "xlog1py", "xlogy", "zeta",
]
