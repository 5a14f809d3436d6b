"""torch.hub's downloads of pretrained weights: ``load_state_dict_from_url`` and the cache it keeps.

Files go where PyTorch puts them (``$TORCH_HOME/hub``, by default ``~/.cache/torch/hub``), so weights
PyTorch already downloaded are found; ``gg.load`` reads them (safetensors, or PyTorch's own checkpoints by
the rules of a weights-only load). Loading a model from a repository's hubconf (``torch.hub.load``) runs
the repository's code, written for PyTorch: it is absent, saying so.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from typing import Any
from urllib.parse import urlparse  # noqa: F401  (imported from here by libraries, as from torch.hub)
from urllib.request import Request, urlopen

__all__ = ["load_state_dict_from_url", "download_url_to_file", "get_dir", "set_dir"]

ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
# A file name's hash part, as PyTorch names its weights: resnet18-f37072fd.pth holds sha256 f37072fd...
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
READ_DATA_CHUNK = 128 * 1024

_hub_dir: str | None = None


def _get_torch_home() -> str:
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, os.path.join(os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR),
                                                                     "torch")))


def get_dir() -> str:
    """The hub's cache folder: ``set_dir``'s, else ``$TORCH_HOME/hub`` (``~/.cache/torch/hub``)."""
    return _hub_dir if _hub_dir is not None else os.path.join(_get_torch_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub's cache folder."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Download ``url`` to ``dst`` (written whole or not at all); with ``hash_prefix``, the file's sha256
    must start with it, or nothing is written and RuntimeError says so."""
    dst = os.path.expanduser(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".partial")
    sha256 = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urlopen(Request(url, headers={"User-Agent": "gpugrad.hub"})) as response:
            while True:
                block = response.read(READ_DATA_CHUNK)
                if not block:
                    break
                out.write(block)
                sha256.update(block)
        if hash_prefix is not None and not sha256.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f"hub.download_url_to_file: invalid hash value for {url} (expected a sha256 starting "
                               f"with {hash_prefix!r}, got {sha256.hexdigest()!r})")
        shutil.move(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = False) -> dict[str, Any]:
    """The object saved at ``url``, downloaded once into ``model_dir`` (default ``get_dir()/checkpoints``) and
    read by ``gg.load`` (tensors onto ``map_location``). ``check_hash``: the file name's hash part (as in
    ``resnet18-f37072fd.pth``) must begin the file's sha256. A zip of one checkpoint is not unpacked."""
    from .serialization import load

    model_dir = os.path.join(get_dir(), "checkpoints") if model_dir is None else os.path.expanduser(model_dir)
    os.makedirs(model_dir, exist_ok=True)
    name = file_name or os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, name)
    if not os.path.exists(cached):
        match = HASH_REGEX.search(name) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None, progress=progress)
    return load(cached, map_location=map_location, weights_only=weights_only)


def __getattr__(name: str) -> Any:
    if name in ("load", "list", "help"):
        raise AttributeError(f"gpugrad.hub.{name} is absent: loading a model from a repository's hubconf runs code "
                             "written for PyTorch. Build the model yourself and load its weights with "
                             "gg.hub.load_state_dict_from_url")
    raise AttributeError(f"module 'gpugrad.hub' has no attribute {name!r}")
