"""Probability distributions, as ``torch.distributions``: Normal, MultivariateNormal, Uniform, Exponential,
Laplace, LogNormal, Bernoulli, Categorical, OneHotCategorical, Poisson, Gamma, Beta, Dirichlet, Independent
and TransformedDistribution (transforms: exp, affine, sigmoid, tanh, composed), with
sampling (``rsample`` reparameterised where PyTorch's is), log_prob, entropy, cdf where PyTorch has it,
moments, closed-form ``kl_divergence`` and PyTorch's argument validation. PyTorch's other distributions
and transforms are not here yet."""
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
from . import transforms
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform, TanhTransform,
                         Transform)
from .uniform import Uniform

__all__ = [
    "AffineTransform", "Bernoulli", "Beta", "Categorical", "ComposeTransform", "Dirichlet", "Distribution",
    "ExpTransform", "Exponential", "Gamma", "Independent", "Laplace", "LogNormal", "MultivariateNormal", "Normal",
    "OneHotCategorical", "Poisson", "SigmoidTransform", "TanhTransform", "Transform", "TransformedDistribution",
    "Uniform", "constraints", "kl_divergence", "register_kl", "transforms",
]
