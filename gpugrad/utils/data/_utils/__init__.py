"""``torch.utils.data._utils``: PyTorch's internal path of the collate functions, which libraries import
(``from torch.utils.data._utils.collate import default_collate``)."""
from . import collate  # noqa: F401
