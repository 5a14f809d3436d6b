"""Distribution: the base of the probability distributions, as ``torch.distributions.Distribution``.

A distribution has a ``batch_shape`` (independent, differently parameterised copies) and an
``event_shape`` (the shape of one draw); ``sample(sample_shape)`` gives ``sample_shape + batch_shape +
event_shape``. Parameters and ``log_prob``'s values are checked against ``arg_constraints`` and
``support`` unless ``validate_args=False`` (PyTorch's default: checked, except under ``python -O``).
"""
from __future__ import annotations

from numbers import Number

from ..autograd import no_grad
from ..size import Size
from ..tensor import Tensor
from . import constraints
from .utils import broadcast_all, lazy_property

__all__ = ["Distribution", "LocScale"]


class Distribution:
    """Base class: subclasses set ``arg_constraints`` and ``support`` and define what they can."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Whether distributions check their arguments unless told otherwise (True by default)."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args: bool | None = None) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # not made yet (probs of a distribution given logits): nothing to check
                value = getattr(self, param)
                if not constraint.check(value).all():
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {constraint!r}, but found invalid "
                        f"values:\n{value}"
                    )

    def expand(self, batch_shape, _instance=None) -> "Distribution":
        """This distribution with its batch broadcast to ``batch_shape``, sharing memory and skipping the
        argument checks (PyTorch's contract). The general rule: every Tensor attribute that leads with the
        batch shape (the parameters, their cached forms) and every inner distribution of the same batch
        is expanded; distributions that hold anything else override this."""
        batch_shape = Size(batch_shape)
        # PyTorch's expand is each distribution's own, which refuses (NotImplementedError) a subclass with
        # an __init__ of its own: this general one stands for the nearest of gpugrad's classes, and refuses
        # the same subclasses (pyro's tests expect it to, as xfails)
        own = next(c for c in type(self).__mro__ if c.__module__.startswith(__package__ + "."))
        new = self._get_checked_instance(own, _instance)
        old = tuple(self._batch_shape)
        for name, value in self.__dict__.items():
            if name in new.__dict__:
                continue  # set by an overriding expand
            if isinstance(value, Tensor) and tuple(value.shape[: len(old)]) == old:
                value = value.expand(*(tuple(batch_shape) + tuple(value.shape[len(old):])))
            elif isinstance(value, Distribution) and tuple(value.batch_shape) == old:
                value = value.expand(batch_shape)
            new.__dict__[name] = value
        new._batch_shape = batch_shape
        return new

    def _get_checked_instance(self, cls, _instance=None) -> "Distribution":
        """The instance an ``expand`` of class ``cls`` fills: ``_instance`` when given, else a bare one of
        this distribution's type. PyTorch's helper, which subclasses call in their own expand (zuko's
        flows): a subclass whose ``__init__`` differs from ``cls``'s must bring its own expand, since
        ``cls``'s could not know what that ``__init__`` sets."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom __init__ method must also "
                "define a custom .expand() method.")
        return type(self).__new__(type(self)) if _instance is None else _instance

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + event_shape``, outside any graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()) -> Tensor:
        """A reparameterised draw: differentiable in the parameters."""
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=Size()) -> Size:
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value) -> None:
        """PyTorch's checks of a value given to log_prob and friends: a Tensor, broadcastable with
        ``batch_shape + event_shape``, inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        n_event = len(self._event_shape)
        if tuple(value.shape[value.dim() - n_event:]) != tuple(self._event_shape):
            raise ValueError(
                "The right-most size of value must match event_shape: "
                f"{tuple(value.shape)} vs {tuple(self._event_shape)}."
            )
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(tuple(value.shape)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(
                    f"Value is not broadcastable with batch_shape+event_shape: {tuple(value.shape)} vs {expected}."
                )
        support = self.support
        if support is not None and not support.check(value).all():
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be within the "
                f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(
            f"{p}: {self.__dict__[p].item() if self.__dict__[p].numel() == 1 else self.__dict__[p].size()}"
            for p in names
        )
        return f"{type(self).__name__}({args})"


class LocScale(Distribution):
    """A location-scale family (Normal, Laplace, Cauchy): ``loc`` and ``scale`` broadcast together, the
    batch their shape, the mode at loc."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        batch_shape = Size() if isinstance(loc, Number) and isinstance(scale, Number) else self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mode(self) -> Tensor:
        return self.loc
