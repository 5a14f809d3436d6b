"""``torch.utils.data.datapipes``: DataPipes (datapipe.py) and the iterable ones built in (iter.py)."""
from . import datapipe as datapipe
from . import iter as iter
from .datapipe import DataChunk, IterDataPipe, MapDataPipe, functional_datapipe

__all__ = ["DataChunk", "IterDataPipe", "MapDataPipe", "datapipe", "functional_datapipe", "iter"]
