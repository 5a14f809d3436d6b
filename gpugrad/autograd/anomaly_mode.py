"""``torch.autograd.anomaly_mode``: ``detect_anomaly`` and ``set_detect_anomaly``, defined in
``gpugrad.autograd.anomaly`` and re-exported under PyTorch's module path."""
from .anomaly import detect_anomaly, set_detect_anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly"]
