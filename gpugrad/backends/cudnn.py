"""``torch.backends.cudnn``: gpugrad's convolutions are its own kernels (im2col and cuBLAS), not cuDNN's,
so these flags are accepted and have no effect; ``is_available()`` says so."""
from __future__ import annotations

benchmark: bool = False
deterministic: bool = False
enabled: bool = True
allow_tf32: bool = True


def is_available() -> bool:
    """Whether gpugrad uses cuDNN: it does not."""
    return False


def version() -> None:
    """cuDNN's version: None, as PyTorch answers without cuDNN."""
    return None


class flags:
    """``with torch.backends.cudnn.flags(enabled=False):`` these settings inside the block, the previous
    ones restored after (a setting left as None stays as it is)."""

    def __init__(self, enabled: bool | None = False, benchmark: bool | None = False,
                 benchmark_limit: int | None = 10, deterministic: bool | None = False,
                 allow_tf32: bool | None = True) -> None:
        self.settings = {"enabled": enabled, "benchmark": benchmark, "deterministic": deterministic,
                         "allow_tf32": allow_tf32}

    def __enter__(self) -> None:
        module = globals()
        self.previous = {k: module[k] for k in self.settings}
        module.update({k: v for k, v in self.settings.items() if v is not None})

    def __exit__(self, *exc) -> None:
        globals().update(self.previous)
