"""``torch._dynamo.utils``: the helpers libraries import from it (torchvision's roi_align asks whether
``torch.compile`` works on a device before taking its pure-Python road)."""
from __future__ import annotations


def is_compile_supported(device_type: str) -> bool:
    """Whether ``torch.compile`` runs on ``device_type``: it does wherever gpugrad runs (``gg.compile`` is the
    model itself), so on "cpu" and "cuda"."""
    return device_type in ("cpu", "cuda")
