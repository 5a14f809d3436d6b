"""``torch.utils.model_zoo``: the older name of ``gpugrad.hub.load_state_dict_from_url`` (``load_url``),
and the ``tqdm`` torchvision imports from here."""
from tqdm import tqdm

from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url", "tqdm"]
