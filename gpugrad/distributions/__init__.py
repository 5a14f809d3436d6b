"""Probability distributions, as ``torch.distributions``: Normal, MultivariateNormal,
LowRankMultivariateNormal, HalfNormal, LogNormal, LogisticNormal, StudentT, Cauchy, HalfCauchy, Laplace,
Gumbel, Uniform, Exponential, Gamma, InverseGamma, Chi2, Beta, Kumaraswamy, Dirichlet, Weibull, Pareto,
GeneralizedPareto, FisherSnedecor, VonMises, Wishart, LKJCholesky, Bernoulli, ContinuousBernoulli,
RelaxedBernoulli, Binomial, NegativeBinomial, Multinomial, Geometric, Poisson, Categorical,
OneHotCategorical(StraightThrough), RelaxedOneHotCategorical, Independent, MixtureSameFamily,
TransformedDistribution and the ExponentialFamily base; PyTorch's transforms and the ``biject_to`` /
``transform_to`` registries (``constraint_registry``). With sampling (``rsample`` reparameterised where
PyTorch's is), log_prob, entropy, cdf where PyTorch has it, moments, closed-form ``kl_divergence`` and
PyTorch's argument validation; each under PyTorch's module path too (``chi2``, ``half_cauchy`` and
``studentT`` re-export classes defined beside their relatives)."""
from . import constraints
from .bernoulli import Bernoulli
from .binomial import Binomial
from .beta import Beta
from .categorical import Categorical
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .fishersnedecor import FisherSnedecor
from .gamma import Gamma
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .gumbel import Gumbel
from .half_normal import HalfCauchy, HalfNormal
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kumaraswamy import Kumaraswamy
from .lkj_cholesky import LKJCholesky
from .kl import kl_divergence, register_kl
from . import transforms
from .laplace import Laplace
from .log_normal import LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Normal
from .one_hot_categorical import OneHotCategorical, OneHotCategoricalStraightThrough
from .pareto import Pareto
from .poisson import Poisson
from .relaxed_bernoulli import RelaxedBernoulli
from .relaxed_categorical import RelaxedOneHotCategorical
from .student_t import Chi2, StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (AbsTransform, AffineTransform, CatTransform, ComposeTransform, CorrCholeskyTransform,
                         CumulativeDistributionTransform, ExpTransform, IndependentTransform, LowerCholeskyTransform,
                         PositiveDefiniteTransform, PowerTransform, ReshapeTransform, SigmoidTransform,
                         SoftmaxTransform, SoftplusTransform, StackTransform, StickBreakingTransform, TanhTransform,
                         Transform, identity_transform)
from . import constraint_registry
from .constraint_registry import biject_to, transform_to
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Weibull
from .wishart import Wishart
from . import chi2, half_cauchy, studentT  # noqa: F401  (PyTorch's module paths, not in its __all__)

__all__ = [
    "AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform", "Categorical", "Cauchy",
    "Chi2", "ComposeTransform", "ContinuousBernoulli", "CorrCholeskyTransform", "CumulativeDistributionTransform",
    "Dirichlet", "Distribution", "ExpTransform", "Exponential", "ExponentialFamily",
    "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent",
    "IndependentTransform", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal",
    "LowRankMultivariateNormal", "LowerCholeskyTransform", "MixtureSameFamily",
    "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "PositiveDefiniteTransform", "PowerTransform",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
    "SoftplusTransform", "StackTransform", "StickBreakingTransform", "StudentT", "TanhTransform", "Transform",
    "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "biject_to", "constraint_registry",
    "constraints", "identity_transform", "kl_divergence", "register_kl", "transform_to", "transforms",
]
