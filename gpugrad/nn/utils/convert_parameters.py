"""``torch.nn.utils.convert_parameters``: ``parameters_to_vector`` and ``vector_to_parameters``, defined
in ``nn.utils`` itself and re-exported here under PyTorch's module path."""
from . import parameters_to_vector, vector_to_parameters

__all__ = ["parameters_to_vector", "vector_to_parameters"]
