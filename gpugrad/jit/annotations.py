"""torch.jit.annotations: the typing names TorchScript code imports (``from torch.jit.annotations import
List``), and the BroadcastingList annotations, which stand for nothing outside TorchScript."""
from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: F401  (re-exported, as torch's)

__all__ = ["Any", "Dict", "List", "Optional", "Tuple", "Union", "BroadcastingList1", "BroadcastingList2",
           "BroadcastingList3"]


class _BroadcastingList:
    """``BroadcastingList2[int]`` in an annotation: None, as torch's is outside TorchScript."""

    def __getitem__(self, types: Any) -> None:
        return None


BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = _BroadcastingList()
