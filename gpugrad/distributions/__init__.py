"""Probability distributions, as ``torch.distributions``: Normal, Uniform, Bernoulli, Categorical and
Independent, with sampling (``rsample`` reparameterised where PyTorch has it), log_prob, entropy, cdf,
closed-form ``kl_divergence`` and PyTorch's argument validation. The other distributions of PyTorch
are not here yet (those of the gamma family need lgamma and digamma, which gpugrad lacks)."""
from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Independent", "Normal", "Uniform", "constraints",
           "kl_divergence", "register_kl"]
