"""``torch.distributions.chi2``: Chi2, defined beside StudentT in ``student_t`` (it is a Gamma, and
StudentT draws through it) and re-exported here under PyTorch's module path."""
from .student_t import Chi2

__all__ = ["Chi2"]
