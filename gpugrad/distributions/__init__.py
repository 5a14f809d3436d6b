"""Probability distributions, as ``torch.distributions``: Normal, MultivariateNormal, HalfNormal, LogNormal,
StudentT, Cauchy, HalfCauchy, Laplace, Gumbel, Uniform, Exponential, Gamma, Chi2, Beta, Dirichlet,
Bernoulli, Binomial, Geometric, Poisson, Categorical, OneHotCategorical, Independent, MixtureSameFamily
and TransformedDistribution (transforms: exp, affine, sigmoid, tanh, composed), with
sampling (``rsample`` reparameterised where PyTorch's is), log_prob, entropy, cdf where PyTorch has it,
moments, closed-form ``kl_divergence`` and PyTorch's argument validation. PyTorch's other distributions
and transforms are not here yet."""
from . import constraints
from .bernoulli import Bernoulli
from .binomial import Binomial
from .beta import Beta
from .categorical import Categorical
from .cauchy import Cauchy
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfCauchy, HalfNormal
from .independent import Independent
from .kl import kl_divergence, register_kl
from . import transforms
from .laplace import Laplace
from .log_normal import LogNormal
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .student_t import Chi2, StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (AffineTransform, ComposeTransform, ExpTransform, SigmoidTransform, TanhTransform,
                         Transform)
from .uniform import Uniform

__all__ = [
    "AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ComposeTransform",
    "Dirichlet", "Distribution", "ExpTransform", "Exponential", "Gamma", "Geometric", "Gumbel", "HalfCauchy",
    "HalfNormal", "Independent", "Laplace", "LogNormal", "MixtureSameFamily", "MultivariateNormal", "Normal",
    "OneHotCategorical", "Poisson", "SigmoidTransform", "StudentT", "TanhTransform", "Transform",
    "TransformedDistribution", "Uniform", "constraints", "kl_divergence", "register_kl", "transforms",
]
