# noqa: N999  (the module name is PyTorch's: torch.distributions.studentT)
"""``torch.distributions.studentT``: StudentT, defined in ``student_t`` and re-exported here under
PyTorch's module path (PyTorch's camel-case module name)."""
from .student_t import StudentT

__all__ = ["StudentT"]
