"""ExponentialFamily, as ``torch.distributions.ExponentialFamily``: the base of distributions with density
exp(<t(x), theta> - F(theta) + k(x)). Given the natural parameters theta, the log normaliser F and the
expected carrier measure E[k(x)], the entropy and the KL divergence between two members follow from the
Bregman divergence of F, its gradient taken by autograd (Nielsen and Nock)."""
from __future__ import annotations

from ..autograd import enable_grad, grad
from ..tensor import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


def _differentiable(params) -> list:
    """The natural parameters as graph nodes to differentiate F at: themselves where they carry a graph,
    detached leaves otherwise."""
    return [p if p.requires_grad else p.detach().requires_grad_() for p in params]


class ExponentialFamily(Distribution):
    """Subclasses give ``_natural_params``, ``_log_normalizer(*natural_params)`` and
    ``_mean_carrier_measure``."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params) -> Tensor:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """H = F(theta) - <theta, grad F(theta)> - E[k(x)]. Differentiable in the parameters (PyTorch's
        detaches them, so that its Bregman entropy has no gradient)."""
        result = -self._mean_carrier_measure
        with enable_grad():
            params = _differentiable(self._natural_params)
            log_normalizer = self._log_normalizer(*params)
            gradients = grad(log_normalizer.sum(), params, create_graph=True)
        result = result + log_normalizer
        for p, g in zip(params, gradients):
            result = result - (p * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
