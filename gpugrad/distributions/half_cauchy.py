"""``torch.distributions.half_cauchy``: HalfCauchy, defined beside HalfNormal in ``half_normal`` (both
fold a distribution symmetric about 0) and re-exported here under PyTorch's module path."""
from .half_normal import HalfCauchy

__all__ = ["HalfCauchy"]
