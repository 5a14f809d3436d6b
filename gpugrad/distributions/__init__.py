"""Probability distributions, as ``torch.distributions``: Normal, MultivariateNormal, Uniform, Exponential,
Laplace, Bernoulli, Categorical, OneHotCategorical, Poisson, Gamma, Beta, Dirichlet and Independent, with
sampling (``rsample`` reparameterised where PyTorch's is), log_prob, entropy, cdf where PyTorch has it,
moments, closed-form ``kl_divergence`` and PyTorch's argument validation. PyTorch's other distributions
and the transforms are not here yet."""
from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .uniform import Uniform

__all__ = [
    "Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Exponential", "Gamma", "Independent", "Laplace",
    "MultivariateNormal", "Normal", "OneHotCategorical", "Poisson", "Uniform", "constraints", "kl_divergence",
    "register_kl",
]
